// Package plan turns the scheduler's decision into an executable
// transition: a graph of complete actions and the ordering edges between
// them. It is pure: no clock, no I/O, no goroutines.
//
// # Model
//
// sched.Schedule decides what must change (start db:1 on n2, promote it,
// stop web on n1) and orders it; its actions name resources and nodes
// only. Build makes each real action complete, the way Pacemaker's
// transition graph carries everything its executor needs:
//
//   - the agent, the instance parameters evaluated for the node (rule-
//     selected sets resolved by the scheduler) with the operation's own
//     parameters over them (OCF_CHECK_LEVEL given on a monitor);
//   - the meta-attributes and the CRM_meta_* environment Pacemaker 2.1
//     gives agents (clone, clone_max, clone_node_max, promoted_max and
//     master_max, notify, globally_unique, interval, timeout in ms, name,
//     on_node, on_node_uuid, role, op_target_rc, migrate_source and
//     migrate_target), keyed without the CRM_meta_ prefix;
//   - timeout, interval and the expected exit code (7 for a probe, 8 for a
//     monitor of a promoted instance, 0 otherwise);
//   - the id the node records it under (HistoryID: the base id of an
//     anonymous clone instance, as Pacemaker's history keeps it).
//
// Pseudo actions (a clone's "running", a group's "stopped") disappear:
// an action waits for every real action its pseudo predecessors waited
// for. Build adds what the scheduler leaves to the graph:
//
//   - recurring monitors per role: after the start, promote or demote
//     that gives an instance its final role, or for a running instance
//     with no current monitor of its role, the configured monitors whose
//     role matches (a role-less monitor applies to every role and expects
//     8 of a promoted instance);
//   - notifications of clones with notify=true: pre and post notify
//     actions around the demotes, stops, starts and promotes of the
//     clone's instances, sent to the instances active at that point, with
//     the CRM_meta_notify_* lists Pacemaker fills in.
//
// # Caller's duties
//
// The controller builds a plan from one scheduler run, dispatches what
// Ready returns, marks actions done as their results come in, and plans
// afresh once the plan is complete or a result or change aborts it. An
// executor cancels a resource's recurring monitors on stop, promote and
// demote; the plan then schedules the monitors of the new role.
//
// # Example
//
//	res, _ := sched.Schedule(sched.Input{Config: cfg, Status: st, Now: now})
//	p := plan.Build(plan.Input{Result: res, Config: cfg, Status: st})
//	for _, a := range plan.Ready(p, done) { dispatch(a) }
package plan
