// Package peer is the node-to-node RPC of a Paceline cluster: HTTP/JSON
// under /internal/v1/ on each agent's API listener, over mutual TLS with
// node certificates (the caller's name and role come from its verified
// certificate, never from the body). The Handler serves the calls every
// node answers (propose, heartbeat, report, exec) and lets the wiring
// package add its own (joins, removals, the CA's), with the same checks;
// the Client makes the calls. It knows the controller's wire types, not
// the daemon: the node runtime uses it without importing the wiring.
package peer
