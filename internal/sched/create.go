package sched

import "github.com/paceline/paceline/internal/model"

// Role transition tables (Pacemaker's rsc_state_matrix and
// rsc_action_matrix).
var roleStep = [5][5]Role{
	/* Unknown */ {RoleUnknown, RoleStopped, RoleStopped, RoleStopped, RoleStopped},
	/* Stopped */ {RoleStopped, RoleStopped, RoleStarted, RoleUnpromoted, RoleUnpromoted},
	/* Started */ {RoleStopped, RoleStopped, RoleStarted, RoleUnpromoted, RoleUnpromoted},
	/* Unpromoted */ {RoleStopped, RoleStopped, RoleStopped, RoleUnpromoted, RolePromoted},
	/* Promoted */ {RoleStopped, RoleUnpromoted, RoleUnpromoted, RoleUnpromoted, RolePromoted},
}

type roleFn func(ws *workingSet, r *resource, next *node, optional bool) bool

func roleAction(from, to Role) roleFn {
	switch from {
	case RoleUnknown:
		if to == RoleStopped {
			return stopRsc
		}
		return roleError
	case RoleStopped:
		switch to {
		case RoleStopped:
			return nullOp
		case RoleStarted, RoleUnpromoted:
			return startRsc
		}
		return roleError
	case RoleStarted:
		switch to {
		case RoleStopped:
			return stopRsc
		case RoleStarted, RoleUnpromoted:
			return nullOp
		case RolePromoted:
			return promoteRsc
		}
	case RoleUnpromoted:
		switch to {
		case RoleStopped, RoleStarted:
			return stopRsc
		case RoleUnpromoted:
			return nullOp
		case RolePromoted:
			return promoteRsc
		}
	case RolePromoted:
		switch to {
		case RoleStopped, RoleStarted, RoleUnpromoted:
			return demoteRsc
		case RolePromoted:
			return nullOp
		}
	}
	return roleError
}

func roleError(ws *workingSet, r *resource, next *node, optional bool) bool { return false }
func nullOp(ws *workingSet, r *resource, next *node, optional bool) bool    { return false }

func (ws *workingSet) startAction(r *resource, n *node, optional bool) *Action {
	return ws.customAction(r, opKey(r.id, "start", 0), "start", n, optional)
}

func (ws *workingSet) stopAction(r *resource, n *node, optional bool) *Action {
	return ws.customAction(r, opKey(r.id, "stop", 0), "stop", n, optional)
}

func stopRsc(ws *workingSet, r *resource, next *node, optional bool) bool {
	for _, cur := range r.runningOn {
		if r.stopUnexpected && r.assigned == cur && len(r.runningOn) > 1 {
			continue
		}
		opt := optional
		if r.partialTarget != nil {
			if r.partialTarget == cur && r.assigned == r.partialTarget {
				continue
			}
			opt = false
		}
		stop := ws.stopAction(r, cur, opt)
		if r.assigned == nil {
			stop.setReason("node availability", true)
		}
		if !r.managed {
			stop.clear(afRunnable)
		}
	}
	return true
}

func startRsc(ws *workingSet, r *resource, next *node, optional bool) bool {
	start := ws.startAction(r, next, true)
	if start.is(afRunnable) && !optional {
		start.clear(afOptional)
	}
	return true
}

func promoteRsc(ws *workingSet, r *resource, next *node, optional bool) bool {
	runnable := true
	for _, a := range r.findActions(opKey(r.id, "start", 0), next) {
		if !a.is(afRunnable) {
			runnable = false
		}
	}
	if runnable {
		p := ws.customAction(r, opKey(r.id, "promote", 0), "promote", next, optional)
		_ = p
		return true
	}
	p := ws.customAction(r, opKey(r.id, "promote", 0), "promote", next, optional)
	p.clear(afRunnable)
	return true
}

func demoteRsc(ws *workingSet, r *resource, next *node, optional bool) bool {
	for _, cur := range r.runningOn {
		ws.customAction(r, opKey(r.id, "demote", 0), "demote", cur, optional)
	}
	return true
}

// createPrimitiveActions is native_create_actions.
func (ws *workingSet) createPrimitiveActions(r *resource) {
	chosen := r.assigned
	if r.nextRole == RoleUnknown {
		if chosen == nil {
			r.setNextRole(RoleStopped, "allocation")
		} else {
			r.setNextRole(RoleStarted, "allocation")
		}
	}
	current, numAll, numClean := r.findActiveOn()
	for _, src := range r.danglingSources {
		ws.abortDanglingMigration(r, src)
	}

	needStop, needPromote, isMoving, allowMigrate := false, false, false, false
	if current != nil && chosen != nil && current != chosen && r.nextRole >= RoleStarted {
		isMoving = true
		allowMigrate = r.canMigrate(current)
		needStop = true
	}

	multiply := false
	switch {
	case r.partialSource != nil && r.partialTarget != nil && allowMigrate && numAll == 2 &&
		current == r.partialSource && chosen == r.partialTarget:
		r.explain("partial migration from %s to %s will continue", r.partialSource.name, r.partialTarget.name)
	case r.partialSource != nil || r.partialTarget != nil:
		// A partial migration that cannot be continued: recover instead.
		r.explain("forcing recovery: can no longer migrate from %s to %s", nodeName(r.partialSource), nodeName(r.partialTarget))
		needStop = true
		r.partialSource, r.partialTarget = nil, nil
		allowMigrate = false
	case r.needsFencing:
		multiply = numAll > 1
	default:
		multiply = numClean > 1
	}
	if multiply {
		switch r.recovery {
		case "stop_start":
			needStop = true
		case "stop_unexpected":
			needStop = true
			r.stopUnexpected = true
		}
	} else {
		r.stopUnexpected = false
	}
	if r.startPending {
		s := ws.startAction(r, chosen, true)
		s.set(afPrintAlways)
	}
	switch {
	case isMoving:
	case r.failed:
		if r.stopFlag {
			needStop = true
		} else if r.nextRole == RolePromoted {
			needPromote = true
		}
	case r.block:
		needStop = true
	case r.role > RoleStarted && current != nil && chosen != nil:
		s := ws.startAction(r, chosen, true)
		if !s.is(afOptional) {
			needStop = true
		}
	}

	role := r.role
	for role != RoleStopped {
		next := roleStep[role][RoleStopped]
		if !roleAction(role, next)(ws, r, current, !needStop) {
			break
		}
		role = next
	}
	for r.role <= r.nextRole && role != r.role && !r.block {
		required := needStop
		next := roleStep[role][r.role]
		if next == RolePromoted && needPromote {
			required = true
		}
		if !roleAction(role, next)(ws, r, chosen, !required) {
			break
		}
		role = next
	}
	role = r.role
	for role != r.nextRole {
		next := roleStep[role][r.nextRole]
		if !roleAction(role, next)(ws, r, chosen, false) {
			break
		}
		role = next
	}
	if !r.block && (r.nextRole != RoleStopped || !r.managed) {
		ws.startAction(r, chosen, true)
	}
	if allowMigrate {
		ws.migrationActions(r, current, chosen)
	}
}

func nodeName(n *node) string {
	if n == nil {
		return "(none)"
	}
	return n.name
}

// findActiveOn is pe__find_active_on: the node the resource is active on
// and on how many nodes it is active, all and clean (online, not
// unclean). A partial migration's source counts as the active node;
// otherwise resources that need no fencing prefer the first clean node.
func (r *resource) findActiveOn() (*node, int, int) {
	var active *node
	all, clean := 0, 0
	for _, n := range r.runningOn {
		happy := n.online && !n.unclean
		all++
		if happy {
			clean++
		}
		switch {
		case r.partialSource != nil:
			if n == r.partialSource {
				active = n
			}
		case !r.needsFencing:
			if happy && (active == nil || !active.online || active.unclean) {
				active = n
			}
		}
		if active == nil {
			active = n
		}
	}
	return active, all, clean
}

// createGroupActions is group_create_actions.
func (ws *workingSet) createGroupActions(r *resource) {
	for _, c := range r.children {
		ws.createActions(c)
	}
	for _, t := range []string{"start", "running", "stop", "stopped"} {
		a := ws.customAction(r, opKey(r.id, t, 0), t, nil, true)
		a.set(afPseudo | afRunnable)
	}
	if isTrue(r.meta["stateful"]) {
		for _, t := range []string{"demote", "demoted", "promote", "promoted"} {
			a := ws.customAction(r, opKey(r.id, t, 0), t, nil, true)
			a.set(afPseudo | afRunnable)
		}
	}
}

func (ws *workingSet) createActions(r *resource) {
	switch r.variant {
	case vPrimitive:
		ws.createPrimitiveActions(r)
	case vGroup:
		ws.createGroupActions(r)
	case vClone:
		ws.createCloneActions(r)
	case vBundle:
		ws.createBundleActions(r)
	}
}

// internalConstraints creates the implicit orderings of each resource.
func (ws *workingSet) internalConstraints(r *resource) {
	switch r.variant {
	case vPrimitive:
		ws.primitiveInternal(r)
	case vGroup:
		ws.groupInternal(r)
	case vClone:
		ws.cloneInternal(r)
	case vBundle:
		ws.bundleInternal(r)
	}
}

func (ws *workingSet) primitiveInternal(r *resource) {
	if !r.managed {
		return
	}
	ws.newOrdering(r, opKey(r.id, "stop", 0), nil, r, opKey(r.id, "start", 0), nil, ofOptional|ofImpliesThen|ofRestart)
	if r.top().promotable || r.role > RoleUnpromoted {
		ws.newOrdering(r, opKey(r.id, "demote", 0), nil, r, opKey(r.id, "stop", 0), nil, ofPromotedImpliesFirst)
		ws.newOrdering(r, opKey(r.id, "start", 0), nil, r, opKey(r.id, "promote", 0), nil, ofRunnableLeft)
	}
	ws.remoteInternal(r)
}

func (ws *workingSet) groupInternal(r *resource) {
	ordered := r.meta["ordered"] == "" || isTrue(r.meta["ordered"])
	colocated := r.meta["collocated"] == "" || isTrue(r.meta["collocated"])
	top := r.top()
	ws.orderResourceActions(r, "stopped", r, "start", ofOptional)
	ws.orderResourceActions(r, "start", r, "running", ofRunnableLeft)
	ws.orderResourceActions(r, "stop", r, "stopped", ofRunnableLeft)
	var last, lastActive *resource
	for _, c := range r.children {
		stop := ofNone
		stopped := ofImpliesThenPrinted
		start := ofImpliesThen | ofRunnableLeft
		started := ofRunnableLeft | ofImpliesThen | ofImpliesThenPrinted
		ws.internalConstraints(c)
		if last == nil {
			if ordered {
				stop |= ofOptional
				stopped = ofImpliesThen
			}
		} else if colocated {
			ws.newColocation("group:internal_colocation", "", model.Infinity, c, last, "", "", c.critical)
		}
		if top.promotable {
			ws.orderResourceActions(r, "demote", c, "demote", stop|ofImpliesFirstPrinted)
			ws.orderResourceActions(c, "demote", r, "demoted", stopped)
			ws.orderResourceActions(c, "promote", r, "promoted", started)
			ws.orderResourceActions(r, "promote", c, "promote", ofImpliesFirstPrinted)
		}
		ws.orderResourceActions(r, "start", c, "start", ofImpliesFirstPrinted)
		ws.orderResourceActions(r, "stop", c, "stop", stop|ofImpliesFirstPrinted)
		ws.orderResourceActions(c, "stop", r, "stopped", stopped)
		ws.orderResourceActions(c, "start", r, "running", started)
		switch {
		case !ordered:
			ws.orderResourceActions(r, "start", c, "start", start|ofImpliesFirstPrinted)
			if top.promotable {
				ws.orderResourceActions(r, "promote", c, "promote", start|ofImpliesFirstPrinted)
			}
		case last != nil:
			ws.orderResourceActions(last, "start", c, "start", start)
			ws.orderResourceActions(c, "stop", last, "stop", ofOptional|ofRestart)
			if top.promotable {
				ws.orderResourceActions(last, "promote", c, "promote", start)
				ws.orderResourceActions(c, "demote", last, "demote", ofOptional)
			}
		default:
			ws.orderResourceActions(r, "start", c, "start", ofNone)
			if top.promotable {
				ws.orderResourceActions(r, "promote", c, "promote", ofNone)
			}
		}
		if len(c.runningOn) > 0 {
			if ordered && last != nil && len(last.runningOn) == 0 && lastActive != nil && len(lastActive.runningOn) > 0 {
				ws.orderResourceActions(c, "stop", lastActive, "stop", ofOptional)
			}
			lastActive = c
		}
		last = c
	}
	if ordered && last != nil {
		ws.orderResourceActions(r, "stop", last, "stop", ofImpliesThen)
		ws.orderResourceActions(last, "stop", r, "stopped", ofOptional)
		if top.promotable {
			ws.orderResourceActions(r, "demote", last, "demote", ofImpliesThen)
			ws.orderResourceActions(last, "demote", r, "demoted", ofOptional)
		}
	}
}
