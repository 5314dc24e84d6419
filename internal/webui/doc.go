// Package webui is the web console every agent serves at /ui/ on its API
// listener: plain server-rendered HTML (html/template) embedded in the
// binary, no build step, no CDN, no framework.
//
// # The model
//
// The UI is a client of the /v1 API served in-process: every page reads
// through an api.Client whose transport hands each request to the API
// handler (Config.API, the httpapi.Server) with the session's own bearer
// token, and every action (standby, maintenance, move, clear, cleanup,
// enable, disable, switchover) is the same API request the command line
// sends. So the API's role checks, validation and audit entries (with the
// session's token id and the browser's address) apply unchanged, and
// there is no second implementation of any action.
//
// # Sessions
//
// GET /ui/login shows a form (<input name="token">); POST /ui/login with
// a valid API token makes a server-side session (in memory, per node; the
// token never goes back to the browser) and sets the cookie
// "__Host-paceline-session" (HttpOnly, Secure, SameSite=Strict, Path=/).
// Every request checks the session's token again (Config.Identify), so a
// revoked or expired token stops the session at once: 403 and the login
// form. POST /ui/logout ends it. Every form carries a CSRF token (the
// session's; the login form's is bound to a short-lived cookie); a POST
// without the right one is 403 and changes nothing.
//
// Every answer carries a strict Content-Security-Policy (default-src
// 'self', no inline script or style), X-Frame-Options DENY, nosniff and
// no-store.
//
// # Pages
//
//   - /ui/: the overview (leader, quorum, nodes, resources with role and
//     node, VIPs, clone instances, failed actions, newest events);
//   - /ui/resources/ID: parameters (secrets masked), operation history,
//     constraints, actions;
//   - /ui/nodes/NAME: state, attributes, resources on it, actions.
//
// Each page is live: static/app.js opens /ui/events (the API's
// /v1/events status stream, relayed with the session's token) and on
// every snapshot fetches the page again with ?fragment=1, which renders
// only the live part, and puts it in place.
//
// Events come from Config.Events when set (the replicated event log);
// until then the overview shows the audit log's newest entries.
package webui
