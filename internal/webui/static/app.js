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
          window.location.assign("/ui/login");
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

  var es = new EventSource("/ui/events");
  es.addEventListener("status", function () {
    setConn("live");
    refresh();
  });
  es.onerror = function () {
    setConn("reconnecting");
  };
})();
