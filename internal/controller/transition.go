package controller

import (
	"context"
	"time"

	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/plan"
	"github.com/paceline/paceline/internal/sched"
	"github.com/paceline/paceline/internal/store"
)

// control is one turn of the loop: liveness, planning when due, dispatch.
// It returns when the next turn is due without an event (zero: none).
func (c *Controller) control(ctx context.Context) time.Time {
	now := c.cfg.Clock.Now()
	lv := c.nodes(ctx, now)
	if c.latest.Load() > c.known {
		c.eng.changed()
	}
	var fencesOnly map[string]bool
	if len(lv.unheard) > 0 {
		// They may be running ops a previous leader asked for.
		if c.cfg.Debug {
			c.cfg.Logf("controller: waiting for the first renewal of %v before dispatching", lv.unheard)
		}
		if len(lv.unclean) == 0 {
			return lv.next
		}
		// Except the fencing of unclean nodes: a lost node that never
		// renews with this controller (the previous leader, a node lost
		// during the election) would otherwise hold everything for ever.
		// A fence starts nothing, so no op a predecessor asked for can
		// run twice because of it; the plan made meanwhile is replaced
		// once every node was heard from.
		fencesOnly = lv.unclean
		c.plannedUnheard = true
	} else if c.plannedUnheard {
		c.plannedUnheard = false
		c.eng.changed()
	}
	if c.eng.wantPlan(now) {
		c.newTransition(ctx, now, lv.quorum)
	}
	c.dispatch(now, lv.held, fencesOnly)
	if at := c.eng.due(now); !at.IsZero() && (lv.next.IsZero() || at.Before(lv.next)) {
		return at
	}
	return lv.next
}

// newTransition plans from the stored state.
func (c *Controller) newTransition(ctx context.Context, now time.Time, quorum bool) {
	c.known = c.index()
	var (
		cfg *model.Config
		st  *model.Status
	)
	var members []store.Member
	c.raft.Read(func(s *store.Store) { cfg, st, members = s.Config(), s.Status(), s.MemberStates() })
	cfg.Properties = model.PlanningProperties(cfg.Properties)
	st.HaveQuorum = quorum
	st.DC = c.cfg.Node
	if st.FeatureSet == "" {
		st.FeatureSet = sched.FeatureSet // the store keeps per-operation fail counts
	}
	for _, f := range expiredFailures(cfg, st, now) {
		// The scheduler ignores it already: the plan below is the same.
		c.cfg.Logf("controller: clearing %s's expired fail count of %s_%d on %s", f.Resource, f.Operation, f.Interval, f.Node)
		c.apply(ctx, store.NewFailCountClear(f))
	}
	cfg, st = c.translateVMs(ctx, cfg, st, now)
	cfg = c.gate(cfg, members)
	res, err := sched.Schedule(sched.Input{Config: cfg, Status: st, Now: now})
	if err != nil {
		c.cfg.Logf("controller: schedule: %v", err)
		c.eng.planFailed(now.Add(time.Second))
		return
	}
	p := plan.Build(plan.Input{Result: res, Config: cfg, Status: st, DefaultTimeout: c.cfg.DefaultTimeout})
	c.eng.start(p, recheckAt(cfg, st, now))
	if c.cfg.Debug {
		for _, a := range p.Actions {
			c.cfg.Logf("controller: plan %d: %d %s %s after=%v %s", c.eng.step, a.ID, a.Key(), a.Agent.Type, a.After, a.Reason)
		}
	}
}

// dispatch hands over what the engine says is ready: ops to their
// nodes, fence actions to the Fencer (without one, a fence action
// completes when its target turns offline); with fencesOnly not nil only
// the fence actions of those targets.
func (c *Controller) dispatch(now time.Time, held, fencesOnly map[string]bool) {
	var limit int
	c.raft.Read(func(s *store.Store) { limit = s.Options().BatchLimit })
	for _, a := range c.eng.ready(now, held, fencesOnly, limit) {
		if a.Kind == plan.Fence {
			if c.cfg.Fencer == nil {
				continue
			}
			c.cfg.Logf("controller: fence %s (%s)", a.Node, a.FenceAction)
			if err := c.cfg.Fencer.Fence(a.Node, a.FenceAction); err != nil {
				// A refusal (too many failed attempts, say) is not retried
				// before the next plan: the node stays unclean and held.
				c.cfg.Logf("controller: fence %s: %v", a.Node, err)
			}
			c.eng.sent(a, nil)
			continue
		}
		key := a.Key()
		c.cfg.Logf("controller: dispatch %s", key)
		err := c.queues.send(queued{node: a.Node, op: c.op(a), step: c.eng.step, id: a.ID})
		if err != nil {
			c.cfg.Logf("controller: dispatch %s: %v", key, err)
			c.holdUnsure(a.Node, a.HistoryID, a.Interval)
		}
		if !c.eng.sent(a, err) {
			return
		}
	}
}

// dispatchFailed takes an op its node's queue could not hand over: the
// node may have taken it all the same (only the reply was lost), so its
// resource is held (Controller.unsure), and the transition is aborted.
func (c *Controller) dispatchFailed(f failedDispatch) {
	c.cfg.Logf("controller: dispatch %s/%s_%s_%d: %v", f.node, f.op.Resource.ID, f.op.Name, f.op.Interval.Milliseconds(), f.err)
	c.holdUnsure(f.node, f.op.Resource.ID, f.op.Interval)
	c.eng.dispatchFailed(f.step, f.id)
}

// holdUnsure holds a one-shot op's resource on node until the node has
// renewed twice (see Controller.unsure).
func (c *Controller) holdUnsure(node, historyID string, interval time.Duration) {
	if interval > 0 {
		return
	}
	base := baseOf(historyID)
	c.lmu.Lock()
	defer c.lmu.Unlock()
	if c.unsure[node] == nil {
		c.unsure[node] = map[string]int{}
	}
	c.unsure[node][base] = 2
}

// op builds the Op for a plan action.
func (c *Controller) op(a *plan.Action) Op {
	return Op{
		Resource: model.ResourceHistory{ID: a.HistoryID, Class: a.Agent.Class, Provider: a.Agent.Provider, Type: a.Agent.Type},
		Name:     a.Kind, Interval: a.Interval, Timeout: a.Timeout,
		Params: a.Params, Meta: a.Meta, TargetRC: a.TargetRC,
		TransitionKey: c.eng.key(a),
		Term:          c.term, Controller: c.id,
		Index: c.raft.Applied(),
	}
}

// record writes a result to the store (unless nothing changed, as for a
// recurring monitor repeating itself) and tells the engine.
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
	same := rec.Interval > 0 && c.sameAsStored(r.node, r.rh.ID, &rec)
	fatal := rec.Operation == plan.Start && c.startFailureIsFatal()
	out := c.eng.result(r.node, r.rh.ID, &rec, same, fatal, c.cfg.Clock.Now())
	failed := rec.RC != rec.TargetRC || (rec.OpStatus != 0 && rec.OpStatus != -1)
	if rec.Operation == plan.Notify && failed {
		c.cfg.Logf("controller: %s %s notify failed: rc=%d status=%d", r.node, r.rh.ID, rec.RC, rec.OpStatus)
	}
	if !out.write {
		return
	}
	c.cfg.Logf("controller: %s/%s_%s_%d rc=%d status=%d failed=%v", r.node, r.rh.ID, rec.Operation, rec.Interval, rec.RC, rec.OpStatus, out.failCountAdd != 0)
	res := store.OpResult{Node: r.node, Resource: model.ResourceHistory{ID: r.rh.ID, Class: r.rh.Class, Provider: r.rh.Provider, Type: r.rh.Type}, Op: rec, FailCountAdd: out.failCountAdd}
	c.apply(ctx, store.NewOpResult(res))
}

// startFailureIsFatal reads the start-failure-is-fatal property (default
// true).
func (c *Controller) startFailureIsFatal() (fatal bool) {
	c.raft.Read(func(s *store.Store) { fatal = s.Options().StartFailureIsFatal })
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
	if r.Changed && !r.Quiet && c.known == before {
		// A quiet change does not move the change index.
		c.known = before + 1
	}
}
