// Posts the signed LTI launch form to mentorNET at once; the button stays for browsers without JavaScript.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosubmit]");
  if (form) {
    form.submit();
  }
})();
