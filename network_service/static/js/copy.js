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
    // What the button copies, for a screen reader: the field's own description, else its label; never the
    // field itself, whose value (a secret address, a token) would be read aloud at every focus.
    var description = field.getAttribute("aria-describedby");
    if (!description) {
      var fieldLabel = document.querySelector('label[for="' + field.id + '"]');
      if (fieldLabel) {
        if (!fieldLabel.id) {
          fieldLabel.id = field.id + "-label";
        }
        description = fieldLabel.id;
      }
    }
    if (description) {
      button.setAttribute("aria-describedby", description);
    }
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
