// "Copy as issue" beside each checklist entry's "Download as an issue (.md)" link: the button
// fetches the same Markdown and puts it on the clipboard. Made here, so a page without scripts
// keeps the download link alone rather than a button that does nothing.
(function () {
  "use strict";

  function fetchText(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    });
  }

  // A ClipboardItem given a promise keeps the click's permission while the text is fetched;
  // browsers without it get the text written once it has arrived.
  function copy(url) {
    if (!navigator.clipboard || !window.isSecureContext) {
      return Promise.reject(new Error("no clipboard"));
    }
    if (window.ClipboardItem && navigator.clipboard.write) {
      var blob = fetchText(url).then(function (text) {
        return new Blob([text], { type: "text/plain" });
      });
      return navigator.clipboard.write([new ClipboardItem({ "text/plain": blob })]);
    }
    return fetchText(url).then(function (text) { return navigator.clipboard.writeText(text); });
  }

  // Without a clipboard (plain-HTTP installs), show the text selected, ready for Ctrl+C.
  function showSelected(tools, url) {
    return fetchText(url).then(function (text) {
      var area = tools.querySelector("textarea.issue-text");
      if (!area) {
        area = document.createElement("textarea");
        area.className = "issue-text mono";
        area.rows = 8;
        area.readOnly = true;
        area.setAttribute("aria-label", "The issue's Markdown");
        tools.appendChild(area);
      }
      area.value = text;
      area.focus();
      area.select();
    });
  }

  document.querySelectorAll("a.issue-download").forEach(function (link) {
    var tools = link.parentNode;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary small copy-issue";
    button.textContent = "Copy as issue";
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = " for " + (link.dataset.issueLabel || "this check");
    button.appendChild(hidden);
    var status = document.createElement("span");
    status.className = "copy-status";
    status.setAttribute("role", "status");
    var timer = null;
    button.addEventListener("click", function () {
      copy(link.href).then(function () {
        status.textContent = "Copied";
      }, function () {
        return showSelected(tools, link.href).then(function () {
          status.textContent = "Selected: press Ctrl+C (⌘C) to copy";
        }, function () {
          status.textContent = "Could not fetch the issue: use the download link";
        });
      });
      clearTimeout(timer);
      timer = setTimeout(function () { status.textContent = ""; }, 4000);
    });
    tools.insertBefore(button, link);
    tools.insertBefore(status, link);
  });
})();
