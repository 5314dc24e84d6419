package sched

import (
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// applyOrderings turns resource-level orderings into action edges and
// propagates flags until stable (pcmk__apply_orderings).
func (ws *workingSet) applyOrderings() {
	for _, o := range ws.orderings {
		if o.firstRsc != nil && o.firstAction == nil {
			ws.orderFirst(o.firstRsc, o)
			continue
		}
		if o.firstAction != nil && o.thenRsc != nil && o.thenAction == nil {
			ws.orderThen(o.firstAction, o.thenRsc, o)
			continue
		}
		if o.firstAction != nil && o.thenAction != nil {
			orderActions(o.firstAction, o.thenAction, o.typ)
		}
	}
	// Pacemaker keeps actions newest first.
	all := make([]*Action, len(ws.actions))
	for i, a := range ws.actions {
		all[len(ws.actions)-1-i] = a
	}
	for _, a := range all {
		ws.blockColocationDependents(a)
	}
	for _, a := range all {
		ws.updateActionForOrderings(a, 0)
	}
}

func (ws *workingSet) findActionsByTask(r *resource, key string) []*Action {
	list := r.findActions(key, nil)
	if len(list) == 0 {
		_, task, iv, ok := parseOpKey(key)
		if ok {
			list = r.findActions(opKey(r.id, task, iv), nil)
		}
	}
	return list
}

func (ws *workingSet) orderFirst(first *resource, o *ordering) {
	firstActions := ws.findActionsByTask(first, o.firstKey)
	if len(firstActions) == 0 && first == o.thenRsc {
		return
	}
	if len(firstActions) == 0 {
		_, task, iv, ok := parseOpKey(o.firstKey)
		if !ok {
			return
		}
		state := first.state()
		if state == RoleStopped && task == "stop" {
			return
		}
		if state == RoleUnpromoted && task == "demote" {
			return
		}
		a := ws.customAction(first, opKey(first.id, task, iv), task, nil, true)
		firstActions = []*Action{a}
	}
	for _, fa := range firstActions {
		if o.thenRsc == nil {
			orderActions(fa, o.thenAction, o.typ)
		} else {
			ws.orderThen(fa, o.thenRsc, o)
		}
	}
}

func (ws *workingSet) orderThen(first *Action, then *resource, o *ordering) {
	typ := o.typ
	var thens []*Action
	if o.thenAction != nil {
		thens = []*Action{o.thenAction}
	} else {
		thens = ws.findActionsByTask(then, o.thenKey)
	}
	if len(thens) == 0 {
		return
	}
	if first != nil && first.rsc == then && first.is(afDangle) {
		typ &^= ofImpliesThen
	}
	for _, t := range thens {
		if first != nil {
			orderActions(first, t, typ)
		} else if typ&ofImpliesThen != 0 {
			t.clear(afRunnable)
		}
	}
}

// state is the resource's current role as a whole (fns->state with
// current=TRUE).
func (r *resource) state() Role {
	if r.variant == vPrimitive {
		return r.role
	}
	best := RoleStopped
	for _, c := range r.children {
		if s := c.state(); s > best {
			best = s
		}
	}
	return best
}

// actionFlagsFor returns the flags of an action as seen by orderings on
// node n (the resource variant's action_flags).
func (ws *workingSet) actionFlagsFor(a *Action, n *node) actionFlags {
	if a.rsc == nil {
		return a.flags
	}
	switch a.rsc.variant {
	case vGroup:
		return ws.groupActionFlags(a, n)
	case vClone:
		return ws.cloneActionFlags(a, n)
	case vBundle:
		return ws.bundleActionFlags(a, n)
	}
	return a.flags
}

func taskToChild(task string) string {
	switch task {
	case "running":
		return "start"
	case "stopped":
		return "stop"
	case "promoted":
		return "promote"
	case "demoted":
		return "demote"
	}
	return task
}

func (ws *workingSet) groupActionFlags(a *Action, n *node) actionFlags {
	flags := afOptional | afRunnable | afPseudo
	task := taskToChild(a.Task)
	for _, m := range a.rsc.children {
		ma := m.findTask(task, n)
		if ma != nil {
			mf := ws.actionFlagsFor(ma, n)
			if flags&afOptional != 0 && mf&afOptional == 0 {
				flags &^= afOptional
				a.clear(afOptional)
			}
			if task != a.Task && flags&afRunnable != 0 && mf&afRunnable == 0 {
				flags &^= afRunnable
				a.clear(afRunnable)
			}
		} else if task != "stop" && task != "demote" {
			flags &^= afRunnable
		}
	}
	return flags
}

func (ws *workingSet) actionFlagsForOrdering(a *Action, n *node) actionFlags {
	if a.rsc == nil {
		return a.flags
	}
	flags := ws.actionFlagsFor(a, nil)
	if n == nil || a.rsc.variant < vClone {
		return flags
	}
	runnable := flags&afRunnable != 0
	flags = ws.actionFlagsFor(a, n)
	if runnable && flags&afRunnable == 0 {
		flags |= afRunnable
	}
	return flags
}

func isParent(child, rsc *resource) bool {
	for p := child.parent; p != nil; p = p.parent {
		if p == rsc {
			return true
		}
	}
	return false
}

// actionForOrdering remaps an action of a collective resource to its
// completion pseudo-action (start -> running, ...).
func (ws *workingSet) actionForOrdering(a *Action) *Action {
	r := a.rsc
	if r == nil || r.variant == vPrimitive {
		return a
	}
	if strings.Contains(a.key, "notify") {
		return a
	}
	_, task, iv, ok := parseOpKey(a.key)
	if !ok || iv > 0 {
		return a
	}
	var remapped string
	switch task {
	case "stop":
		remapped = "stopped"
	case "start":
		remapped = "running"
	case "promote":
		remapped = "promoted"
	case "demote":
		remapped = "demoted"
	case "stopped", "running", "promoted", "demoted":
		remapped = task
	default:
		return a
	}
	key := opKey(r.id, remapped, 0)
	if r.notify && r.variant == vClone && (r.parent == nil || r.parent.variant == vBundle) {
		key = r.id + "_confirmed-post_notify_" + remapped + "_0"
	}
	for _, x := range r.actions {
		if x.key == key {
			return x
		}
	}
	// Notifications may not exist; fall back to the plain completion.
	key = opKey(r.id, remapped, 0)
	for _, x := range r.actions {
		if x.key == key {
			return x
		}
	}
	return a
}

const maxDepth = 2000

// updateActionForOrderings is pcmk__update_action_for_orderings.
func (ws *workingSet) updateActionForOrderings(then *Action, depth int) {
	if depth > maxDepth {
		return
	}
	changedThen := false
	lastFlags := then.flags
	if then.is(afRequiresAny) {
		then.runnableBefore = 0
		if then.requiredRunnableBefore == 0 {
			then.requiredRunnableBefore = 1
		}
		then.clear(afRunnable)
	}
	for i := len(then.before) - 1; i >= 0; i-- {
		other := then.before[i]
		first := other.action
		thenNode := then.node
		firstNode := first.node
		if first.rsc != nil && first.rsc.variant == vGroup && first.Task == "start" {
			firstNode = first.rsc.location()
		}
		if then.rsc != nil && then.rsc.variant == vGroup && then.Task == "start" {
			thenNode = then.rsc.location()
		}
		if other.typ&ofSameNode != 0 && firstNode != nil && thenNode != nil && firstNode != thenNode {
			other.typ = ofNone
			continue
		}
		changedFirst := false
		if first.rsc != nil && other.typ&ofThenCancelsFirst != 0 && !then.is(afOptional) {
			// 'then' is required, so 'first' is abandoned (a required stop
			// cancels a reload).
			first.set(afOptional)
			if first.Task == "reload-agent" {
				first.rsc.reload = false
			}
		}
		if first.rsc != nil && then.rsc != nil && first.rsc != then.rsc && !isParent(then.rsc, first.rsc) {
			first = ws.actionForOrdering(first)
		}
		if first == other.action {
			ff := ws.actionFlagsForOrdering(first, thenNode)
			tf := ws.actionFlagsForOrdering(then, firstNode)
			ct, cf := ws.updateForOrderingFlags(first, then, ff, tf, other, depth)
			changedThen = changedThen || ct
			changedFirst = cf
		} else if orderActions(first, then, other.typ) {
			changedThen = true
			other.typ = ofNone
		}
		if changedFirst {
			for _, e := range newestFirst(first.after) {
				ws.updateActionForOrderings(e.action, depth+1)
			}
			ws.updateActionForOrderings(first, depth+1)
		}
	}
	if then.is(afRequiresAny) {
		changedThen = lastFlags != then.flags
	}
	if changedThen || lastFlags != then.flags {
		if lastFlags&afRunnable != 0 && !then.is(afRunnable) {
			ws.blockColocationDependents(then)
		}
		ws.updateActionForOrderings(then, depth+1)
		for _, e := range newestFirst(then.after) {
			ws.updateActionForOrderings(e.action, depth+1)
		}
	}
}

// location is fns->location: where a (collective) resource is assigned.
func (r *resource) location() *node {
	if r.variant == vPrimitive {
		return r.assigned
	}
	if r.variant == vGroup {
		if len(r.children) > 0 {
			return r.children[0].assigned
		}
	}
	return nil
}

// updateForOrderingFlags is update_action_for_ordering_flags; it reports
// whether then and first changed.
func (ws *workingSet) updateForOrderingFlags(first, then *Action, ff, tf actionFlags, order *actionEdge, depth int) (bool, bool) {
	ct, cf := false, false
	n := then.node
	add := func(t, f bool) {
		ct = ct || t
		cf = cf || f
	}
	if order.typ&ofImpliesThenOnNode != 0 {
		order.typ &^= ofImpliesThenOnNode
		order.typ |= ofImpliesThen
		n = first.node
	}
	if order.typ&ofImpliesThen != 0 {
		if then.rsc != nil {
			add(ws.updateOrdered(first, then, n, ff&afOptional, afOptional, ofImpliesThen, depth))
		} else if ff&afOptional == 0 && then.is(afOptional) {
			then.clear(afOptional)
			ct = true
		}
	}
	if order.typ&ofRestart != 0 && then.rsc != nil {
		add(ws.updateOrdered(first, then, n, ff, afOptional|afRunnable, ofRestart, depth))
	}
	if order.typ&ofImpliesFirst != 0 {
		if first.rsc != nil {
			add(ws.updateOrderedBy(first.rsc, first, then, n, ff, afOptional, ofImpliesFirst, depth))
		} else if ff&afOptional == 0 && first.is(afRunnable) {
			first.clear(afRunnable)
			cf = true
		}
	}
	if order.typ&ofPromotedImpliesFirst != 0 && then.rsc != nil {
		add(ws.updateOrdered(first, then, n, ff&afOptional, afOptional, ofPromotedImpliesFirst, depth))
	}
	if order.typ&ofOneOrMore != 0 {
		if then.rsc != nil {
			add(ws.updateOrdered(first, then, n, ff, afRunnable, ofOneOrMore, depth))
		} else if ff&afRunnable != 0 {
			then.runnableBefore++
			if then.runnableBefore >= then.requiredRunnableBefore && !then.is(afRunnable) {
				then.set(afRunnable)
				ct = true
			}
		}
	}
	if then.rsc != nil && order.typ&ofProbe != 0 {
		if ff&afRunnable == 0 && first.rsc != nil && len(first.rsc.runningOn) > 0 {
			order.typ = ofNone
		} else {
			add(ws.updateOrdered(first, then, n, ff, afRunnable, ofRunnableLeft, depth))
		}
	}
	if order.typ&ofRunnableLeft != 0 {
		if then.rsc != nil {
			add(ws.updateOrdered(first, then, n, ff, afRunnable, ofRunnableLeft, depth))
		} else if ff&afRunnable == 0 && then.is(afRunnable) {
			then.clear(afRunnable)
			ct = true
		}
	}
	if order.typ&ofImpliesFirstMigratable != 0 && then.rsc != nil {
		add(ws.updateOrdered(first, then, n, ff, afOptional, ofImpliesFirstMigratable, depth))
	}
	if order.typ&ofPseudoLeft != 0 && then.rsc != nil {
		add(ws.updateOrdered(first, then, n, ff, afOptional, ofPseudoLeft, depth))
	}
	if order.typ&ofOptional != 0 && then.rsc != nil {
		add(ws.updateOrdered(first, then, n, ff, afRunnable, ofOptional, depth))
	}
	if order.typ&ofAsymmetrical != 0 && then.rsc != nil {
		add(ws.updateOrdered(first, then, n, ff, afRunnable, ofAsymmetrical, depth))
	}
	if first.is(afRunnable) && order.typ&ofImpliesThenPrinted != 0 && ff&afOptional == 0 {
		then.set(afPrintAlways)
	}
	if order.typ&ofImpliesFirstPrinted != 0 && tf&afOptional == 0 {
		first.set(afPrintAlways)
	}
	if order.typ&(ofImpliesThen|ofImpliesFirst|ofRestart) != 0 && first.rsc != nil && !first.rsc.managed &&
		first.rsc.block && !first.is(afRunnable) && first.Task == "stop" {
		if then.is(afRunnable) {
			then.clear(afRunnable)
			ct = true
		}
	}
	return ct, cf
}

// updateOrdered dispatches to the variant's update_ordered_actions.
func (ws *workingSet) updateOrdered(first, then *Action, n *node, flags, filter actionFlags, typ orderFlags, depth int) (bool, bool) {
	return ws.updateOrderedBy(then.rsc, first, then, n, flags, filter, typ, depth)
}

// updateOrderedBy is updateOrdered with the method of owner's variant;
// Pacemaker uses the 'first' resource's method for implies-first
// orderings, and 'then's for the others.
func (ws *workingSet) updateOrderedBy(owner *resource, first, then *Action, n *node, flags, filter actionFlags, typ orderFlags, depth int) (bool, bool) {
	if then.rsc == nil {
		// A clone's method only updates resource actions.
		if owner.variant == vClone {
			return false, false
		}
		return ws.updatePrimitiveOrdered(first, then, n, flags, filter, typ, depth)
	}
	switch owner.variant {
	case vGroup:
		ct, cf := ws.updatePrimitiveOrdered(first, then, n, flags, filter, typ, depth)
		for _, m := range then.rsc.children {
			ma := m.findTask(then.Task, n)
			if ma == nil && n == nil {
				continue
			}
			if ma != nil {
				t, f := ws.updateOrdered(first, ma, n, flags, filter, typ, depth)
				ct, cf = ct || t, cf || f
			}
		}
		return ct, cf
	case vClone, vBundle:
		return ws.cloneUpdateOrdered(first, then, n, flags, filter, typ, depth)
	}
	return ws.updatePrimitiveOrdered(first, then, n, flags, filter, typ, depth)
}

// clearBecause clears a flag of action a because of action why, recording
// why as Pacemaker words it ("required rsc start", "unrunnable rsc stop").
func clearBecause(a *Action, f actionFlags, why *Action) {
	if !a.is(f) {
		return
	}
	a.clear(f)
	if why == nil || a.rsc == why.rsc {
		return
	}
	change := "unrunnable"
	if f == afOptional {
		change = "required"
	}
	text := change + " " + why.Task
	if why.rsc != nil {
		text = change + " " + why.rsc.id + " " + why.Task
	}
	a.setReason(text, f == afMigrateRunnable)
}

// updatePrimitiveOrdered is pcmk__update_ordered_actions.
func (ws *workingSet) updatePrimitiveOrdered(first, then *Action, n *node, flags, filter actionFlags, typ orderFlags, depth int) (bool, bool) {
	thenFlags := then.flags
	firstFlags := first.flags
	if typ&ofAsymmetrical != 0 {
		ws.handleAsymmetric(first, then)
	}
	if typ&ofImpliesFirst != 0 && thenFlags&afOptional == 0 {
		if filter&afOptional != 0 && flags&afOptional == 0 && firstFlags&afOptional != 0 {
			clearBecause(first, afOptional, then)
		}
		if flags&afMigrateRunnable != 0 && !then.is(afMigrateRunnable) {
			clearBecause(first, afMigrateRunnable, then)
		}
	}
	if typ&ofPromotedImpliesFirst != 0 && then.rsc != nil && then.rsc.role == RolePromoted &&
		filter&afOptional != 0 && !then.is(afOptional) {
		clearBecause(first, afOptional, then)
		if first.is(afMigrateRunnable) && !then.is(afMigrateRunnable) {
			clearBecause(first, afMigrateRunnable, then)
		}
	}
	if typ&ofImpliesFirstMigratable != 0 && filter&afOptional != 0 {
		if !(then.is(afMigrateRunnable) && then.is(afRunnable)) {
			clearBecause(first, afRunnable, then)
		}
		if !then.is(afOptional) {
			clearBecause(first, afOptional, then)
		}
	}
	if typ&ofPseudoLeft != 0 && filter&afOptional != 0 && !first.is(afRunnable) {
		clearBecause(then, afMigrateRunnable, first)
		then.clear(afPseudo)
	}
	if typ&ofRunnableLeft != 0 && filter&afRunnable != 0 && then.is(afRunnable) && flags&afRunnable == 0 {
		clearBecause(then, afRunnable, first)
		clearBecause(then, afMigrateRunnable, first)
	}
	if typ&ofImpliesThen != 0 && filter&afOptional != 0 && then.is(afOptional) && flags&afOptional == 0 &&
		!first.is(afMigrateRunnable) {
		clearBecause(then, afOptional, first)
	}
	if typ&ofRestart != 0 {
		ws.handleRestart(first, then, filter)
	}
	ct := thenFlags != then.flags
	cf := firstFlags != first.flags
	if ct && then.rsc != nil && then.rsc.parent != nil {
		ws.updateActionForOrderings(then, depth+1)
	}
	return ct, cf
}

func (ws *workingSet) handleAsymmetric(first, then *Action) {
	if then.rsc == nil {
		return
	}
	if !first.is(afRunnable) {
		// 'first' can't run, so 'then' can't either unless the resource
		// is already in the desired state.
		if then.rsc.variant == vPrimitive {
			if then.Task == "start" && len(then.rsc.runningOn) > 0 {
				return
			}
		}
		then.clear(afRunnable)
	}
}

func (ws *workingSet) handleRestart(first, then *Action, filter actionFlags) {
	reason := ""
	if filter&afOptional != 0 && !then.is(afOptional) {
		reason = "restart"
	}
	if filter&afRunnable != 0 && !then.is(afRunnable) && then.rsc != nil && then.rsc.managed && first.rsc == then.rsc {
		reason = "stop"
	}
	if reason == "" {
		return
	}
	if first.is(afRunnable) {
		first.clear(afOptional)
	}
	if !then.is(afOptional) {
		first.clear(afOptional)
	}
	if !then.is(afMigrateRunnable) {
		first.clear(afMigrateRunnable)
	}
	if !first.is(afOptional) && !first.is(afRunnable) {
		then.clear(afRunnable)
	}
}

// blockColocationDependents is pcmk__block_colocation_dependents.
func (ws *workingSet) blockColocationDependents(a *Action) {
	if a.is(afRunnable) || a.rsc == nil {
		return
	}
	isStart := a.Task == "start"
	if !isStart && a.Task != "promote" {
		return
	}
	r := a.rsc.top()
	for _, c := range r.children {
		ca := c.findTask(a.Task, nil)
		if ca == nil || ca.is(afRunnable) {
			return
		}
	}
	for _, c := range withThisColocations(r) {
		if c.score < model.Infinity {
			continue
		}
		if !isStart && c.primRole != RolePromoted {
			continue
		}
		if c.depRole == RolePromoted {
			ws.markBlocked(c.dependent, "promote", a.rsc)
		} else {
			ws.markBlocked(c.dependent, "start", a.rsc)
		}
	}
}

func withThisColocations(r *resource) []*colocation {
	out := append([]*colocation(nil), r.withThis...)
	if r.variant == vGroup && len(r.children) > 0 {
		out = append(out, r.children[len(r.children)-1].withThis...)
	}
	return out
}

func (ws *workingSet) markBlocked(r *resource, task string, reason *resource) {
	for _, a := range append([]*Action(nil), r.actions...) {
		if a.is(afRunnable) && a.Task == task {
			a.clear(afRunnable)
			a.setReason("colocation with "+reason.id, false)
			ws.blockColocationDependents(a)
			ws.updateActionForOrderings(a, 0)
		}
	}
	for _, c := range r.children {
		ws.markBlocked(c, task, reason)
	}
}
