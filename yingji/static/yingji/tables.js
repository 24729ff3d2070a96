// On a phone a table is shown as a stack of cards (app.css, below 600 px). Each card needs its
// column names beside the values: a table whose first row is all <th> gives each later cell that
// row's name as data-label, which the CSS shows before the value. Tables swapped in by htmx (the
// live regions) are labelled when they arrive. Without JavaScript the cards still fit the screen,
// with the header row shown once above them.
(function () {
  var each = Array.prototype.forEach;

  function labelTable(table) {
    var rows = table.rows;
    if (!rows.length || table.classList.contains("labelled")) {
      return;
    }
    var head = rows[0].cells, names = [];
    if (!head.length || Array.prototype.some.call(head, function (cell) { return cell.tagName !== "TH"; })) {
      return;
    }
    each.call(head, function (cell) {
      for (var i = 0; i < cell.colSpan; i++) {
        names.push(cell.textContent.replace(/\s+/g, " ").trim());
      }
    });
    for (var r = 1; r < rows.length; r++) {
      var column = 0;
      each.call(rows[r].cells, function (cell) {
        if (cell.colSpan === 1 && names[column] && !cell.hasAttribute("data-label")) {
          cell.setAttribute("data-label", names[column]);
        }
        column += cell.colSpan;
      });
    }
    rows[0].classList.add("table-head");
    table.classList.add("labelled");
  }

  function label(root) {
    if (root.tagName === "TABLE") {
      labelTable(root);
    } else if (root.querySelectorAll) {
      each.call(root.querySelectorAll("table"), labelTable);
    }
  }

  document.addEventListener("DOMContentLoaded", function () { label(document); });
  document.addEventListener("htmx:load", function (event) { label(event.detail.elt); });
})();
