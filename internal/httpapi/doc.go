// Package httpapi is the server side of Paceline's HTTP/JSON API (/v1;
// the endpoints, wire types and client are in package api).
//
// A Server is an http.Handler. It reads the cluster state and proposes
// changes only through the Backend interface declared here (the daemon
// implements it with the consensus node; tests and simulations with
// MemBackend, a store.Store behind a mutex), authenticates bearer tokens
// through an Authenticator (pki.TokenSet) and issues join tokens through a
// JoinIssuer (pki.JoinTokens). The caller serves it over TLS built by
// pki.APIServerTLS:
//
//	srv := httpapi.New(httpapi.Config{Backend: b, Tokens: tokens, Join: join})
//	hs := &http.Server{Handler: srv, TLSConfig: pki.APIServerTLS(ca, cert),
//		ReadHeaderTimeout: 10 * time.Second}
//	go hs.ServeTLS(ln, "", "")
//
// # Requests
//
// Every request needs "Authorization: Bearer TOKEN" (401 otherwise, with
// the reason: missing, malformed, unknown, "token X expired at T", "token X
// was revoked at T by Y") whose role permits the route (403 naming the
// token, its role and the role needed; default deny): reads need viewer;
// the operational writes (resource cleanup, node attributes such as
// standby and maintenance; move, ban and clear constraints; target-role,
// is-managed and permanent node attributes in a configuration apply) need
// operator; everything else, which changes what executes, needs admin
// (authz.go).
//
// Tokens are checked first against the replicated store (store.Token,
// made by POST /v1/tokens {"kind":"api"}, revoked by DELETE
// /v1/tokens/{id}), then against the node's tokens file (the bootstrap
// admin token of "paceline init", copied at join), which a store
// revocation also refuses (tokens.go).
//
// In-process callers that authenticate their own clients serve requests
// with ServeLocal(w, r, LocalPrincipal(name, role)) instead of a token:
// the same routes, role checks, limits and audit, the principal recorded
// as "local:NAME" with r.RemoteAddr as its source. The principal travels
// under a context key only ServeLocal sets, so no request from the
// network can claim it. The daemon's local socket for the Pacemaker
// helper commands (package compat) is such a caller, as an operator.
//
// Every request to a route needing operator or admin appends a
// hash-chained entry to the replicated audit log, including 403s but not
// 401s; GET /v1/audit (viewer) returns it (audit.go). Bodies are limited to
// MaxBodyBytes (413) and decoded strictly: unknown fields are a 400 that
// names the field. Every error is {"error": "..."}.
//
// Writes are read-modify-write on the configuration: the server reads the
// current configuration, changes it, validates the result
// (model.Config.Validate) and proposes a store.ConfigPut expecting the
// epoch it read; if another write won meanwhile it retries a few times.
// POST /v1/config is the exception: the client's epoch is the expected
// one, so a stale apply fails with 409 and changes nothing.
//
// # Metrics
//
// GET /metrics (viewer) serves Config.Metrics, the node's Prometheus
// registry (package metrics), in the text format; its gauges come from
// MetricsState, derived from the store as GET /v1/status is.
//
// GET /v1/node (viewer) describes the answering node (version, Raft
// state: Config.Info) and GET /v1/node/log?since=DURATION (admin, audited)
// serves its agent log (Config.Log): `paceline report` asks every member
// for them. These three node-local routes answer even while the node's
// copy of the cluster state is behind (report.go).
//
// # Status
//
// GET /v1/status asks the scheduler for its view of the current state
// (sched.CurrentView: the configuration and the members' operation
// histories unpacked exactly as placement reads them, clone instances
// matched whether recorded under the base id or instance ids) and reports
// each primitive's active instances with their roles, its parent group or
// clone, the groups and clones as a tree, the kept last failures
// ("RSC_last_failure_0" records, until a cleanup) and the last change from
// the audit log.
//
// # Web UI
//
// /ui/ serves the web UI (package webui) without a bearer token: it has
// its own login form and session cookie, and reads and acts through this
// server in process with the session's token, so every action meets the
// same role check and leaves the same audit entry as through /v1
// (webui.go). Config.UI connects its optional event log and switchover.
//
// # Agents
//
// With a Config.Agents catalogue, GET /v1/agents lists this node's
// resource agents and GET /v1/agents/{agent} returns one's meta-data;
// creating or updating a primitive checks it against that meta-data
// (model.AgentMeta.Check) unless ?force=true. PUT /v1/properties/{name}
// takes only known cluster options with values of their type
// (model.CheckProperty) unless ?force=true.
package httpapi
