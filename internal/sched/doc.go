// Package sched is Paceline's placement engine: a pure, deterministic
// function from (configuration, observed status, now) to a transition — the
// actions that bring the cluster to where every resource should be — and an
// explanation of every decision.
//
// It follows Pacemaker's scheduler semantics ("Pacemaker Explained") so that
// clusters migrated from Pacemaker get the same decisions:
//
//  1. unpack: node states (online, unclean, standby, maintenance), each
//     resource's current role and location from its operation history,
//     failures, fail counts and the on-fail policy that applies;
//  2. constraints and node criteria: ticket dependencies (a resource whose
//     ticket is revoked or in standby is banned, or its nodes fenced, or it
//     is frozen, by loss-policy), location constraints and rules,
//     stickiness, migration thresholds;
//  3. assignment: resources in priority order, each first placing what it is
//     colocated with, then merging the preferences of what is colocated with
//     it, then taking the best node (ties: fewer assigned resources, the
//     current node, node name);
//  4. actions: stop, start, promote, demote, migrate, monitor and fence
//     actions per resource, internal orderings (stop before start, group
//     members in sequence, clone pseudo-actions), configured orderings;
//  5. graph update: optional/runnable flags flow along orderings until
//     nothing changes, which decides what is blocked;
//  6. summary: Pacemaker's Transition Summary lines.
//
// Nothing in this package reads a clock, a file or the network. Callers
// pass Input.Now; Status.Now (Pacemaker's execution-date) takes precedence.
//
// Example:
//
//	res, err := sched.Schedule(sched.Input{Config: cfg, Status: st, Now: now})
//	if err != nil { ... }
//	sched.WriteSummary(os.Stdout, res.Changes)
package sched

// FeatureSet is the status format this scheduler reads natively (Pacemaker
// 2.1.5's crm_feature_set): per-operation fail counts
// ("fail-count-rsc#op_interval") and digests that include the operation
// timeout. Producers that write status (the controller) stamp it on the
// status and on each operation record; imported CIBs keep their own.
const FeatureSet = "3.16.2"
