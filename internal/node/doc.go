// Package node is the node runtime: what runs on every Paceline node
// besides Raft and the API, once, for the daemon and for the in-process
// test cluster alike (DESIGN.md, Layers):
//
//   - the lease: a renewal to the leader every heartbeat (Renew), and
//     self-fencing (CheckLease: every resource this node runs is stopped)
//     a heartbeat before the lease would lapse; the watchdog is fed only
//     while the lease allows (FeedWatchdog);
//   - the executor's side: ops dispatched by a leader are refused from an
//     older Raft term, counted busy until a leader took their results
//     (renewals list them), and every result is forwarded to whoever
//     leads, in order, and sent again until taken;
//   - the controller, while this node leads;
//   - the drain of a clean shutdown (Drain; DESIGN.md, Safety).
//
// Caller's duties: build the consensus node, the executor and the Peers
// (peer.Client over mutual TLS, or an in-memory one), call Run; with
// Config.Manual, call Renew and CheckLease on the caller's clock (the test
// cluster's fake clock).
package node
