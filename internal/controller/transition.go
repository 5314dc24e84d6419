package controller

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/plan"
	"github.com/paceline/paceline/internal/sched"
	"github.com/paceline/paceline/internal/store"
)

// transition is the plan being carried out.
type transition struct {
	step int
	p    *plan.Plan
	// done marks actions whose expected result came in (or that need no
	// result: a notify's failure is not the resource's); sent marks
	// those dispatched.
	done, sent map[int]bool
	// aborted stops further dispatches: a result or a change made the
	// plan stale. The controller plans afresh once nothing sent is in
	// flight.
	aborted bool
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

// control is one turn of the loop: liveness, planning when due, dispatch.
func (c *Controller) control(ctx context.Context) {
	now := c.cfg.Clock.Now()
	lv := c.nodes(ctx, now)
	if c.latest.Load() > c.known {
		c.dirty = true
	}
	if !c.recheck.IsZero() && !now.Before(c.recheck) {
		c.dirty = true
	}
	if len(lv.unheard) > 0 {
		// They may be running ops a previous leader asked for.
		if c.cfg.Debug {
			c.cfg.Logf("controller: waiting for the first renewal of %v before dispatching", lv.unheard)
		}
		return
	}
	if c.tr != nil && c.dirty {
		c.tr.aborted = true
	}
	if c.tr != nil && c.tr.aborted {
		// An aborted transition still tells the clone instances what was
		// done (its post notifications whose operations ran), then waits
		// for what was sent before planning again.
		c.dispatch(now, lv.held)
		if c.oneShotInflight() || c.postPending() {
			return
		}
	}
	if c.tr != nil && !c.tr.aborted && plan.Complete(c.tr.p, c.tr.done) {
		c.tr = nil
		c.dirty = true // one more plan: it is empty when all is well
	}
	if c.tr == nil || c.tr.aborted {
		if !c.dirty {
			return
		}
		c.newTransition(now, lv.quorum)
	}
	if c.tr != nil {
		c.dispatch(now, lv.held)
	}
}

// oneShotInflight reports whether an op other than a recurring monitor
// is in flight.
func (c *Controller) oneShotInflight() bool {
	for _, f := range c.inflight {
		if !f.recurring {
			return true
		}
	}
	return false
}

// newTransition plans from the stored state.
func (c *Controller) newTransition(now time.Time, quorum bool) {
	c.dirty = false
	c.known = c.index()
	var (
		cfg *model.Config
		st  *model.Status
	)
	c.raft.Read(func(s *store.Store) { cfg, st = s.Config(), s.Status() })
	if !isFalse(cfg.Properties["stonith-enabled"]) {
		// Self-fencing on lease expiry is watchdog fencing (Pacemaker's
		// have-watchdog): the scheduler may rely on it, and the fence
		// actions it plans complete when the node turns offline.
		cfg.Properties = maps.Clone(cfg.Properties)
		if cfg.Properties == nil {
			cfg.Properties = map[string]string{}
		}
		cfg.Properties["have-watchdog"] = "true"
	}
	st.HaveQuorum = quorum
	st.DC = c.cfg.Node
	if st.FeatureSet == "" {
		st.FeatureSet = sched.FeatureSet // the store keeps per-operation fail counts
	}
	res, err := sched.Schedule(sched.Input{Config: cfg, Status: st, Now: now})
	if err != nil {
		c.cfg.Logf("controller: schedule: %v", err)
		c.tr = nil
		c.recheck = now.Add(time.Second)
		return
	}
	c.step++
	p := plan.Build(plan.Input{Result: res, Config: cfg, Status: st, DefaultTimeout: c.cfg.DefaultTimeout})
	c.tr = &transition{step: c.step, p: p, done: map[int]bool{}, sent: map[int]bool{}}
	c.recheck = recheckAt(cfg, st, now)
	if c.cfg.Debug {
		for _, a := range p.Actions {
			c.cfg.Logf("controller: plan %d: %d %s %s after=%v %s", c.step, a.ID, a.Key(), a.Agent.Type, a.After, a.Reason)
		}
	}
	if p.Empty() {
		c.tr = nil
	}
}

// dispatch sends the ready actions of the transition, except for held
// resources and operations in their failure backoff.
func (c *Controller) dispatch(now time.Time, held map[string]bool) {
	t := c.tr
	for _, a := range plan.Ready(t.p, t.done) {
		if t.sent[a.ID] || (t.aborted && !isPost(a)) {
			continue
		}
		if a.Kind == plan.Fence {
			if c.cfg.Fencer == nil {
				continue // completes when the node turns offline
			}
			c.cfg.Logf("controller: fence %s (%s)", a.Node, a.FenceAction)
			if err := c.cfg.Fencer.Fence(a.Node, a.FenceAction); err != nil {
				c.cfg.Logf("controller: fence %s: %v", a.Node, err)
				continue
			}
			t.sent[a.ID] = true
			continue
		}
		base := baseOf(a.HistoryID)
		if held[base] {
			continue
		}
		key := a.Key()
		if f, ok := c.failures[key]; ok && now.Sub(f.at) < backoff(f.count) {
			continue
		}
		op := c.op(a, t.step)
		c.cfg.Logf("controller: dispatch %s", key)
		t.sent[a.ID] = true
		if err := c.cfg.Dispatcher.Dispatch(a.Node, op); err != nil {
			c.cfg.Logf("controller: dispatch %s: %v", key, err)
			if a.Interval == 0 {
				c.lmu.Lock()
				if c.unsure[a.Node] == nil {
					c.unsure[a.Node] = map[string]int{}
				}
				c.unsure[a.Node][base] = 2
				c.lmu.Unlock()
				held[base] = true
			}
			t.aborted = true
			c.dirty = true
			return
		}
		c.inflight[a.ID] = flight{node: a.Node, base: base, recurring: a.Interval > 0}
	}
}

// isPost reports whether a is a post notification.
func isPost(a *plan.Action) bool { return a.Kind == plan.Notify && a.Meta["notify_type"] == "post" }

// postPending reports whether a post notification of the transition is
// ready and not sent yet.
func (c *Controller) postPending() bool {
	for _, a := range plan.Ready(c.tr.p, c.tr.done) {
		if isPost(a) && !c.tr.sent[a.ID] {
			return true
		}
	}
	return false
}

// op builds the Op for a plan action.
func (c *Controller) op(a *plan.Action, step int) Op {
	return Op{
		Resource: model.ResourceHistory{ID: a.HistoryID, Class: a.Agent.Class, Provider: a.Agent.Provider, Type: a.Agent.Type},
		Name:     a.Kind, Interval: a.Interval, Timeout: a.Timeout,
		Params: a.Params, Meta: a.Meta, TargetRC: a.TargetRC,
		TransitionKey: fmt.Sprintf("%s:%d:%d", c.id, step, a.ID),
		Term:          c.term, Controller: c.id,
	}
}

// action returns the action of the current transition a transition key
// names, or nil.
func (c *Controller) action(key string) *plan.Action {
	if c.tr == nil || !strings.HasPrefix(key, c.id+":") {
		return nil
	}
	stepS, idS, ok := strings.Cut(key[len(c.id)+1:], ":")
	if !ok {
		return nil
	}
	step, err1 := strconv.Atoi(stepS)
	id, err2 := strconv.Atoi(idS)
	if err1 != nil || err2 != nil || step != c.tr.step {
		return nil
	}
	return c.tr.p.Get(id)
}

// record writes a result to the store (unless nothing changed, as for a
// recurring monitor repeating itself) and updates the transition.
func (c *Controller) record(ctx context.Context, r report) {
	if c.stale(r.node, r.boot) {
		c.cfg.Logf("controller: dropped a stale %s %s result from %s (offline, or an earlier agent: boot %s)", r.rh.ID, r.rec.Operation, r.node, r.boot)
		return
	}
	rec := r.rec
	if rec.FeatureSet == "" {
		rec.FeatureSet = sched.FeatureSet
	}
	if rec.TransitionKey != "" {
		c.reported[rec.TransitionKey] = time.Now()
	}
	a := c.action(rec.TransitionKey)
	if a != nil && a.Node != r.node {
		a = nil
	}
	if a != nil {
		delete(c.inflight, a.ID)
	}
	if rec.OpStatus == 1 { // cancelled: the op was replaced (a stop ends monitors)
		return
	}
	failed := rec.RC != rec.TargetRC || (rec.OpStatus != 0 && rec.OpStatus != -1)
	probe := rec.Operation == "monitor" && rec.Interval == 0
	if rec.Operation == plan.Notify {
		// Pacemaker records no notify; a failed one is logged only.
		if failed {
			c.cfg.Logf("controller: %s %s notify failed: rc=%d status=%d", r.node, r.rh.ID, rec.RC, rec.OpStatus)
		}
		if a != nil {
			c.tr.done[a.ID] = true
		}
		return
	}
	if rec.Interval > 0 && c.sameAsStored(r.node, r.rh.ID, &rec) {
		if a != nil {
			c.tr.done[a.ID] = true
		}
		return
	}
	res := store.OpResult{Node: r.node, Resource: model.ResourceHistory{ID: r.rh.ID, Class: r.rh.Class, Provider: r.rh.Provider, Type: r.rh.Type}, Op: rec}
	if failed && !probe {
		res.FailCountAdd = 1
		if rec.Operation == "start" && c.startFailureIsFatal() {
			// Pacemaker's controller: a failed start bans the resource
			// from the node (fail count INFINITY), unless
			// start-failure-is-fatal=false lets migration-threshold
			// decide.
			res.FailCountAdd = model.Infinity
		}
	}
	key := fmt.Sprintf("%s/%s_%s_%d", r.node, r.rh.ID, rec.Operation, rec.Interval)
	c.cfg.Logf("controller: %s rc=%d status=%d failed=%v", key, rec.RC, rec.OpStatus, failed && !probe)
	c.apply(ctx, store.NewOpResult(res))
	switch {
	case failed:
		if !probe {
			f := c.failures[key]
			c.failures[key] = failure{count: f.count + 1, at: c.cfg.Clock.Now()}
		}
		c.dirty = true
		if a != nil {
			c.tr.done[a.ID] = true
		}
	case a != nil:
		delete(c.failures, key)
		c.tr.done[a.ID] = true
	default:
		// A result of no current action (a recurring monitor's change, a
		// predecessor's op): the plan may no longer hold.
		delete(c.failures, key)
		c.dirty = true
	}
}

// startFailureIsFatal reads the start-failure-is-fatal property (default
// true).
func (c *Controller) startFailureIsFatal() (fatal bool) {
	c.raft.Read(func(s *store.Store) { fatal = !isFalse(s.Property("start-failure-is-fatal")) })
	return fatal
}

// sameAsStored reports whether the store already holds this recurring
// op's result: the same call (a repetition) with the same rc and status.
func (c *Controller) sameAsStored(node, rsc string, rec *model.OpRecord) (same bool) {
	c.raft.Read(func(s *store.Store) {
		op, ok := s.OpRecord(node, rsc, rec.Operation, rec.Interval)
		// A repetition keeps its call id; a new request of the same
		// monitor (re-dispatched) must be recorded, or the controller
		// would keep seeing no current monitor.
		same = ok && op.CallID == rec.CallID && op.RC == rec.RC && op.OpStatus == rec.OpStatus
	})
	return same
}

// apply writes a command; its own change does not count as an outside
// change (Controller.known).
func (c *Controller) apply(ctx context.Context, cmd store.Command) {
	before := c.index()
	r, err := c.raft.Apply(ctx, cmd)
	if err == nil {
		err = r.Err
	}
	if err != nil {
		c.cfg.Logf("controller: apply %s: %v", cmd.Type, err)
		return
	}
	if r.Changed && c.known == before {
		c.known = before + 1
	}
}

// baseOf returns a resource id without its clone instance number.
func baseOf(id string) string {
	base, _, _ := strings.Cut(id, ":")
	return base
}

func isFalse(v string) bool {
	switch strings.ToLower(v) {
	case "false", "no", "off", "0", "n":
		return true
	}
	return false
}
