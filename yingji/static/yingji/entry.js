// The downtime entry form, for a clerk without a mouse:
// - Alt+T takes a temporary number on every browser (accesskey's modifier differs between
//   them, and some intranet browsers ignore it). Without JavaScript the accesskey still works.
// - Enter saves the slip from the kind and insurance lists too, as it does from a text field.
document.addEventListener("keydown", function (event) {
  if (event.altKey && !event.ctrlKey && !event.metaKey && (event.key === "t" || event.key === "T")) {
    var button = document.getElementById("take-temp");
    if (button) { event.preventDefault(); button.click(); }
  } else if (event.key === "Enter" && event.target.tagName === "SELECT" && event.target.form &&
             event.target.form.id === "entry-form") {
    event.preventDefault();
    document.getElementById("entry-save").click();
  }
});
