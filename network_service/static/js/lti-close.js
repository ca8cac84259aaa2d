// LTI Dynamic Registration: tell the platform that opened this page (iframe or window) that we are done.
// The spec's message carries no secret, so any origin may receive it ('*').
(function () {
  var done = document.querySelector("[data-lti-registration-done]");
  if (!done) return;
  var target = window.opener || (window.parent !== window ? window.parent : null);
  function close() {
    if (target) target.postMessage({ subject: "org.imsglobal.lti.close" }, "*");
  }
  var button = document.getElementById("lti-close");
  if (button) {
    button.hidden = false;
    button.addEventListener("click", close);
  }
  close();
})();
