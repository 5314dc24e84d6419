// Package negative holds the negative test suite of issue 5 ("Security and
// hostile input"): one table of hostile requests and inputs driven through
// the real API handlers (httpapi.Server over an in-memory store), the CIB
// importer and a real OCF agent. Every case states the status and the
// words its refusal must carry; the runner also checks that the
// configuration epoch did not move and that the server still answers.
//
// TestNegativeNode is the node-level part: a real agent (daemon.Run on
// loopback) refuses node certificates of another cluster on its peer
// endpoints and its Raft port, reused, expired and foreign join tokens, a
// key file with mode 0644 and CA rotations by viewers and operators; the
// epoch, the members and the CA stay as they were and the agent serves on.
package negative
