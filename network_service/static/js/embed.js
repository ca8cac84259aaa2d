// The panel tells the page that frames it how tall it is (LTI's lti.frameResize message), so the course page
// shows it without a scroll bar. Without JavaScript the frame keeps the height the course author set.
(function () {
  if (window.parent === window) return;
  function report() {
    var height = Math.ceil(document.documentElement.scrollHeight);
    window.parent.postMessage({ subject: "lti.frameResize", height: height }, "*");
  }
  window.addEventListener("load", report);
  window.addEventListener("resize", report);
  report();
})();
