package sched

import (
	"errors"
	"fmt"
	"sort"

	"github.com/paceline/paceline/internal/model"
)

// ErrUnsupported is wrapped by errors for configurations the scheduler
// cannot decide yet.
var ErrUnsupported = errors.New("not supported")

// Schedule decides the transition for a cluster. It is deterministic: the
// same input always gives the same result.
func Schedule(in Input) (res *Result, err error) {
	if in.Config == nil {
		return nil, errors.New("sched: no configuration")
	}
	ws := &workingSet{cfg: in.Config, st: in.Status}
	if len(in.Explain) > 0 {
		ws.explainIDs = map[string]bool{}
		for _, id := range in.Explain {
			ws.explainIDs[id] = true
		}
	}
	ws.now = in.Now.Unix()
	if in.Status != nil && !in.Status.Now.IsZero() {
		ws.now = in.Status.Now.Unix()
	}
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("sched: internal error: %v", p)
		}
	}()
	ws.unpackConfig()
	ws.unpackNodes()
	if err := ws.unpackResources(); err != nil {
		return nil, err
	}
	ws.unpackStatus()
	ws.sortResources()
	current := ws.view(false)
	if err := ws.unpackConstraints(); err != nil {
		return nil, err
	}
	if err := ws.applyNodeCriteria(); err != nil {
		return nil, err
	}
	for _, r := range ws.resources {
		ws.internalConstraints(r)
	}
	ws.checkConfigChanges()
	ws.sortResourcesForPlacement()
	ws.assignConnections()
	for _, r := range ws.resources {
		ws.assign(r, nil)
	}
	ws.scheduleProbes()
	for _, r := range ws.resources {
		ws.createActions(r)
	}
	ws.orderRemoteActions()
	ws.scheduleFencing()
	ws.unfenceChanged()
	ws.applyOrderings()
	ws.finishMigrations()
	res = &Result{Current: current, Explain: map[string]*Explanation{}}
	res.Changes = ws.summary()
	res.Actions = ws.exportActions()
	res.Revised = ws.view(true)
	res.Instances = ws.exportInstances()
	for _, r := range ws.resources {
		var walk func(r *resource)
		walk = func(r *resource) {
			res.Resources = append(res.Resources, r.id)
			for _, c := range r.children {
				walk(c)
			}
		}
		walk(r)
	}
	for _, id := range in.Explain {
		if r, ok := ws.byID[id]; ok {
			ws.collectExplanations(r, res.Explain)
		}
	}
	return res, nil
}

// sortResources orders top-level resources by priority, highest first,
// keeping configuration order otherwise.
func (ws *workingSet) sortResources() {
	sort.SliceStable(ws.resources, func(i, j int) bool {
		return ws.resources[i].priority > ws.resources[j].priority
	})
}

// scheduleFencing creates fencing for unclean nodes and shutdowns for
// nodes leaving (schedule_fencing_and_shutdowns).
func (ws *workingSet) scheduleFencing() {
	for _, n := range ws.nodes {
		if n.isGuest() {
			// Guests are "fenced" by recovering their container.
			if n.remoteReset && ws.canFence(n) {
				ws.fenceGuest(n)
			}
			continue
		}
		if n.unclean && ws.canFence(n) {
			reason := n.fenceReason
			if reason == "" {
				reason = "node is unclean"
			}
			fa := ws.fenceAction(n, reason)
			fa.clear(afOptional)
			ws.orderVsFence(fa, n)
		} else if n.online && n.shutdown && !n.remote {
			ws.nextActionID++
			a := &Action{ID: ws.nextActionID, key: "do_shutdown-" + n.name, Task: "do_shutdown", node: n, Node: n.name}
			a.set(afRunnable)
			ws.actions = append(ws.actions, a)
			for _, r := range ws.resources {
				for _, p := range r.primitives() {
					for _, s := range p.findActions(opKey(p.id, "stop", 0), n) {
						orderActions(s, a, ofOptional|ofRunnableLeft)
					}
				}
			}
		}
	}
}

func (ws *workingSet) fenceAction(n *node, reason string) *Action {
	key := "stonith-" + n.name + "-" + ws.stonithAction
	for _, a := range ws.actions {
		if a.key == key {
			return a
		}
	}
	ws.nextActionID++
	a := &Action{ID: ws.nextActionID, key: key, Task: "stonith", node: n, Node: n.name, fenceAction: ws.stonithAction, reason: reason}
	a.set(afRunnable | afOptional)
	ws.actions = append(ws.actions, a)
	return a
}

// orderVsFence makes actions on a fenced node implied by the fencing.
func (ws *workingSet) orderVsFence(fa *Action, n *node) {
	for _, r := range ws.resources {
		for _, p := range r.primitives() {
			for _, a := range p.actions {
				if a.node != n {
					continue
				}
				switch a.Task {
				case "stop":
					a.set(afPseudo | afRunnable)
					if p.needsFencing {
						orderActions(fa, a, ofPreserve)
					}
				case "demote":
					a.set(afPseudo | afRunnable)
					if p.needsFencing {
						orderActions(fa, a, ofPreserve|ofOptional)
					}
				}
			}
			// Starts elsewhere wait for the fencing when the resource was
			// active on the fenced node.
			if p.needsFencing {
				for _, a := range p.actions {
					if (a.Task == "start" || a.Task == "promote") && a.node != n {
						for _, x := range p.runningOn {
							if x == n {
								orderActions(fa, a, ofOptional)
							}
						}
					}
				}
			}
		}
	}
}

// finishMigrations turns migrations whose start lost its migratability
// back into stop/start.
func (ws *workingSet) finishMigrations() {
	for _, r := range ws.resources {
		for _, p := range r.primitives() {
			var start *Action
			if p.assigned != nil {
				start = p.findTaskExact("start", p.assigned)
			}
			if start == nil || start.is(afMigrateRunnable) {
				continue
			}
			for _, a := range p.actions {
				if a.Task == "migrate_to" || a.Task == "migrate_from" {
					a.clear(afRunnable)
				}
			}
		}
	}
}

func (ws *workingSet) exportActions() []*Action {
	var out []*Action
	for _, a := range ws.actions {
		if a.is(afOptional) && !a.is(afPrintAlways) {
			continue
		}
		a.Optional = a.is(afOptional)
		a.Runnable = a.is(afRunnable)
		a.Pseudo = a.is(afPseudo)
		a.Reason = a.reason
		a.FenceAction = a.fenceAction
		a.After = a.After[:0]
		for _, e := range a.before {
			if e.typ != ofNone {
				a.After = append(a.After, e.action.ID)
			}
		}
		out = append(out, a)
	}
	return out
}

// summary produces the Transition Summary (LogActions for every resource,
// fencing first).
func (ws *workingSet) summary() []Change {
	var out []Change
	for _, n := range ws.nodes {
		for _, a := range ws.actions {
			if a.Task == "stonith" && a.node == n && !a.is(afOptional) && a.is(afRunnable) {
				c := Change{Action: "Fence", To: n.name, FenceAction: a.fenceAction, Reason: a.reason}
				if n.isGuest() {
					c.Resource = n.conn.container.id
				}
				out = append(out, c)
			}
		}
	}
	for _, r := range ws.resources {
		out = append(out, ws.resourceChanges(r)...)
	}
	return out
}

func (ws *workingSet) resourceChanges(r *resource) []Change {
	if r.bundle != nil {
		return ws.bundleChanges(r)
	}
	if len(r.children) > 0 {
		var out []Change
		for _, c := range r.children {
			out = append(out, ws.resourceChanges(c)...)
		}
		return out
	}
	if r.variant != vPrimitive {
		return nil
	}
	next := r.assigned
	var current *node
	if len(r.runningOn) > 0 {
		current = r.current()
		if r.role == RoleStopped {
			r.role = RoleStarted
		}
	}
	if current == nil && r.orphan {
		return nil
	}
	return ws.rscAction(r, current, next)
}

func first(list []*Action) *Action {
	if len(list) > 0 {
		return list[0]
	}
	return nil
}

// rscAction is the "rsc-action" message: what one primitive's line says.
func (ws *workingSet) rscAction(r *resource, current, next *node) []Change {
	if !r.managed || (current == nil && next == nil) {
		return nil
	}
	moving := current != nil && next != nil && current != next
	start := first(r.findActions(opKey(r.id, "start", 0), next))
	var startNode *node
	if start != nil && start.is(afRunnable) {
		startNode = current
	}
	stop := first(r.findActions(opKey(r.id, "stop", 0), startNode))
	if stop == nil && r.stopUnexpected {
		stop = first(r.findActions(opKey(r.id, "stop", 0), nil))
	}
	promote := first(r.findActions(opKey(r.id, "promote", 0), next))
	demote := first(r.findActions(opKey(r.id, "demote", 0), next))
	item := func(action string, from, to *node, src, reasonSrc *Action) Change {
		c := Change{Action: action, Resource: r.id}
		if from != nil {
			c.From = from.name
		}
		if to != nil {
			c.To = to.name
		}
		c.FromRole = r.role.String()
		c.ToRole = r.nextRole.String()
		c.NeedRole = r.role > RoleStarted || r.nextRole > RoleUnpromoted
		if reasonSrc == nil {
			reasonSrc = src
		}
		if reasonSrc != nil && reasonSrc.reason != "" {
			c.Reason = reasonSrc.reason
		}
		if src != nil && !src.is(afRunnable) {
			c.Blocked = true
		}
		return c
	}
	if r.role == r.nextRole {
		if next == nil {
			return nil
		}
		migrate := first(r.findActions(opKey(r.id, "migrate_from", 0), next))
		switch {
		case migrate != nil && current != nil && migrate.is(afRunnable):
			return []Change{item("Migrate", current, next, start, nil)}
		case r.reload:
			return []Change{item("Reload", current, next, start, nil)}
		case start == nil || start.is(afOptional):
			if demote != nil && promote != nil && !demote.is(afOptional) && !promote.is(afOptional) {
				return []Change{item("Re-promote", current, next, promote, demote)}
			}
			return nil
		case !start.is(afRunnable):
			var rs *Action
			if stop != nil && stop.reason != "" {
				rs = stop
			} else {
				rs = start
			}
			return []Change{item("Stop", current, nil, stop, rs)}
		case moving && current != nil:
			if r.failed {
				return []Change{item("Recover", current, next, stop, nil)}
			}
			return []Change{item("Move", current, next, stop, nil)}
		case r.failed:
			return []Change{item("Recover", current, current, stop, nil)}
		default:
			return []Change{item("Restart", current, next, start, nil)}
		}
	}
	if stop != nil && (r.nextRole == RoleStopped || (start != nil && !start.is(afRunnable))) {
		var out []Change
		for _, n := range r.runningOn {
			so := first(r.findActions(opKey(r.id, "stop", 0), n))
			rs := start
			if so != nil && so.reason != "" {
				rs = so
			}
			out = append(out, item("Stop", n, nil, so, rs))
		}
		return out
	}
	switch {
	case stop != nil && r.failed && r.stopFlag:
		return []Change{item("Recover", current, next, stop, start)}
	case moving:
		return []Change{item("Move", current, next, stop, nil)}
	case r.reload:
		return []Change{item("Reload", current, next, start, nil)}
	case stop != nil && !stop.is(afOptional):
		return []Change{item("Restart", current, next, start, nil)}
	case r.role == RolePromoted:
		return []Change{item("Demote", current, next, demote, nil)}
	case r.nextRole == RolePromoted:
		return []Change{item("Promote", current, next, promote, nil)}
	case r.role == RoleStopped && r.nextRole > RoleStopped:
		return []Change{item("Start", current, next, start, nil)}
	}
	return nil
}

// keep model imported for future use in this file.
var _ = model.Infinity
