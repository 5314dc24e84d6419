package sched

import (
	"fmt"
	"strconv"
	"strings"
)

// actionFlags are the state bits of an action.
type actionFlags uint32

const (
	afOptional actionFlags = 1 << iota
	afRunnable
	afPseudo
	afPrintAlways
	afMigrateRunnable
	afDangle
	afRequiresAny
	afReschedule
)

// orderFlags say how an ordering between two actions propagates flags.
type orderFlags uint32

const (
	ofNone     orderFlags = 0
	ofOptional orderFlags = 1 << iota
	ofImpliesThen
	ofImpliesFirst
	ofRunnableLeft
	ofRestart
	ofSameNode
	ofThenCancelsFirst
	ofOneOrMore
	ofImpliesFirstMigratable
	ofPseudoLeft
	ofAsymmetrical
	ofSerializeOnly
	ofImpliesThenPrinted
	ofImpliesFirstPrinted
	ofPromotedImpliesFirst
	ofImpliesThenOnNode
	ofProbe
	ofAntiColocation
	ofPreserve
	// ofApplyFirstNonMigratable orders 'then' after 'first' only when
	// 'first' is not part of a live migration.
	ofApplyFirstNonMigratable
)

// Action is one step of a transition: an operation of a resource on a
// node, a pseudo-action marking a collective milestone (a group "running"),
// or fencing of a node.
type Action struct {
	ID       int    `json:"id"`
	Task     string `json:"task"`
	Resource string `json:"resource,omitempty"`
	Node     string `json:"node,omitempty"`
	// IntervalMS is the repeat interval of a recurring monitor.
	IntervalMS int64 `json:"interval_ms,omitempty"`
	Optional   bool  `json:"optional"`
	Runnable   bool  `json:"runnable"`
	Pseudo     bool  `json:"pseudo,omitempty"`
	// Reason says why the action exists or is blocked.
	Reason string `json:"reason,omitempty"`
	// FenceAction is what a stonith action does: reboot, off or on
	// (unfencing).
	FenceAction string `json:"fence_action,omitempty"`
	// After lists the ids of actions this one waits for.
	After []int `json:"after,omitempty"`

	key   string
	rsc   *resource
	node  *node
	flags actionFlags
	// before/after hold orderings involving this action.
	before []*actionEdge
	after  []*actionEdge
	// runnableBefore counts runnable 'first' actions for one-or-more.
	runnableBefore, requiredRunnableBefore int
	fenceAction                            string
	reason                                 string
}

type actionEdge struct {
	action *Action
	typ    orderFlags
}

func (a *Action) is(f actionFlags) bool { return a.flags&f != 0 }
func (a *Action) set(f actionFlags)     { a.flags |= f }
func (a *Action) clear(f actionFlags)   { a.flags &^= f }

func (a *Action) String() string {
	n := "-"
	if a.node != nil {
		n = a.node.name
	}
	return fmt.Sprintf("%s on %s", a.key, n)
}

// opKey builds Pacemaker's operation key "rsc_task_interval".
func opKey(rsc, task string, intervalMS int64) string {
	return rsc + "_" + task + "_" + strconv.FormatInt(intervalMS, 10)
}

// parseOpKey splits an operation key into resource, task and interval.
func parseOpKey(key string) (rsc, task string, interval int64, ok bool) {
	i := strings.LastIndexByte(key, '_')
	if i <= 0 {
		return "", "", 0, false
	}
	iv, err := strconv.ParseInt(key[i+1:], 10, 64)
	if err != nil {
		return "", "", 0, false
	}
	rest := key[:i]
	// Tasks may contain underscores (migrate_to, migrate_from).
	for _, t := range []string{"migrate_to", "migrate_from", "confirmed-post_notify_start", "pre_notify_start"} {
		if strings.HasSuffix(rest, "_"+t) {
			return rest[:len(rest)-len(t)-1], t, iv, true
		}
	}
	j := strings.LastIndexByte(rest, '_')
	if j <= 0 {
		return "", "", 0, false
	}
	return rest[:j], rest[j+1:], iv, true
}

// newAction finds or creates an action of rsc (nil for a node action) with
// the given key on node n. optional is honoured only when creating or to
// make an existing action required. This is Pacemaker's custom_action.
func (ws *workingSet) customAction(rsc *resource, key, task string, n *node, optional bool) *Action {
	var a *Action
	if rsc != nil {
		// find_existing_action: newest first; a node-less action matches
		// any node and is then placed on it.
		for i := len(rsc.actions) - 1; i >= 0; i-- {
			x := rsc.actions[i]
			if x.key != key {
				continue
			}
			if n == nil || x.node == n {
				a = x
				break
			}
			if x.node == nil {
				x.node = n
				x.Node = n.name
				a = x
				break
			}
		}
	}
	if a == nil {
		ws.nextActionID++
		a = &Action{ID: ws.nextActionID, key: key, Task: task, rsc: rsc, node: n}
		a.set(afOptional | afRunnable)
		if !optional {
			a.clear(afOptional)
		}
		if rsc != nil {
			a.Resource = rsc.id
			rsc.actions = append(rsc.actions, a)
		}
		if n != nil {
			a.Node = n.name
		}
		_, _, iv, _ := parseOpKey(key)
		a.IntervalMS = iv
		if isPseudoTask(task) || (rsc != nil && rsc.variant != vPrimitive) {
			a.set(afPseudo)
		}
		ws.actions = append(ws.actions, a)
		ws.updateRunnable(a, true)
	} else {
		if !optional {
			a.clear(afOptional)
		}
		ws.updateRunnable(a, false)
	}
	return a
}

func isPseudoTask(task string) bool {
	switch task {
	case "running", "stopped", "promoted", "demoted", "notified", "one-or-more":
		return true
	}
	return false
}

// updateRunnable applies custom_action's runnable rules for resource
// actions.
func (ws *workingSet) updateRunnable(a *Action, created bool) {
	rsc := a.rsc
	if rsc == nil {
		return
	}
	if a.is(afPseudo) {
		return
	}
	if a.node == nil {
		a.clear(afRunnable)
		return
	}
	if !rsc.managed && a.IntervalMS == 0 && a.Task != "monitor" {
		a.set(afOptional)
		return
	}
	if !rsc.managed && a.IntervalMS == 0 {
		a.set(afOptional)
		return
	}
	if !a.node.online && (!a.node.isGuest() || a.node.remoteReset) {
		a.clear(afRunnable)
		if rsc.managed && created && a.Task == "stop" && !a.node.unclean {
			ws.fenceNode(a.node, "resource actions are unrunnable", false)
		}
		return
	}
	if a.node.pending {
		a.clear(afRunnable)
		return
	}
	needs := "nothing"
	if a.Task == "start" || a.Task == "promote" {
		if rsc.needsFencing {
			needs = "fencing"
		} else if rsc.needsQuorum {
			needs = "quorum"
		}
	}
	if needs == "nothing" {
		a.reason = ""
		a.set(afRunnable)
		return
	}
	switch ws.effectiveQuorumPolicy(rsc) {
	case "stop":
		a.reason = "no quorum"
		a.clear(afRunnable)
	case "freeze":
		if !rsc.isActive() || rsc.nextRole > rsc.role {
			a.reason = "quorum freeze"
			a.clear(afRunnable)
		}
	default:
		a.set(afRunnable)
	}
}

// effectiveQuorumPolicy is what no-quorum-policy means for rsc now:
// "ignore" with quorum; with policy demote, promotable instances are
// demoted and may stay up, everything else stops.
func (ws *workingSet) effectiveQuorumPolicy(rsc *resource) string {
	if ws.haveQuorum {
		return "ignore"
	}
	if ws.noQuorumPolicy != "demote" {
		return ws.noQuorumPolicy
	}
	switch rsc.role {
	case RolePromoted, RoleUnpromoted:
		if rsc.nextRole > RoleUnpromoted {
			rsc.setNextRole(RoleUnpromoted, "no-quorum-policy=demote")
		}
		return "ignore"
	}
	return "stop"
}

func (r *resource) isActive() bool {
	for _, p := range r.primitives() {
		if len(p.runningOn) > 0 {
			return true
		}
	}
	return false
}

// findActions returns rsc's actions with key on node n (any node when n is
// nil; node-less actions match any n). Like Pacemaker's find_actions, the
// result is in reverse creation order.
func (r *resource) findActions(key string, n *node) []*Action {
	var out []*Action
	for i := len(r.actions) - 1; i >= 0; i-- {
		a := r.actions[i]
		if a.key != key {
			continue
		}
		if n == nil || a.node == nil || a.node == n {
			out = append(out, a)
		}
	}
	return out
}

// findAction returns the first action of rsc with task (non-recurring) on
// node n; n nil matches any node.
func (r *resource) findTask(task string, n *node) *Action {
	for i := len(r.actions) - 1; i >= 0; i-- {
		a := r.actions[i]
		if a.Task != task || a.IntervalMS != 0 {
			continue
		}
		if n == nil || a.node == n {
			return a
		}
	}
	return nil
}

func (r *resource) findTaskExact(task string, n *node) *Action {
	for i := len(r.actions) - 1; i >= 0; i-- {
		a := r.actions[i]
		if a.Task != task || a.IntervalMS != 0 {
			continue
		}
		if a.node == n {
			return a
		}
	}
	return nil
}

// orderActions records "first then then" with the given flags; it returns
// false when an ordering between the two sharing any flag exists already.
// Like Pacemaker's order_actions, a new ordering is a new edge (not merged
// into an existing one) and edges are visited newest first.
func orderActions(first, then *Action, typ orderFlags) bool {
	if first == nil || then == nil || first == then || typ == ofNone {
		return false
	}
	for _, e := range first.after {
		if e.action == then && e.typ&typ != 0 {
			return false
		}
	}
	first.after = append(first.after, &actionEdge{action: then, typ: typ})
	then.before = append(then.before, &actionEdge{action: first, typ: typ})
	return true
}

// newestFirst returns a copy of edges, most recently added first.
func newestFirst(edges []*actionEdge) []*actionEdge {
	out := make([]*actionEdge, len(edges))
	for i, e := range edges {
		out[len(edges)-1-i] = e
	}
	return out
}

func (a *Action) setReason(reason string, overwrite bool) {
	if a.reason == "" || overwrite {
		a.reason = reason
	}
}
