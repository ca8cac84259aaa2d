// LTI platform storage (1EdTech "LTI Client Side postMessages"): for browsers that drop our cookie inside the
// course's frame. The login stores a proof of its state in the platform's frame (lti.put_data), then goes on to
// the platform; the launch reads it back (lti.get_data) and posts it to mentorNET. Messages go only to the
// origin of the platform's OIDC address, and only answers from that origin count.
(function () {
  "use strict";
  var root = document.querySelector("[data-lti-storage]");
  if (!root) return;
  var origin = root.getAttribute("data-platform-origin");
  var target = root.getAttribute("data-storage-target") || "_parent";
  var key = root.getAttribute("data-key");
  var mode = root.getAttribute("data-lti-storage");
  var fallback = document.querySelector("[data-lti-fallback]");
  var waiting = document.querySelector("[data-lti-waiting]");
  var TIMEOUT = 3000; // for lti.put_data / lti.get_data
  var CAPABILITIES_TIMEOUT = 1000; // a platform that sent lti_storage_target answers at once, or never

  function id() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function frameNamed(name) {
    if (!window.parent || window.parent === window) return null;
    if (!name || name === "_parent") return window.parent;
    try {
      return window.parent.frames[name] || null;
    } catch (e) {
      return null;
    }
  }

  // Send one message and wait for its answer (same message_id, subject + ".response").
  function ask(win, message, targetOrigin, fromOrigin, timeout) {
    return new Promise(function (resolve, reject) {
      if (!win) { reject(new Error("no frame")); return; }
      message.message_id = id();
      var timer = window.setTimeout(function () { done(); reject(new Error("timeout")); }, timeout || TIMEOUT);
      function done() { window.clearTimeout(timer); window.removeEventListener("message", listen); }
      function listen(event) {
        var data = event.data;
        if (!data || typeof data !== "object" || data.message_id !== message.message_id) return;
        if (data.subject !== message.subject + ".response") return;
        if (fromOrigin && event.origin !== fromOrigin) return;
        done();
        if (data.error) reject(new Error(data.error.code || "error")); else resolve(data);
      }
      window.addEventListener("message", listen);
      win.postMessage(message, targetOrigin);
    });
  }

  // lti.capabilities names the frame that takes lti.put_data / lti.get_data; without an answer, use the
  // lti_storage_target the platform sent.
  function storageFrame(subject) {
    return ask(window.parent === window ? null : window.parent, { subject: "lti.capabilities" }, "*", null,
        CAPABILITIES_TIMEOUT)
      .then(function (answer) {
        var supported = answer.supported_messages || [];
        for (var i = 0; i < supported.length; i++) {
          if (supported[i] && supported[i].subject === subject) return frameNamed(supported[i].frame || target);
        }
        throw new Error("not supported");
      })
      .catch(function () { return frameNamed(target); });
  }

  function showFallback() {
    if (waiting) waiting.hidden = true;
    if (fallback) fallback.hidden = false;
  }

  if (mode === "login") {
    var next = root.getAttribute("data-next");
    var go = function () { window.location.replace(next); };
    storageFrame("lti.put_data")
      .then(function (win) {
        return ask(win, { subject: "lti.put_data", key: key, value: root.getAttribute("data-value") }, origin, origin);
      })
      .then(go, go); // the cookie may still work: go on either way
  } else if (mode === "launch") {
    if (fallback) fallback.hidden = true;
    var form = document.querySelector("form[data-lti-proof]");
    storageFrame("lti.get_data")
      .then(function (win) { return ask(win, { subject: "lti.get_data", key: key }, origin, origin); })
      .then(function (answer) {
        if (typeof answer.value !== "string" || !answer.value) throw new Error("no value");
        form.querySelector("input[name=lti_storage_proof]").value = answer.value;
        form.submit();
      })
      .catch(showFallback);
  }
})();
