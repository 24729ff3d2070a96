// Count the incident's deadlines down, and its outage up, every second; the server renders the
// starting values, so the page is right without JavaScript too.
(function () {
  function clock(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h ? h + ":" : "") + String(m).padStart(2, "0") + ":" + String(s).padStart(2, "0");
  }
  function tick() {
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.due) - Date.now()) / 1000);
      el.textContent = (left < 0 ? "-" : "") + clock(Math.abs(left));
      el.classList.toggle("overdue", left < 0);
    });
    document.querySelectorAll(".since[data-since]").forEach(function (el) {
      el.textContent = clock(Math.max(0, Math.round((Date.now() - Date.parse(el.dataset.since)) / 1000)));
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);
})();
