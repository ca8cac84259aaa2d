/* mentorNET XBlock, learner view: the panel in the iframe says how tall it is (LTI's lti.frameResize
   message); the frame follows, within bounds. Messages from anywhere but the panel's own window are ignored. */
function MentorNetXBlock(runtime, element) {
  "use strict";
  var root = element.jquery ? element[0] : element;
  var frame = root.querySelector("iframe.mentornet-frame");
  if (!frame) {
    return;
  }
  var origin = frame.getAttribute("data-origin");
  window.addEventListener("message", function (event) {
    if (event.source !== frame.contentWindow || (origin && event.origin !== origin)) {
      return;
    }
    var data = event.data;
    if (typeof data === "string") {
      try {
        data = JSON.parse(data);
      } catch (error) {
        return;
      }
    }
    if (!data || data.subject !== "lti.frameResize") {
      return;
    }
    var height = parseInt(data.height, 10);
    if (height >= 160 && height <= 4000) {
      frame.setAttribute("height", String(height));
    }
  });
}
