// Package api is Paceline's public HTTP/JSON API: the wire types of /v1
// and a Go client. The CLI, the web UI and other programs use it; the
// server is internal/httpapi.
//
// # Endpoints
//
// Every call needs "Authorization: Bearer TOKEN"; errors are JSON
// {"error": "one clear message"} with an HTTP status (401 no or bad token,
// 403 role too low, 400 bad request, 404 unknown id, 409 conflict such as a
// stale epoch or an existing id, 413 body over 1 MiB, 503 no leader).
// Request bodies are decoded strictly: an unknown field is a 400 naming it.
//
//	GET    /v1/status              Status
//	GET    /v1/resources           []Resource (the configured top-level resources)
//	GET    /v1/resources/ID        Resource
//	POST   /v1/resources           ResourceRequest -> Resource (201)
//	PUT    /v1/resources/ID        ResourceRequest -> Resource (replaces agent, params, meta, ops)
//	DELETE /v1/resources/ID        (204; also removes constraints that name it)
//	POST   /v1/resources/ID/cleanup  -> CleanupResult: forgets fail counts and operation
//	                               history (?node=NAME: on that node only); operator
//	GET    /v1/nodes               []Node
//	PUT    /v1/nodes/NAME/attributes  map of name to value (204): sets transient node
//	                               attributes (standby, maintenance); "" deletes one; operator
//	POST   /v1/constraints         Constraint (201)
//	DELETE /v1/constraints/ID      (204)
//	GET    /v1/properties          map of name to value
//	GET    /v1/properties/NAME     Property
//	PUT    /v1/properties/NAME     Property (the value)
//	GET    /v1/config              Config (JSON; YAML with Accept: application/yaml)
//	POST   /v1/config              Config (JSON or YAML by Content-Type) -> ConfigResult;
//	                               compare-and-set: the body's epoch must be the current
//	                               one (409 otherwise), or ?force=true applies over any epoch
//	GET    /v1/events              server-sent events: "status" events carrying Status
//	POST   /v1/tokens              TokenRequest -> TokenResponse (admin only)
//
// Every write answers with the new configuration epoch in the header
// "Paceline-Epoch". A request with the header "Paceline-Min-Epoch: N" is
// answered from a copy of the configuration at least at epoch N (waiting
// up to a second for the node to catch up): the Client sends the newest
// epoch it has seen, so it reads its own writes on any node. A node that
// has restarted, or knows a leader it is behind, first waits a little for
// its copy to catch up; if it does not, it answers 503 with the header
// "Paceline-Retry-Elsewhere" and the Client tries its next address.
//
// # Configuration schema
//
// Config and the types it holds are aliases of the engine's model types,
// so "config export" and "config apply" use exactly the model's YAML/JSON
// schema (DecodeConfigYAML refuses unknown fields). This package therefore
// imports the internal model; programs outside the module use the types
// through these aliases.
//
// # Client
//
//	c, err := api.NewFromEnv() // PACELINE_ADDR, PACELINE_TOKEN(_FILE), PACELINE_CACERT
//	st, err := c.Status(ctx)
//
// PACELINE_ADDR lists one or more base URLs, comma separated; the client
// tries them in order and moves to the next when one cannot be reached
// (a dial error: the request was never sent, so no write is repeated).
// Every failure is one error naming the address and the server's message.
package api
