// Package events records what happens to the cluster as typed events in
// the replicated store (store.Event: node lost, resource recovered, VIP
// moved, configuration changed, ...).
//
// The controller does not emit them: a Recorder on every node compares
// successive views of the replicated state (View, built from the status
// every node derives from its copy of the store) with the pure
// Tracker.Step, and the leader appends what changed through Raft
// (store.EventAppend). Quorum events are the exception: they are about
// the observing node and are kept until its partition has quorum again,
// then appended with the time they happened. Other parts add their own
// events with Recorder.Record.
//
// Delivery to operators (webhooks, e-mail, Pacemaker alert agents) is
// package alerts; the API streams the log (GET /v1/events).
package events
