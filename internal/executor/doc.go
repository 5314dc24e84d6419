// Package executor runs resource operations on one node, as Pacemaker's
// executor (pacemaker-execd) does: one operation at a time per resource,
// recurring monitors, probes, and a result record for every execution.
//
// # Model
//
// The caller (the node agent, on behalf of the controller) submits an Op
// with Exec. Ops of one resource run strictly one after another in
// submission order; ops of different resources run concurrently. The
// operation itself is performed by the Agent registered for the op's
// class ("ocf", "builtin", ...); agents are declared by this package and
// implemented in internal/agents/...
//
// A monitor with a non-zero Interval is recurring: it runs at once, then
// again Interval after each run ends (Clock.AfterFunc), each run queued
// behind whatever the resource is doing, until Cancel, a stop of the
// resource, or Close. All runs of a recurring op share its call id. A
// monitor with Interval 0 is a probe (Probe).
//
// Every execution produces a Result on Results(): a model.OpRecord (call
// id, rc, op status, last run, last rc change, exec time, exit reason) plus
// the bounded agent output. Recurring monitors report every run, as
// execd does; the caller records only changes if it wishes (LastRCChange
// moves only when rc or status change). A cancelled recurring monitor
// reports once with OpStatus cancelled.
//
// # Caller's duties
//
//   - Read Results() continuously; results queue without bound inside the
//     executor, so a slow reader costs memory, never blocks operations.
//   - Give every op a Timeout (Pacemaker's default, 20s, applies otherwise).
//   - Call Close at shutdown; it cancels in-flight operations and waits for
//     them.
//
// # Example
//
//	ex, _ := executor.New(executor.Config{Node: "n1", Agents: map[string]executor.Agent{"ocf": ocfClass}})
//	dummy := agents.Type{Class: "ocf", Provider: "heartbeat", Name: "Dummy"}
//	ex.Exec(executor.Op{Resource: "web", Agent: dummy, Name: "start", Timeout: 20 * time.Second})
//	ex.Exec(executor.Op{Resource: "web", Agent: dummy, Name: "monitor", Interval: 10 * time.Second})
//	for r := range ex.Results() {
//		fmt.Println(r.Record.Operation, r.Record.RC, r.Record.OpStatus)
//	}
package executor
