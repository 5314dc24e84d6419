package sched

import (
	"strconv"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// Live migration, history side.
//
// A migration of resource R from S to T is recorded as a migrate_to on S
// (naming T) followed by a migrate_from on T (naming S) and finally a stop
// on S. What a migrate_to or migrate_from entry means depends on what else
// the two nodes recorded for R, and in particular on whether either node has
// newer state that supersedes the migration:
//
//   - both succeeded: R runs on T; S still needs a stop (a "dangling"
//     migration) unless it has stopped since;
//   - migrate_to succeeded, migrate_from missing or pending: R may be active
//     on both nodes; if both are up this is a partial migration that can be
//     continued when T remains the chosen node;
//   - migrate_from failed, or migrate_to failed: R must be assumed active
//     wherever the migration may have left it, and recovered.
//
// The helpers below look entries up in the status the way Pacemaker's
// scheduler does, including its quirks (a lookup with several matches
// finds nothing).

// lrmOps returns the history of resource id on the named node and whether
// the node has any history entry for it at all.
func (ws *workingSet) lrmOps(id, nodeName string) ([]model.OpRecord, bool) {
	if ws.st == nil {
		return nil, false
	}
	for i := range ws.st.Nodes {
		ns := &ws.st.Nodes[i]
		if ns.Name != nodeName {
			continue
		}
		for j := range ns.Resources {
			if ns.Resources[j].ID == id {
				return ns.Resources[j].Ops, true
			}
		}
	}
	return nil, false
}

// findLrmOp finds the single history entry of task for resource id on the
// named node. For migrate_to, peer must be the entry's migration target;
// for migrate_from, its migration source (unless peer is empty). With
// targetRC >= 0 the entry must have completed with that result. More than
// one candidate means none.
func (ws *workingSet) findLrmOp(id, task, nodeName, peer string, targetRC int) *model.OpRecord {
	ops, _ := ws.lrmOps(id, nodeName)
	var found *model.OpRecord
	n := 0
	for i := range ops {
		o := &ops[i]
		if o.Operation != task {
			continue
		}
		if peer != "" {
			if task == "migrate_to" && o.MigrateTarget != peer {
				continue
			}
			if task == "migrate_from" && o.MigrateSource != peer {
				continue
			}
		}
		found = o
		n++
	}
	if n != 1 {
		return nil
	}
	if targetRC >= 0 && (found.RC != targetRC || found.OpStatus != execDone) {
		return nil
	}
	return found
}

// unknownOnNode reports whether the named node has no completed history
// entry for rsc (it was likely cleaned up and will be probed).
func (ws *workingSet) unknownOnNode(rsc *resource, nodeName string) bool {
	ops, _ := ws.lrmOps(rsc.id, nodeName)
	for i := range ops {
		if ops[i].RC != 193 {
			return false
		}
	}
	return true
}

// sameRecord reports whether a and b are the same history entry.
func sameRecord(a, b *model.OpRecord) bool {
	return a.ID == b.ID && a.Operation == b.Operation && a.CallID == b.CallID &&
		a.Interval == b.Interval && a.OnNode == b.OnNode
}

// compareOps is pe__is_newer_op: >0 when a is newer than b, <0 when
// older, 0 when it cannot tell. Call ids are only comparable on one node;
// entries without a node name are taken to be on the same node when
// sameNodeDefault is set. Otherwise the time of the last result change, or
// for pending entries the transition that asked for them, decides.
func compareOps(a, b *model.OpRecord, sameNodeDefault bool) int {
	sameNode := sameNodeDefault
	if a.OnNode != "" && b.OnNode != "" {
		sameNode = strings.EqualFold(a.OnNode, b.OnNode)
	}
	if sameNode && a.ID == b.ID {
		return 0
	}
	ac, bc := a.CallID, b.CallID
	switch {
	case ac == -1 && bc == -1:
		return 0
	case sameNode && ac >= 0 && ac < bc:
		return -1
	case sameNode && bc >= 0 && ac > bc:
		return 1
	case ac >= 0 && bc >= 0 && (!sameNode || ac == bc):
		la, lb := rcChangeOrUnknown(a), rcChangeOrUnknown(b)
		switch {
		case la >= 0 && la < lb:
			return -1
		case lb >= 0 && la > lb:
			return 1
		}
		return 0
	}
	// One of them is pending: compare the transitions that asked for them.
	aID, aUUID, okA := decodeTransitionKey(a.TransitionKey)
	bID, bUUID, okB := decodeTransitionKey(b.TransitionKey)
	if !okA || !okB {
		return 0
	}
	switch {
	case !strings.EqualFold(aUUID, bUUID) || aID == bID:
		if bc == -1 {
			return -1
		}
		if ac == -1 {
			return 1
		}
	case (aID >= 0 && aID < bID) || bID == -1:
		return -1
	case (bID >= 0 && aID > bID) || aID == -1:
		return 1
	}
	return 0
}

// rcChangeOrUnknown is the entry's last-rc-change, -1 when not recorded
// (the history model stores a missing time as 0).
func rcChangeOrUnknown(o *model.OpRecord) int64 {
	if o.LastRCChange == 0 {
		return -1
	}
	return o.LastRCChange
}

// decodeTransitionKey splits "action:transition:target_rc:uuid" into the
// transition number and the uuid of the scheduler run.
func decodeTransitionKey(key string) (int, string, bool) {
	f := strings.SplitN(key, ":", 4)
	if len(f) != 4 {
		return 0, "", false
	}
	id, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, "", false
	}
	return id, f[3], true
}

// nonMonitorAfter reports whether the named node recorded a start, stop or
// migration of resource id newer than op.
func (ws *workingSet) nonMonitorAfter(id, nodeName string, op *model.OpRecord, sameNode bool) bool {
	ops, ok := ws.lrmOps(id, nodeName)
	if !ok {
		return false
	}
	for i := range ops {
		o := &ops[i]
		if sameRecord(o, op) {
			continue
		}
		switch o.Operation {
		case "start", "stop", "migrate_to", "migrate_from":
			if compareOps(o, op, sameNode) > 0 {
				return true
			}
		}
	}
	return false
}

// monitorNotRunningAfter reports whether a probe or monitor on the named
// node, newer than op, found resource id not running.
func (ws *workingSet) monitorNotRunningAfter(id, nodeName string, op *model.OpRecord, sameNode bool) bool {
	m := ws.findLrmOp(id, "monitor", nodeName, "", ocfNotRunning)
	return m != nil && compareOps(m, op, sameNode) > 0
}

// newerStateAfterMigrate reports whether the named node has state for
// resource id newer than the migration entries, so that they no longer
// matter for it. Either entry may be nil, not both.
func (ws *workingSet) newerStateAfterMigrate(id, nodeName string, migrateTo, migrateFrom *model.OpRecord) bool {
	op := migrateTo
	if migrateFrom != nil {
		op = migrateFrom
	}
	sameNode := false
	// Prefer comparing with the entry recorded on the same node: its call
	// id is reliable.
	switch nodeName {
	case op.MigrateTarget:
		if migrateFrom != nil {
			op, sameNode = migrateFrom, true
		} else {
			op = migrateTo
		}
	case op.MigrateSource:
		if migrateTo != nil {
			op, sameNode = migrateTo, true
		} else {
			op = migrateFrom
		}
	}
	return ws.nonMonitorAfter(id, nodeName, op, sameNode) ||
		ws.monitorNotRunningAfter(id, nodeName, op, sameNode)
}

// migrateToSuccess is what a completed migrate_to on src means (see the
// comment at the top of this file).
func (ws *workingSet) migrateToSuccess(rsc *resource, src *node, op *model.OpRecord) {
	source, target := op.MigrateSource, op.MigrateTarget
	if source == "" || target == "" || source != src.name {
		return
	}
	// A newer start, stop or migration on the source means this entry no
	// longer matters there, but it may still matter for the target.
	sourceNewer := ws.nonMonitorAfter(rsc.id, source, op, true)
	migrateFrom := ws.findLrmOp(rsc.id, "migrate_from", target, source, -1)
	if sourceNewer && migrateFrom != nil {
		return
	}
	targetNewer := ws.newerStateAfterMigrate(rsc.id, target, op, migrateFrom)
	if sourceNewer && targetNewer {
		return
	}
	rsc.role = RoleStarted // clones never migrate, so never promoted
	targetNode := ws.nodeByName[target]
	sourceNode := ws.nodeByName[source]
	targetUp := targetNode != nil && targetNode.online

	switch {
	case migrateFrom != nil && migrateFrom.RC == ocfOK && migrateFrom.OpStatus == execDone:
		// Completed on both sides: only a stop on the source is missing.
		rsc.role = RoleStopped
		rsc.danglingSources = append([]*node{src}, rsc.danglingSources...)
	case migrateFrom != nil && migrateFrom.OpStatus != execPending:
		// The migrate_from failed.
		if !targetNewer && targetUp {
			ws.addRunning(rsc, targetNode, true)
		} else {
			rsc.forceRecovery()
		}
	default:
		// Pending, or completed but erased from the target's history.
		if targetUp && ws.unknownOnNode(rsc, target) {
			return // it will be probed there
		}
		if !targetNewer && targetUp {
			ws.addRunning(rsc, targetNode, false)
			if sourceNode != nil && sourceNode.online {
				// A partial migration: it may be continued if the target
				// remains the chosen node.
				rsc.partialTarget = targetNode
				rsc.partialSource = sourceNode
			}
		} else if !sourceNewer {
			rsc.forceRecovery()
		}
	}
}

// forceRecovery marks a resource failed and to be stopped, and forbids
// migrating it: a restart is the only safe recovery.
func (r *resource) forceRecovery() {
	r.failed = true
	r.stopFlag = true
	r.allowMigrate = false
}

// migrateToFailure is what a failed migrate_to on n means: the resource is
// active on the source, and maybe on the target.
func (ws *workingSet) migrateToFailure(rsc *resource, n *node, op *model.OpRecord) {
	source, target := op.MigrateSource, op.MigrateTarget
	if source == "" || target == "" || source != n.name {
		return
	}
	rsc.role = RoleStarted
	migrateFrom := ws.findLrmOp(rsc.id, "migrate_from", target, source, ocfOK)
	if !ws.unknownOnNode(rsc, target) && !ws.newerStateAfterMigrate(rsc.id, target, op, migrateFrom) {
		// Nothing newer on the target: assume it is active there too.
		if t := ws.nodeByName[target]; t != nil && t.online {
			ws.addRunning(rsc, t, false)
		}
	} else if !ws.nonMonitorAfter(rsc.id, source, op, true) {
		// The entry still matters for the source: make sure it stops.
		rsc.danglingSources = append([]*node{n}, rsc.danglingSources...)
	}
}

// migrateFromFailure is what a failed migrate_from on n means: the
// resource is active on the target, and maybe still on the source.
func (ws *workingSet) migrateFromFailure(rsc *resource, n *node, op *model.OpRecord) {
	source, target := op.MigrateSource, op.MigrateTarget
	if source == "" || target == "" || target != n.name {
		return
	}
	rsc.role = RoleStarted
	migrateTo := ws.findLrmOp(rsc.id, "migrate_to", source, target, ocfOK)
	if !ws.unknownOnNode(rsc, source) && !ws.newerStateAfterMigrate(rsc.id, source, migrateTo, op) {
		if s := ws.nodeByName[source]; s != nil && s.online {
			ws.addRunning(rsc, s, true)
		}
	}
}

// Live migration, action side.
//
// A migrating resource gets migrate_to on the current node and
// migrate_from on the chosen node (only migrate_from when continuing a
// partial migration); its start becomes a pseudo-action and its stop and
// start are marked migrate-runnable. Anything that later makes the
// migration impossible clears that mark, and finishMigrations turns the
// migration back into a plain stop and start.

// canMigrate is pcmk__rsc_can_migrate: whether r may live-migrate away
// from current to its chosen node.
func (r *resource) canMigrate(current *node) bool {
	switch {
	case !r.allowMigrate:
		return false
	case !r.managed:
		return false
	case r.failed:
		return false
	case r.startPending:
		return false
	case current == nil || current.unclean:
		return false
	case r.assigned == nil || r.assigned.unclean:
		return false
	}
	return true
}

// abortDanglingMigration stops r on the source of a migration that
// completed without the source being stopped.
func (ws *workingSet) abortDanglingMigration(r *resource, src *node) {
	stop := ws.stopAction(r, src, false)
	stop.set(afDangle)
}

// migrationActions creates migrate_to/migrate_from for a live migration
// from current to r's chosen node (pcmk__create_migration_actions).
func (ws *workingSet) migrationActions(r *resource, current, chosen *node) {
	if current == nil || chosen == nil {
		return
	}
	start := ws.startAction(r, chosen, true)
	stop := ws.stopAction(r, current, true)
	partial := r.partialTarget != nil
	if !partial {
		ws.customAction(r, opKey(r.id, "migrate_to", 0), "migrate_to", current, true).set(afMigrateRunnable)
	}
	ws.customAction(r, opKey(r.id, "migrate_from", 0), "migrate_from", chosen, true).set(afMigrateRunnable)
	start.set(afMigrateRunnable | afPseudo)
	stop.set(afMigrateRunnable)
	if partial {
		// probe, then migrate_from (the migrate_to already completed)
		ws.newOrdering(r, opKey(r.id, "monitor", 0), nil, r, opKey(r.id, "migrate_from", 0), nil, ofOptional)
	} else {
		// probe, then migrate_to, then migrate_from
		ws.newOrdering(r, opKey(r.id, "monitor", 0), nil, r, opKey(r.id, "migrate_to", 0), nil, ofOptional)
		ws.newOrdering(r, opKey(r.id, "migrate_to", 0), nil, r, opKey(r.id, "migrate_from", 0), nil, ofOptional|ofImpliesFirstMigratable)
	}
	// migrate_from before the stop and the (pseudo) start
	ws.newOrdering(r, opKey(r.id, "migrate_from", 0), nil, r, opKey(r.id, "stop", 0), nil, ofOptional|ofImpliesFirstMigratable)
	ws.newOrdering(r, opKey(r.id, "migrate_from", 0), nil, r, opKey(r.id, "start", 0), nil, ofOptional|ofImpliesFirstMigratable|ofPseudoLeft)
}

// isAncestor reports whether anc is a (grand)parent of r.
func isAncestor(anc, r *resource) bool {
	for p := r.parent; p != nil; p = p.parent {
		if p == anc {
			return true
		}
	}
	return false
}

// orderTask is the task an ordering names on one side.
func orderTask(a *Action, key string) string {
	if a != nil {
		return a.Task
	}
	_, task, _, ok := parseOpKey(key)
	if !ok {
		return ""
	}
	return task
}

// orderMigrationEquivalents is pcmk__order_migration_equivalents: an
// ordering between two unrelated resources, at least one of them allowed
// to migrate, also orders the migration actions that stand in for the
// ordered start or stop:
//
//	start A then start B:   migrate_from A then migrate_to B (both migrate),
//	                        start A then migrate_to B (only if A's start is
//	                        not part of a migration, when A can migrate too);
//	stop A then stop B:     stop A then migrate_to B (and migrate_from B
//	                        during a partial migration);
//	promote A then start B: promote A then migrate_to B;
//	demote A then stop B:   demote A then migrate_to B (and migrate_from B
//	                        during a partial migration).
func (ws *workingSet) orderMigrationEquivalents(o *ordering) {
	first, then := o.firstRsc, o.thenRsc
	if first == nil || then == nil || first == then || isAncestor(first, then) || isAncestor(then, first) {
		return
	}
	firstMig, thenMig := first.allowMigrate, then.allowMigrate
	if !firstMig && !thenMig {
		return
	}
	key := func(r *resource, task string) string { return opKey(r.id, task, 0) }
	order := func(firstTask, thenTask string, typ orderFlags) {
		ws.newOrdering(first, key(first, firstTask), nil, then, key(then, thenTask), nil, typ)
	}
	typ := ofOptional
	ft, tt := orderTask(o.firstAction, o.firstKey), orderTask(o.thenAction, o.thenKey)
	switch {
	case ft == "start" && tt == "start":
		if firstMig && thenMig {
			order("migrate_from", "migrate_to", typ)
		}
		if thenMig {
			if firstMig {
				typ |= ofApplyFirstNonMigratable
			}
			order("start", "migrate_to", typ)
		}
	case thenMig && ft == "stop" && tt == "stop":
		if firstMig {
			typ |= ofApplyFirstNonMigratable
		}
		order("stop", "migrate_to", typ)
		if then.partialTarget != nil {
			order("stop", "migrate_from", typ)
		}
	case ft == "promote" && tt == "start":
		if thenMig {
			order("promote", "migrate_to", typ)
		}
	case ft == "demote" && tt == "stop":
		if thenMig {
			order("demote", "migrate_to", typ)
			if then.partialTarget != nil {
				order("demote", "migrate_from", typ)
			}
		}
	}
}
