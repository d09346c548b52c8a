// "Poll now": submit in the background, then follow the poll until it finishes.
(function () {
  "use strict";
  var form = document.getElementById("poll-form");
  var box = document.getElementById("poll-progress");
  if (!form || !box) { return; }
  var statusUrl = form.dataset.statusUrl;
  var after = parseInt(form.dataset.after || "0", 10);

  function show(text) { box.hidden = false; box.textContent = text; }

  function follow(deadline) {
    fetch(statusUrl, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.id && s.id > after && s.finished) {
          show("Poll finished: " + s.status_label + (s.error ? " — " + s.error : "") + ". Reloading…");
          window.location.assign(window.location.pathname);
          return;
        }
        show(s.id && s.id > after ? "Polling… (running)" : "Poll queued; waiting for a worker…");
        if (Date.now() < deadline) { setTimeout(function () { follow(deadline); }, 1000); }
        else { show("The poll has not finished after 5 minutes. Is a worker running?"); }
      })
      .catch(function () { show("Lost contact with the server; reload the page to see the result."); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = document.getElementById("poll-now");
    button.disabled = true;
    show("Poll queued; waiting for a worker…");
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function () { follow(Date.now() + 5 * 60 * 1000); })
      .catch(function () { button.disabled = false; show("Could not queue the poll."); });
  });

  if (new URLSearchParams(window.location.search).has("polling")) {
    follow(Date.now() + 5 * 60 * 1000);
  }
})();
