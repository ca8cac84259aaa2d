// Deep linking: send the signed choice straight back to the course; the button stays for browsers without JS.
(function () {
  var form = document.querySelector("form[data-autosubmit]");
  if (form) form.submit();
})();
