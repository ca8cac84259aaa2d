/* mentorNET XBlock, Studio editor: posts the form to the save_settings handler; shows the errors by field. */
function MentorNetStudio(runtime, element) {
  "use strict";
  var root = element.jquery ? element[0] : element;
  var form = root.querySelector("form.mentornet-settings");
  var errors = root.querySelector(".mentornet-errors");
  var names = ["display_name", "network_slug", "display_mode", "height"];

  function values() {
    var data = {};
    names.forEach(function (name) {
      data[name] = form.elements[name].value;
    });
    return data;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (runtime.notify) {
      runtime.notify("save", { state: "start" });
    }
    fetch(runtime.handlerUrl(element, "save_settings"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(values())
    }).then(function (response) {
      return response.json();
    }).then(function (answer) {
      names.forEach(function (name) {
        form.elements[name].removeAttribute("aria-invalid");
      });
      if (answer.result === "success") {
        errors.textContent = "";
        if (runtime.notify) {
          runtime.notify("save", { state: "end" });
        }
        return;
      }
      var messages = [];
      Object.keys(answer.errors || {}).forEach(function (name) {
        form.elements[name].setAttribute("aria-invalid", "true");
        messages.push(answer.errors[name]);
      });
      errors.textContent = messages.join(" ");
      if (runtime.notify) {
        runtime.notify("error", { title: "", message: messages.join(" ") });
      }
    });
  });

  root.querySelector(".cancel-button").addEventListener("click", function () {
    if (runtime.notify) {
      runtime.notify("cancel", {});
    }
  });

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
}
