/* Session expiry warning (the page's only script; the Content-Security-Policy allows this file alone).
   The server logs a session out after VERTEBRO_SESSION_IDLE_MINUTES without a request. Shortly before,
   this warns, offers to stay logged in, and says that a form sent after the end is kept as a draft. It
   asks the server how long is left before warning, since another tab may have kept the session alive. */
(function () {
  "use strict";
  var body = document.body;
  var url = body.getAttribute("data-session-url");
  var left = Number(body.getAttribute("data-session-seconds-left"));
  var box = document.getElementById("session-warning");
  if (!url || !box || !(left >= 0)) return;
  var WARN_SECONDS = 120;
  // The server counts whole seconds: "ended" is said only once it has surely ended the session, so
  // that a form sent after the words is the one kept as a draft.
  var SLACK_MS = 1500;
  var deadline = Date.now() + left * 1000 + SLACK_MS;
  var timer = null;
  var ticker = null;

  function warnBefore(total) { return Math.min(WARN_SECONDS, total / 4); }
  var warnAt = warnBefore(left);

  // Words that change a few times only: the warning is read out by screen readers at each change.
  function inWords(seconds) {
    if (seconds >= 90) return Math.round(seconds / 60) + " minutes";
    if (seconds >= 60) return "1 minute";
    return "less than a minute";
  }

  function show(text, withButton) {
    box.textContent = text + " ";
    if (withButton) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button small";
      button.textContent = "Stay logged in";
      button.addEventListener("click", function () { ask(true); });
      box.appendChild(button);
    }
    box.hidden = false;
  }

  function ended() {
    clearInterval(ticker);
    show("Your session has ended after a period of inactivity. If you send a form now, what you entered is kept: " +
         "you will be asked to log in, and the form is filled in again when you open it.", false);
  }

  function countdown() {
    var seconds = (deadline - Date.now()) / 1000;
    if (seconds <= 0) { ended(); return; }
    var text = "Your session ends in " + inWords(seconds) + " because nothing has been sent for a while. " +
               "If it ends, what you enter on a form is kept as a draft for you.";
    var shown = box.firstChild && box.firstChild.nodeValue;
    if (box.hidden || !shown || shown.indexOf(inWords(seconds)) < 0) show(text, true);
  }

  function schedule() {
    clearTimeout(timer);
    clearInterval(ticker);
    box.hidden = true;
    timer = setTimeout(function () { ask(false); }, Math.max(0, deadline - warnAt * 1000 - Date.now()));
  }

  function ask(stay) {
    var request = new XMLHttpRequest();
    request.open("GET", url + (stay ? "?stay=1" : ""));
    request.setRequestHeader("Accept", "application/json");
    request.onload = function () {
      var seconds = 0;
      try { seconds = Number(JSON.parse(request.responseText).seconds_left) || 0; } catch (error) { seconds = 0; }
      deadline = Date.now() + seconds * 1000 + SLACK_MS;
      if (seconds <= 0) { ended(); return; }
      if (seconds > warnAt + 1) { schedule(); return; }
      countdown();
      clearInterval(ticker);
      ticker = setInterval(countdown, 1000);
    };
    request.onerror = function () { countdown(); };
    request.send();
  }

  schedule();
}());
