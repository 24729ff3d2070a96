// The live regions (the incident page every 15 s, the dashboard every 10 s) are re-fetched by
// htmx. A refresh must never take what someone is typing: while a field inside the region has
// the focus, or has been changed and not yet submitted, the refresh is skipped (htmx cancels a
// request whose htmx:beforeRequest is prevented), and the region says so. Submitting the form
// loads a new page, which starts clean. An open confirmation ("what will happen") also holds
// the refresh, so the button does not vanish under the finger. The window's scroll position and
// which sections were opened are kept across a swap.
(function () {
  var touched = new WeakSet();

  function holdsInput(region) {
    if (region.querySelector("details.confirm[open]")) {
      return true;
    }
    if (region.contains(document.activeElement) && document.activeElement.matches("input, select, textarea")) {
      return true;
    }
    return Array.prototype.some.call(region.querySelectorAll("input, select, textarea"), function (field) {
      return touched.has(field);
    });
  }

  document.addEventListener("input", function (event) { touched.add(event.target); });
  document.addEventListener("change", function (event) { touched.add(event.target); });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var region = event.detail.elt;
    if (!region || !region.matches("[data-live]")) {
      return;
    }
    var paused = holdsInput(region);
    region.classList.toggle("live-paused", paused);
    if (paused) {
      event.preventDefault();
    }
  });

  var scrollY = 0, opened = [], closed = [];
  document.addEventListener("htmx:beforeSwap", function (event) {
    scrollY = window.scrollY;
    var details = event.detail.elt.querySelectorAll("details[id]");
    opened = Array.prototype.filter.call(details, function (d) { return d.open; }).map(function (d) { return d.id; });
    closed = Array.prototype.filter.call(details, function (d) { return !d.open; }).map(function (d) { return d.id; });
  });
  document.addEventListener("htmx:afterSwap", function () {
    opened.forEach(function (id) { var d = document.getElementById(id); if (d) { d.open = true; } });
    closed.forEach(function (id) { var d = document.getElementById(id); if (d) { d.open = false; } });
    window.scrollTo(0, scrollY);
  });
})();
