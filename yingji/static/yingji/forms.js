// Behaviour that used to be inline handlers (the Content-Security-Policy runs no inline script):
// a <select data-submit-on-change> submits its form when a choice is made, as the language
// switch does. Without JavaScript the <noscript> button beside it does the same.
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.matches && field.matches("select[data-submit-on-change]") && field.form) {
    field.form.submit();
  }
});
