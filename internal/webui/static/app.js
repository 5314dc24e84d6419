// Paceline web UI: keeps the page's live part current. On every status
// snapshot of /ui/events it fetches this page again with ?fragment=1 (the
// server renders only the live part) and puts it in place. No inline
// script: the Content-Security-Policy allows only this file.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !live.dataset.live || !window.EventSource) {
    return;
  }
  var conn = document.getElementById("conn");
  var busy = false;
  var again = false;
  var leaving = false;

  function setConn(state) {
    if (conn) {
      conn.textContent = state;
      conn.className = "conn conn-" + state;
    }
  }

  function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    var url = new URL(window.location.href);
    url.searchParams.set("fragment", "1");
    fetch(url.toString(), { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (resp) {
        if (resp.status === 401 || resp.status === 403) {
          if (!leaving) {
            leaving = true; // once: a second navigation would abort the first
            window.location.assign("/ui/login");
          }
          return null;
        }
        return resp.ok ? resp.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== undefined) {
          live.innerHTML = html;
          document.body.dataset.updated = String(Date.now());
        }
      })
      .catch(function () { setConn("offline"); })
      .finally(function () {
        busy = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  // EventSource reconnects by itself after a network error, but gives up
  // on an answer that is not 200 (a node catching up answers 503): then
  // open a new one a little later.
  function connect() {
    var es = new EventSource("/ui/events");
    var onEvent = function () {
      setConn("live");
      refresh();
    };
    // "status": a snapshot of the cluster; "event": a cluster event
    // (node lost, resource recovered, ...), where the stream carries them.
    es.addEventListener("status", onEvent);
    es.addEventListener("event", onEvent);
    es.onerror = function () {
      setConn("reconnecting");
      refresh(); // a session that ended goes to the login page
      if (es.readyState === EventSource.CLOSED) {
        window.setTimeout(connect, 2000);
      }
    };
  }
  connect();
})();
