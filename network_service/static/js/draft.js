// Progressive enhancement for forms that sit under a search by GET (conversations/_picker.html): choosing or
// removing a person loads the page again, which would lose what was typed in the form below. A form marked
// data-keep-draft keeps its text fields in this tab's sessionStorage while the person chooses, puts them back
// into fields the server left empty, and forgets them when the form is sent (or the tab is closed).
(function () {
  "use strict";
  var storage;
  try {
    storage = window.sessionStorage;
    storage.getItem("");
  } catch (e) {
    return; // storage refused (private mode, policy): the page works as without JavaScript
  }
  var forms = document.querySelectorAll("form[data-keep-draft]");
  Array.prototype.forEach.call(forms, function (form) {
    var prefix = "mentornet-draft:" + form.getAttribute("data-keep-draft") + ":";
    var fields = form.querySelectorAll("textarea[name], input[type=text][name]");
    Array.prototype.forEach.call(fields, function (field) {
      var key = prefix + field.name;
      var kept = storage.getItem(key);
      if (kept && !field.value) {
        field.value = kept;
      }
      field.addEventListener("input", function () {
        if (field.value) {
          storage.setItem(key, field.value);
        } else {
          storage.removeItem(key);
        }
      });
    });
    form.addEventListener("submit", function () {
      Array.prototype.forEach.call(fields, function (field) {
        storage.removeItem(prefix + field.name);
      });
    });
  });
})();
