package controller

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/plan"
)

// engine is the controller's decision core: which transition runs, which
// of its actions to dispatch now, what a result means for it. It is pure:
// time comes in as an argument, and it reads no store and dispatches
// nothing; Controller does both around it. One goroutine owns it.
//
// A turn of the loop is: wantPlan (if true, plan and call start, or
// planFailed), then ready and sent for each action handed over. Results
// go through result; outside changes through changed; a node whose ops
// will never report (fenced, restarted) through nodeGone.
type engine struct {
	// id prefixes the transition keys of this controller's ops.
	id   string
	step int
	tr   *transition
	// inflight are the actions of tr dispatched and not yet reported.
	inflight map[int]flight
	// failures counts the consecutive failures of each operation
	// (plan.Action.Key) for the dispatch backoff.
	failures map[string]failure
	// dirty asks for a new plan; recheck is when one is due anyway.
	dirty   bool
	recheck time.Time
}

// transition is the plan being carried out.
type transition struct {
	step int
	p    *plan.Plan
	// done marks actions whose result came in (a failure too: it aborts
	// the transition); sent marks those handed over.
	done, sent map[int]bool
	// aborted stops further dispatches except post notifications: a
	// result or a change made the plan stale. The engine asks for a new
	// plan once nothing sent is in flight.
	aborted bool
}

// flight is an operation dispatched and not yet reported.
type flight struct {
	node string
	// base is the resource's history id without a clone instance number.
	base      string
	recurring bool
}

// failure is an operation's run of consecutive failures.
type failure struct {
	count int
	at    time.Time
}

// Backoff bounds: an operation that failed n times in a row waits
// min(backoffBase*2^(n-1), backoffMax) after its last failure before it
// is dispatched again.
const (
	backoffBase = 500 * time.Millisecond
	backoffMax  = 30 * time.Second
)

func backoff(n int) time.Duration {
	d := backoffBase
	for i := 1; i < n && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

func newEngine(id string) *engine {
	return &engine{id: id, inflight: map[int]flight{}, failures: map[string]failure{}, dirty: true}
}

// changed records an outside change: the transition is stale.
func (e *engine) changed() { e.dirty = true }

// wantPlan reports whether the caller must plan now: something changed
// (or the recheck time came) and no transition runs, or the running one
// is aborted and nothing it sent is still in flight. A complete
// transition is followed by one more plan (empty when all is well).
func (e *engine) wantPlan(now time.Time) bool {
	if !e.recheck.IsZero() && !now.Before(e.recheck) {
		e.dirty = true
	}
	if e.tr != nil && e.dirty {
		e.tr.aborted = true
	}
	if e.tr != nil && e.tr.aborted && (e.oneShotInflight() || e.postPending()) {
		return false // wait for what was sent, and tell what was done
	}
	if e.tr != nil && !e.tr.aborted && plan.Complete(e.tr.p, e.tr.done) {
		e.tr = nil
		e.dirty = true
	}
	return (e.tr == nil || e.tr.aborted) && e.dirty
}

// start makes p (nil or empty: nothing to do) the running transition;
// recheck is when to plan again without a change (zero: never).
func (e *engine) start(p *plan.Plan, recheck time.Time) {
	e.dirty = false
	e.step++
	e.recheck = recheck
	e.tr = nil
	// What is still in flight belongs to the last transition (recurring
	// monitors: a new plan waits for every one-shot op): its results can
	// no longer match an action, so it would count against batch-limit
	// for good.
	clear(e.inflight)
	if !p.Empty() {
		e.tr = &transition{step: e.step, p: p, done: map[int]bool{}, sent: map[int]bool{}}
	}
}

// due returns when the engine must be looked at again although no event
// comes: the recheck time, or the end of the failure backoff that holds
// back an action of the running transition; zero: not before an event.
// Only times after now count (a time passed was acted on already).
func (e *engine) due(now time.Time) time.Time {
	var next time.Time
	earlier := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	earlier(e.recheck)
	if e.tr != nil && len(e.tr.sent) < len(e.tr.p.Actions) {
		for _, f := range e.failures {
			earlier(f.at.Add(backoff(f.count)))
		}
	}
	return next
}

// planFailed records that no plan could be made: try again at retry.
func (e *engine) planFailed(retry time.Time) {
	e.dirty = false
	e.tr = nil
	e.recheck = retry
}

// ready returns the actions to hand over now, in id order: the ready
// actions of the transition not sent yet (of an aborted one only its post
// notifications), except those of held resources (by base history id),
// operations in their failure backoff, and operations beyond limit
// (batch-limit: at most limit operations in flight; 0 or less: no
// limit). Fence actions are included and never held back; the caller
// calls sent for each it hands over. With fencesOnly not nil only the
// fence actions whose target it names are returned (while the
// controller may dispatch nothing else: Controller.control).
func (e *engine) ready(now time.Time, held, fencesOnly map[string]bool, limit int) []*plan.Action {
	if e.tr == nil || len(e.tr.sent) >= len(e.tr.p.Actions) {
		// Nothing left to hand over (a settled cluster's transition is
		// all sent): the idle controller's every turn stops here.
		return nil
	}
	room := len(e.tr.p.Actions)
	if limit > 0 {
		room = limit - e.opsInflight()
	}
	var out []*plan.Action
	for _, a := range plan.Ready(e.tr.p, e.tr.done) {
		if e.tr.sent[a.ID] || (e.tr.aborted && !isPost(a)) {
			continue
		}
		if fencesOnly != nil && (a.Kind != plan.Fence || !fencesOnly[a.Node]) {
			continue
		}
		if a.Kind != plan.Fence {
			if held[baseOf(a.HistoryID)] {
				continue
			}
			if f, ok := e.failures[a.Key()]; ok && now.Sub(f.at) < backoff(f.count) {
				continue
			}
			if room <= 0 {
				continue
			}
			room--
		}
		out = append(out, a)
	}
	return out
}

// opsInflight counts the operations handed over whose first result is
// not in yet (a recurring monitor's first result ends its flight).
func (e *engine) opsInflight() int { return len(e.inflight) }

// sent records that a was handed over (err nil) or that handing it over
// failed: the transition is then aborted, and the caller should hand over
// nothing more this turn (sent returns false).
func (e *engine) sent(a *plan.Action, err error) bool {
	e.tr.sent[a.ID] = true
	if err != nil {
		e.tr.aborted = true
		e.dirty = true
		return false
	}
	if a.Kind != plan.Fence {
		e.inflight[a.ID] = flight{node: a.Node, base: baseOf(a.HistoryID), recurring: a.Interval > 0}
	}
	return true
}

// dispatchFailed records that handing over action id of transition step
// failed after sent took it: it is in flight no more, and the transition
// is aborted.
func (e *engine) dispatchFailed(step, id int) {
	if e.tr != nil && e.tr.step == step {
		delete(e.inflight, id)
		e.tr.aborted = true
	}
	e.dirty = true
}

// key is the transition key of a's op.
func (e *engine) key(a *plan.Action) string {
	return fmt.Sprintf("%s:%d:%d", e.id, e.tr.step, a.ID)
}

// action returns the action of the running transition a transition key
// from node names, or nil.
func (e *engine) action(key, node string) *plan.Action {
	if e.tr == nil || !strings.HasPrefix(key, e.id+":") {
		return nil
	}
	stepS, idS, ok := strings.Cut(key[len(e.id)+1:], ":")
	if !ok {
		return nil
	}
	step, err1 := strconv.Atoi(stepS)
	id, err2 := strconv.Atoi(idS)
	if err1 != nil || err2 != nil || step != e.tr.step {
		return nil
	}
	if a := e.tr.p.Get(id); a != nil && a.Node == node {
		return a
	}
	return nil
}

// outcome is what a result means: whether to write it to the store, and
// what it adds to the operation's fail count.
type outcome struct {
	write        bool
	failCountAdd model.Score
}

// result takes one operation result from node. same says the store holds
// this very result already (a recurring monitor repeating itself);
// startFatal is the start-failure-is-fatal property.
func (e *engine) result(node, rsc string, rec *model.OpRecord, same, startFatal bool, now time.Time) outcome {
	a := e.action(rec.TransitionKey, node)
	if a != nil {
		delete(e.inflight, a.ID)
	}
	if rec.OpStatus == 1 { // cancelled: the op was replaced (a stop ends monitors)
		return outcome{}
	}
	failed := rec.RC != rec.TargetRC || (rec.OpStatus != 0 && rec.OpStatus != -1)
	probe := rec.Operation == plan.Monitor && rec.Interval == 0
	if rec.Operation == plan.Notify || (rec.Interval > 0 && same) {
		// Pacemaker records no notify (a failed one is logged only), nor
		// an unchanged repetition.
		if a != nil {
			e.tr.done[a.ID] = true
		}
		return outcome{}
	}
	out := outcome{write: true}
	key := fmt.Sprintf("%s/%s_%s_%d", node, rsc, rec.Operation, rec.Interval)
	switch {
	case failed:
		if !probe {
			out.failCountAdd = 1
			if rec.Operation == plan.Start && startFatal {
				// Pacemaker's controller: a failed start bans the
				// resource from the node, unless start-failure-is-fatal
				// is false and migration-threshold decides.
				out.failCountAdd = model.Infinity
			}
			f := e.failures[key]
			e.failures[key] = failure{count: f.count + 1, at: now}
		}
		e.dirty = true
		if a != nil {
			e.tr.done[a.ID] = true
		}
	case a != nil:
		delete(e.failures, key)
		e.tr.done[a.ID] = true
	default:
		// A result of no current action (a recurring monitor's change, a
		// predecessor's op): the plan may no longer hold.
		delete(e.failures, key)
		e.dirty = true
	}
	return out
}

// nodeGone drops the ops in flight on node: their results will not come
// (the node was fenced, or its agent started anew). The transition is
// aborted.
func (e *engine) nodeGone(node string) {
	for id, f := range e.inflight {
		if f.node == node {
			delete(e.inflight, id)
		}
	}
	e.dirty = true
}

// oneShotInflight reports whether an op other than a recurring monitor
// is in flight.
func (e *engine) oneShotInflight() bool {
	for _, f := range e.inflight {
		if !f.recurring {
			return true
		}
	}
	return false
}

// isPost reports whether a is a post notification.
func isPost(a *plan.Action) bool { return a.Kind == plan.Notify && a.Meta["notify_type"] == "post" }

// postPending reports whether a post notification of the transition is
// ready and not sent yet.
func (e *engine) postPending() bool {
	for _, a := range plan.Ready(e.tr.p, e.tr.done) {
		if isPost(a) && !e.tr.sent[a.ID] {
			return true
		}
	}
	return false
}

// baseOf returns a resource id without its clone instance number.
func baseOf(id string) string {
	base, _, _ := strings.Cut(id, ":")
	return base
}
