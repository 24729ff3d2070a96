// Alt+T takes a temporary number on every browser (accesskey's modifier differs between them,
// and some intranet browsers ignore it). Without JavaScript the accesskey still works.
document.addEventListener("keydown", function (event) {
  if (event.altKey && !event.ctrlKey && !event.metaKey && (event.key === "t" || event.key === "T")) {
    var button = document.getElementById("take-temp");
    if (button) { event.preventDefault(); button.click(); }
  }
});
