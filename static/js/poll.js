// Follow a poll until it finishes, then reload into its result: after "Poll now" (submitted in
// the background), and for a newly registered cluster whose first poll is queued or running.
(function () {
  "use strict";
  var box = document.getElementById("poll-progress");
  if (!box) { return; }
  var form = document.getElementById("poll-form");
  var statusUrl = box.dataset.statusUrl;
  var after = parseInt(box.dataset.after || "0", 10);
  var queued = box.dataset.follow === "first-poll"
    ? "First poll queued; waiting for a worker…" : "Poll queued; waiting for a worker…";
  var PATIENCE_MS = 5 * 60 * 1000;

  function show(text) { box.hidden = false; box.textContent = text; }

  // The cluster's error (already in its visible form) is isolated, as on the rest of the page.
  function finished(s) {
    show("Poll finished: " + s.status_label);
    if (s.error) {
      var error = document.createElement("bdi");
      error.textContent = s.error;
      box.append(" — ", error);
    }
    box.append(". Reloading…");
  }

  function follow(deadline) {
    fetch(statusUrl, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.id && s.id > after && s.finished) {
          finished(s);
          window.location.assign(window.location.pathname);
          return;
        }
        show(s.id && s.id > after ? "Polling… (running)" : queued);
        if (Date.now() < deadline) { setTimeout(function () { follow(deadline); }, 1000); }
        else { show("The poll has not finished after 5 minutes. Is a worker running?"); }
      })
      .catch(function () { show("Lost contact with the server; reload the page to see the result."); });
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = document.getElementById("poll-now");
      button.disabled = true;
      show(queued);
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then(function () { follow(Date.now() + PATIENCE_MS); })
        .catch(function () { button.disabled = false; show("Could not queue the poll."); });
    });
  }

  if (box.dataset.follow || new URLSearchParams(window.location.search).has("polling")) {
    follow(Date.now() + PATIENCE_MS);
  }
})();
