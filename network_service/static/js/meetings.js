// Progressive enhancement for a secret shown once (a calendar address, a new API token): a "Copy" button under each.
(function () {
  "use strict";
  if (!navigator.clipboard) {
    return;
  }
  var fields = document.querySelectorAll("input[data-copy]");
  Array.prototype.forEach.call(fields, function (field) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button-secondary copy-button";
    var label = field.getAttribute("data-copy-label") || "Copy";
    var done = field.getAttribute("data-copied-label") || label;
    button.textContent = label;
    button.setAttribute("aria-describedby", field.id);
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        button.textContent = done;
        setTimeout(function () { button.textContent = label; }, 2000);
      });
    });
    field.parentNode.appendChild(button);
    field.addEventListener("focus", function () { field.select(); });
  });
})();
