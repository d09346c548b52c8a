// A "Copy" button on every fix snippet. The button is made here, so a page without scripts
// shows the snippet alone (selectable as plain text) rather than a button that does nothing.
(function () {
  "use strict";

  function selectText(pre) {
    var range = document.createRange();
    range.selectNodeContents(pre);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // The Clipboard API needs a secure context; the older command covers plain-HTTP installs.
  function copy(pre) {
    var text = pre.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      selectText(pre);
      var done = false;
      try { done = document.execCommand("copy"); } catch (e) { done = false; }
      if (done) { window.getSelection().removeAllRanges(); resolve(); } else { reject(); }
    });
  }

  document.querySelectorAll("pre.snippet").forEach(function (pre) {
    var tools = document.createElement("div");
    tools.className = "snippet-tools";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary small copy";
    button.textContent = "Copy";
    var label = pre.dataset.copyLabel;
    if (label) {
      var hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = " the fix for " + label;
      button.appendChild(hidden);
    }
    var status = document.createElement("span");
    status.className = "copy-status";
    status.setAttribute("role", "status");
    var timer = null;
    button.addEventListener("click", function () {
      copy(pre).then(function () {
        status.textContent = "Copied";
      }, function () {
        selectText(pre);
        status.textContent = "Selected: press Ctrl+C (⌘C) to copy";
      });
      clearTimeout(timer);
      timer = setTimeout(function () { status.textContent = ""; }, 4000);
    });
    tools.appendChild(button);
    tools.appendChild(status);
    pre.parentNode.insertBefore(tools, pre);
  });
})();
