// Package controller is Paceline's DC: it runs on the Raft leader only and
// drives the cluster towards what the scheduler plans.
//
// # Model
//
// One goroutine (Run) owns every piece of the controller's state: the
// leader's lease table (package membership) and the set of operations in
// flight. On every tick, every heartbeat that changes a node's liveness,
// every operation result and every Kick it
//
//  1. updates node liveness in the store from the leases: a node whose
//     lease expired becomes unclean; once it is recoverable (lease TTL plus
//     the self-fence deadline, or the expiry alone with
//     stonith-enabled=false) it becomes offline and its operation history
//     is forgotten, since it has stopped everything it ran;
//  2. builds sched.Input from the stored configuration and status, with
//     HaveQuorum from the voters' leases and DC set to itself;
//  3. calls sched.Schedule and dispatches every runnable, non-optional,
//     non-pseudo action whose predecessors are done (pseudo actions are
//     done when theirs are; real actions still in the plan are not) and
//     for whose resource nothing an earlier plan asked for is in flight,
//     on any node (that plan saw a state this one does not yet: a start
//     in flight is not in the store);
//  4. records each result with an op.result command (a failure counts
//     one towards the fail count, except for probes), and plans again.
//
// The controller keeps no plan between steps: every step plans afresh from
// the stored state, so an unexpected result simply changes the next plan,
// and a new leader resumes from the stored state. A new leader first
// waits one full lease TTL before it declares any node lost
// (membership.NewLeases). What the store cannot know is an op its
// predecessor asked for and no one has recorded yet: nodes list such ops
// in their renewals (Renewal.Busy) and keep their results until a leader
// takes them; a new leader dispatches nothing before every online node
// has renewed with it, and leaves the resources those ops work on alone
// until they are reported. Ops carry the leader's Raft term, and a node
// refuses one from an older term than its own.
//
// # Caller's duties
//
// The caller starts a Controller when its node becomes the Raft leader
// (consensus.Node.LeaderCh) and stops it when it stops being the leader;
// it forwards node heartbeats (Heartbeat) and operation results (Report).
package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paceline/paceline/internal/clock"
	"github.com/paceline/paceline/internal/membership"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/sched"
	"github.com/paceline/paceline/internal/store"
)

// LapsedInMaintenance is the node attribute the controller sets on a node
// whose lease lapsed while it (or the cluster) was in maintenance: its
// agent may have left its resources running, unmanaged, so the node is
// never recovered by waiting, also once maintenance ends, until its agent
// is back (its resources are then probed and adopted).
const LapsedInMaintenance = "lapsed-in-maintenance"

// Errors of the controller.
var (
	ErrInvalidConfig = errors.New("controller: invalid config")
	ErrStopped       = errors.New("controller: stopped")
	// ErrStale refuses a renewal from an agent process older than the
	// newest the node has run (Renewal.Boot).
	ErrStale = errors.New("controller: stale")
)

// Raft is what the controller needs of the consensus layer
// (*consensus.Node implements it). Apply and Barrier block until the
// command commits or fails; Read's fn runs under a read lock and must not
// keep the store.
type Raft interface {
	Apply(ctx context.Context, cmd store.Command) (store.Result, error)
	Barrier(ctx context.Context) error
	Read(fn func(*store.Store))
	// IsLeader reports whether this node is the Raft leader now: a
	// controller whose node has stepped down grants no more leases.
	IsLeader() bool
	// Term is this node's current Raft term; the controller stamps its
	// ops with the term it leads in (Op.Term).
	Term() uint64
}

// Op is one operation the controller asks a node to perform.
type Op struct {
	// Resource names the resource and its agent.
	Resource model.ResourceHistory
	// Name is the action (start, stop, monitor, ...).
	Name string
	// Interval makes a monitor recurring; zero for everything else.
	Interval time.Duration
	// Timeout bounds each execution.
	Timeout time.Duration
	// Params are the resource's instance parameters.
	Params map[string]string
	// TargetRC is the exit code the operation is expected to return.
	TargetRC int
	// TransitionKey identifies the step that asked for the operation.
	TransitionKey string
	// Term is the Raft term of the leader that asks for the op. A node
	// refuses an op from a term older than its own: a leader elected
	// since may already have planned without it.
	Term uint64
	// Controller identifies the controller that asks (see Busy).
	Controller string
}

// Busy is an operation a node has accepted and not yet reported to a
// leader: queued, running, or its result still on the way.
type Busy struct {
	Resource string `json:"resource"`
	// Controller is the controller that asked for it (Op.Controller);
	// empty for one the node started itself (a self-fence stop).
	Controller string `json:"controller,omitempty"`
	// Key is the op's Op.TransitionKey.
	Key string `json:"key,omitempty"`
}

// Dispatcher delivers operations to node executors. Dispatch is called
// from the controller's goroutine and must not block for long: it hands
// the op over and returns; the result comes back through
// Controller.Report. An error means the op was not handed over.
type Dispatcher interface {
	Dispatch(node string, op Op) error
}

// Clock is the leader's monotonic clock (clock.Real, or *clock.Fake in
// tests).
type Clock interface {
	Now() time.Time
}

var (
	_ Clock = clock.Real{}
	_ Clock = (*clock.Fake)(nil)
)

// Config configures a Controller.
type Config struct {
	// Node is the leader's own node name (the DC). Required.
	Node string
	// Leases are the lease timings. Default membership.DefaultConfig().
	Leases membership.Config
	// Tick is how often the controller plans when nothing else wakes it
	// (real time). Default 100 ms.
	Tick time.Duration
	// DefaultTimeout is an op's timeout when the configuration gives
	// none. Default 20 s.
	DefaultTimeout time.Duration
	// Clock is the lease and scheduler clock. Default clock.Real{}.
	Clock Clock
	// Dispatcher delivers ops. Required.
	Dispatcher Dispatcher
	// Logf, when set, receives one line per decision.
	Logf func(format string, args ...any)
	// Debug also logs every planned action.
	Debug bool
}

func (c *Config) setDefaults() {
	if c.Leases == (membership.Config{}) {
		c.Leases = membership.DefaultConfig()
	}
	if c.Tick == 0 {
		c.Tick = 100 * time.Millisecond
	}
	if c.DefaultTimeout == 0 {
		c.DefaultTimeout = 20 * time.Second
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.Node == "" {
		errs = append(errs, fmt.Errorf("%w: node name is empty", ErrInvalidConfig))
	}
	if c.Dispatcher == nil {
		errs = append(errs, fmt.Errorf("%w: dispatcher is nil", ErrInvalidConfig))
	}
	if c.Tick < 0 || c.DefaultTimeout < 0 {
		errs = append(errs, fmt.Errorf("%w: tick and default timeout must not be negative", ErrInvalidConfig))
	}
	if c.Leases != (membership.Config{}) {
		if err := c.Leases.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

type report struct {
	node, boot string
	rh         model.ResourceHistory
	rec        model.OpRecord
}

// Controller is the leader's controller. Its exported methods are safe for
// concurrent use; its state belongs to the Run goroutine.
type Controller struct {
	cfg  Config
	raft Raft
	// lmu guards leases, boots, busy and unsure: heartbeats renew leases
	// from the callers' goroutines, plan reads them.
	lmu    sync.Mutex
	leases *membership.Leases
	boots  map[string]string // node -> agent boot of its last renewal
	// left holds the agent boot of each node that left cleanly
	// (Renewal.Leaving): a renewal of that boot sent before it left and
	// delivered after must not grant it a lease again.
	left map[string]string
	// busy holds what each node that renewed with this controller last
	// said it was busy with (Renewal.Busy); a node without an entry has
	// not renewed since the controller started (or since it went offline).
	busy map[string][]Busy
	// unsure holds, by node, the resources of one-shot ops whose dispatch
	// failed: the node may have taken the op all the same (only the reply
	// was lost). Such a resource is held until the node has renewed twice
	// since (a renewal lists what the node took; the first may have been
	// composed before the op arrived), or until the node is offline.
	unsure map[string]map[string]int
	// id identifies this controller in its ops (Op.Controller); term is
	// the Raft term it leads in. Set by Run before the first plan.
	id   string
	term uint64

	reports chan report
	kick    chan struct{}
	done    chan struct{}

	// Owned by Run.
	inflight map[string]flight // "node/resource" -> the op in flight there
	step     int
	// reported are the transition keys of results received lately: a
	// node's renewal may still list such an op as busy.
	reported map[string]time.Time
}

// flight is an operation dispatched and not yet reported.
type flight struct {
	key string // opKey
	// base is the resource's id without a clone instance number: the
	// instances of one clone may be numbered differently by the next plan.
	base      string
	recurring bool
}

// New returns a controller; Run starts it.
func New(cfg Config, r Raft) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &Controller{
		cfg: cfg, raft: r,
		reports:  make(chan report, 1024),
		kick:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		inflight: map[string]flight{},
		reported: map[string]time.Time{},
		boots:    map[string]string{},
		left:     map[string]string{},
		busy:     map[string][]Busy{},
		unsure:   map[string]map[string]int{},
	}, nil
}

// Run waits until every committed entry is applied (Barrier), then
// controls the cluster until ctx ends. It returns ctx's error, or the
// Barrier's.
func (c *Controller) Run(ctx context.Context) error {
	defer close(c.done)
	began := time.Now()
	if err := c.raft.Barrier(ctx); err != nil {
		return fmt.Errorf("controller: barrier: %w", err)
	}
	c.term = c.raft.Term()
	c.id = fmt.Sprintf("%s/%d/%x", c.cfg.Node, c.term, time.Now().UnixNano())
	c.cfg.Logf("controller: caught up with the log in %v (term %d)", time.Since(began).Round(time.Millisecond), c.term)
	leases := membership.NewLeases(c.cfg.Leases, c.cfg.Clock.Now())
	// Nodes guarded by a watchdog (as the previous leader recorded them)
	// are recovered at their lease expiry, also if they never renew here.
	c.raft.Read(func(s *store.Store) {
		for _, m := range s.Members() {
			leases.Guard(m.Name, time.Duration(m.Lease.Watchdog)*time.Millisecond)
		}
	})
	c.lmu.Lock()
	c.leases = leases
	c.lmu.Unlock()
	t := time.NewTicker(c.cfg.Tick)
	defer t.Stop()
	for {
		// Take every queued result before planning: a node that said it
		// is no longer busy has handed its results over before.
		for more := true; more; {
			select {
			case r := <-c.reports:
				c.record(ctx, r)
			default:
				more = false
			}
		}
		c.plan(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r := <-c.reports:
			c.record(ctx, r)
		case <-c.kick:
		case <-t.C:
		}
	}
}

// Renewal is one heartbeat of a node.
type Renewal struct {
	// Node is the renewing node.
	Node string
	// Boot identifies the node's agent process: its start time as 16 hex
	// digits of Unix nanoseconds, "-", a random part. Boots of one node
	// order by start: a renewal or report from an older boot than the
	// newest seen is stale (sent by a process that has since died,
	// delivered late, say by a TCP retransmission once a partition
	// healed) and refused.
	Boot string
	// Watchdog is the timeout of the watchdog the node feeds only while
	// its lease is valid (0: none; membership.Leases.Guard).
	Watchdog time.Duration
	// Busy lists the node's operations not yet reported (one-shot ones;
	// recurring monitors change nothing). A new leader does not know
	// what its predecessor asked for: until the node reports those ops
	// done, it leaves their resources alone, and it dispatches nothing
	// before every online node has renewed with it once.
	Busy []Busy
	// Leaving is a node's last renewal after a clean shutdown (a drain):
	// its executor runs nothing any more and every result was delivered.
	// The node's lease ends at once and it turns offline without waiting
	// for the lease to expire (Pacemaker's clean leave: nothing to fence).
	Leaving bool
}

// Heartbeat renews the node's lease and returns its expiry on the
// leader's clock. It never waits for the controller's loop (a slow plan
// must not starve renewals); it fails with ErrStopped before Run has taken
// over (Barrier) and once Run has returned.
func (c *Controller) Heartbeat(ctx context.Context, r Renewal) (time.Time, error) {
	select {
	case <-c.done:
		return time.Time{}, ErrStopped
	default:
	}
	// A leader that stepped down (it lost its quorum) must not extend
	// anyone's lease, even before its controller is stopped: a successor
	// counts leases only from its own election.
	if !c.raft.IsLeader() {
		return time.Time{}, ErrStopped
	}
	c.lmu.Lock()
	defer c.lmu.Unlock()
	if c.leases == nil {
		return time.Time{}, ErrStopped
	}
	if r.Boot != "" {
		if cur := c.boots[r.Node]; r.Boot < cur {
			return time.Time{}, fmt.Errorf("%w: a renewal from %s's earlier agent (boot %s, now %s)", ErrStale, r.Node, r.Boot, cur)
		}
		c.boots[r.Node] = r.Boot
		if c.left[r.Node] == r.Boot && !r.Leaving {
			return time.Time{}, fmt.Errorf("%w: a renewal from %s's agent that has left (boot %s)", ErrStale, r.Node, r.Boot)
		}
	}
	if r.Leaving {
		if len(r.Busy) > 0 {
			return time.Time{}, fmt.Errorf("controller: %s leaves with %d operations not reported", r.Node, len(r.Busy))
		}
		// Its lease is dropped: plan sees it recoverable and offline.
		c.leases.Forget(r.Node)
		c.left[r.Node] = r.Boot
		c.leases.Guard(r.Node, 0)
		delete(c.busy, r.Node)
		c.cfg.Logf("controller: %s left cleanly (drained)", r.Node)
		c.Kick()
		return c.cfg.Clock.Now(), nil
	}
	c.leases.Guard(r.Node, r.Watchdog)
	c.busy[r.Node] = slices.Clone(r.Busy)
	for base, left := range c.unsure[r.Node] {
		if left <= 1 {
			delete(c.unsure[r.Node], base)
		} else {
			c.unsure[r.Node][base] = left - 1
		}
	}
	return c.leases.Renew(r.Node, c.cfg.Clock.Now()), nil
}

// stale reports whether a report from node's agent boot is stale: the
// node is offline (its history was cleared when it turned offline; a
// result still arriving was sent before, delivered late, say by a TCP
// retransmission once a partition healed), or it comes from an earlier
// agent process than the node's last renewal.
func (c *Controller) stale(node, boot string) bool {
	offline := false
	c.raft.Read(func(s *store.Store) {
		m, ok := s.Member(node)
		offline = ok && m.State == store.StateOffline
	})
	if offline {
		return true
	}
	c.lmu.Lock()
	defer c.lmu.Unlock()
	return boot != "" && boot < c.boots[node]
}

// Report hands over the result of an op on node, run by the node's agent
// boot (Renewal.Boot; "" if unknown). It does not block; it fails with
// ErrStopped once Run has returned.
func (c *Controller) Report(node, boot string, rh model.ResourceHistory, rec model.OpRecord) error {
	select {
	case <-c.done:
		return ErrStopped
	default:
	}
	select {
	case c.reports <- report{node: node, boot: boot, rh: rh, rec: rec}:
		return nil
	case <-c.done:
		return ErrStopped
	}
}

// Kick asks for a new plan now (after a configuration change, say).
func (c *Controller) Kick() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Done is closed when Run has returned.
func (c *Controller) Done() <-chan struct{} { return c.done }

func opKey(node, rsc, task string, intervalMS int64) string {
	return fmt.Sprintf("%s/%s_%s_%d", node, rsc, task, intervalMS)
}

// record writes a result to the store (unless nothing changed, as for a
// recurring monitor repeating itself).
func (c *Controller) record(ctx context.Context, r report) {
	if c.stale(r.node, r.boot) {
		c.cfg.Logf("controller: dropped a stale %s %s result from %s (offline, or an earlier agent: boot %s)", r.rh.ID, r.rec.Operation, r.node, r.boot)
		return
	}
	rec := r.rec
	if rec.FeatureSet == "" {
		rec.FeatureSet = sched.FeatureSet
	}
	key := opKey(r.node, r.rh.ID, rec.Operation, rec.Interval)
	if rec.TransitionKey != "" {
		c.reported[rec.TransitionKey] = time.Now()
	}
	if c.inflight[r.node+"/"+r.rh.ID].key == key {
		delete(c.inflight, r.node+"/"+r.rh.ID)
	}
	if rec.OpStatus == 1 { // cancelled: the op was replaced (a stop ends monitors)
		return
	}
	if rec.Interval > 0 && c.sameAsStored(r.node, r.rh.ID, &rec) {
		return
	}
	failed := rec.RC != rec.TargetRC || (rec.OpStatus != 0 && rec.OpStatus != -1)
	res := store.OpResult{Node: r.node, Resource: model.ResourceHistory{ID: r.rh.ID, Class: r.rh.Class, Provider: r.rh.Provider, Type: r.rh.Type}, Op: rec}
	probe := rec.Operation == "monitor" && rec.Interval == 0
	if failed && !probe {
		res.FailCountAdd = 1
	}
	c.cfg.Logf("controller: %s %s_%s_%d rc=%d status=%d failed=%v", r.node, r.rh.ID, rec.Operation, rec.Interval, rec.RC, rec.OpStatus, failed && !probe)
	if _, err := c.raft.Apply(ctx, store.NewOpResult(res)); err != nil {
		c.cfg.Logf("controller: record %s: %v", key, err)
	}
}

// sameAsStored reports whether the store already holds this recurring
// op's result: the same call (a repetition) with the same rc and status.
func (c *Controller) sameAsStored(node, rsc string, rec *model.OpRecord) (same bool) {
	c.raft.Read(func(s *store.Store) {
		m, ok := s.Member(node)
		if !ok {
			return
		}
		for _, rh := range m.Resources {
			if rh.ID != rsc {
				continue
			}
			for _, op := range rh.Ops {
				if op.Operation == rec.Operation && op.Interval == rec.Interval {
					// A repetition keeps its call id; a new request of the
					// same monitor (re-dispatched) must be recorded, or the
					// controller would keep seeing no current monitor.
					same = op.CallID == rec.CallID && op.RC == rec.RC && op.OpStatus == rec.OpStatus
				}
			}
		}
	})
	return same
}

// plan is one step: liveness, schedule, dispatch.
func (c *Controller) plan(ctx context.Context) {
	now := c.cfg.Clock.Now()
	type leaseView struct {
		lv      membership.Liveness
		guard   int64
		granted time.Time
	}
	var (
		members []store.Member
		cfg     *model.Config
		st      *model.Status
	)
	c.raft.Read(func(s *store.Store) { members, cfg, st = s.Members(), s.Config(), s.Status() })
	stonith := !isFalse(cfg.Properties["stonith-enabled"])
	renewed := map[string]bool{}
	views := map[string]leaseView{}
	heard := map[string]bool{}
	var busy []Busy
	c.lmu.Lock()
	for n, bs := range c.busy {
		heard[n] = true
		busy = append(busy, bs...)
	}
	unsure := map[string]bool{}
	for _, bases := range c.unsure {
		for base := range bases {
			unsure[base] = true
		}
	}
	boots := maps.Clone(c.boots)
	c.leases.Renew(c.cfg.Node, now) // the leader is alive by definition
	for _, n := range c.leases.Nodes() {
		renewed[n] = true
	}
	for _, m := range members {
		views[m.Name] = leaseView{lv: c.leases.Liveness(m.Name, now, stonith), guard: c.leases.Guarded(m.Name).Milliseconds(), granted: c.leases.Granted(m.Name)}
	}
	c.lmu.Unlock()
	// A node whose agent started anew (a boot other than the stored one)
	// keeps no op of the old agent: its history is cleared, and the
	// scheduler probes its resources again before it acts on them.
	reread := false
	for _, m := range members {
		if b := boots[m.Name]; b != "" && b > m.Boot {
			if m.Boot != "" {
				c.cfg.Logf("controller: %s's agent started anew (boot %s, was %s): its operation history is cleared, its resources are probed again", m.Name, b, m.Boot)
			}
			c.apply(ctx, store.NewNodeBoot(m.Name, b))
			if _, ok := m.Attributes[LapsedInMaintenance]; ok {
				// Its resources are probed again: what still runs there
				// is found and adopted.
				c.apply(ctx, store.NewNodeAttrDelete(m.Name, LapsedInMaintenance))
			}
			c.forgetInflight(m.Name)
			reread = true
		}
	}
	if reread {
		c.raft.Read(func(s *store.Store) { members, cfg, st = s.Members(), s.Config(), s.Status() })
	}
	// A node in maintenance (or the whole cluster) may have left with its
	// resources running, unmanaged (a drain leaves them): its lease
	// lapsing proves nothing stopped there, so it is never recovered by
	// waiting; it stays unclean until it comes back (and its resources are
	// probed and adopted) or is confirmed down.
	maintenance := map[string]bool{}
	allMaint := isTrue(cfg.Properties["maintenance-mode"])
	for _, ns := range st.Nodes {
		_, lapsed := ns.Attributes[LapsedInMaintenance]
		maintenance[ns.Name] = allMaint || isTrue(ns.Attributes["maintenance"]) || lapsed
	}
	for _, m := range members {
		if lv := views[m.Name].lv; lv != membership.Alive && maintenance[m.Name] && m.State != store.StateOffline {
			if _, ok := m.Attributes[LapsedInMaintenance]; !ok {
				// Remembered in the store, so that taking the node (or the
				// cluster) out of maintenance while it is away, or a new
				// leader, does not recover what may still run there.
				c.cfg.Logf("controller: %s lost its lease while in maintenance: its resources are held until it is back", m.Name)
				c.apply(ctx, store.NewNodeAttrSet(m.Name, map[string]string{LapsedInMaintenance: "true"}))
			}
		}
	}
	voters, alive := 0, 0
	changed := false
	var unheard []string // live or unfenced nodes that have not renewed with us yet
	for _, m := range members {
		lv := views[m.Name].lv
		want := m.State
		switch {
		case lv == membership.Alive && renewed[m.Name]:
			want = store.StateOnline
		case lv == membership.Expired && m.State == store.StateOnline && stonith:
			// With stonith disabled the scheduler would take an unclean
			// node's resources as stopped and recover them at once: the
			// node stays online until it is recoverable.
			want = store.StateUnclean
		case lv == membership.Recoverable && maintenance[m.Name] && m.State == store.StateOnline && stonith:
			want = store.StateUnclean
		case lv == membership.Recoverable && m.State != store.StateOffline && !maintenance[m.Name]:
			want = store.StateOffline
		}
		if m.Role.Voter() {
			voters++
			if lv == membership.Alive && (renewed[m.Name] || m.State == store.StateOnline) {
				alive++
			}
		}
		// A node that has not renewed with this controller may run ops
		// its predecessor asked for (one it ran itself, if it led): until
		// it has renewed, or is fenced (offline), nothing is dispatched.
		// Its lease expiring changes nothing: a start in flight there is
		// in no store, so the resource would look stopped on it.
		if (want == store.StateOnline || want == store.StateUnclean) && !heard[m.Name] {
			unheard = append(unheard, m.Name)
		}
		guard := views[m.Name].guard
		if want == m.State && (guard == m.Lease.Watchdog || !renewed[m.Name]) {
			continue
		}
		if want != m.State {
			c.cfg.Logf("controller: node %s %s -> %s (%v)", m.Name, m.State, want, lv)
		}
		if want == store.StateOffline {
			// Fencing is confirmed: the node stopped everything it ran.
			for _, rh := range m.Resources {
				c.apply(ctx, store.NewFailCountClear(store.FailCountClear{Node: m.Name, Resource: rh.ID, History: true}))
			}
			c.forgetInflight(m.Name)
			c.lmu.Lock()
			delete(c.busy, m.Name)
			delete(c.unsure, m.Name)
			c.lmu.Unlock()
		}
		lease := store.Lease{Leader: c.cfg.Node, GrantedAt: views[m.Name].granted.UnixMilli(), TTL: c.cfg.Leases.TTL.Milliseconds(), Watchdog: guard}
		c.apply(ctx, store.NewNodeState(m.Name, want, lease))
		changed = true
	}
	if changed {
		c.raft.Read(func(s *store.Store) { cfg, st = s.Config(), s.Status() })
	}
	if stonith {
		// Self-fencing on lease expiry is watchdog fencing (Pacemaker's
		// have-watchdog): the scheduler may rely on it, and the fence
		// actions it plans complete when the node turns offline above.
		cfg.Properties = maps.Clone(cfg.Properties)
		if cfg.Properties == nil {
			cfg.Properties = map[string]string{}
		}
		cfg.Properties["have-watchdog"] = "true"
	}
	st.HaveQuorum = membership.Quorum(alive, voters)
	st.DC = c.cfg.Node
	if st.FeatureSet == "" {
		st.FeatureSet = sched.FeatureSet // the store keeps per-operation fail counts
	}
	res, err := sched.Schedule(sched.Input{Config: cfg, Status: st, Now: now})
	if err != nil {
		c.cfg.Logf("controller: schedule: %v", err)
		return
	}
	c.step++
	// Resources with an op in flight on some node that this controller
	// has no result of: another controller's (a predecessor's), or its own
	// whose dispatch failed after the node took it.
	held := map[string]bool{}
	for k, at := range c.reported {
		if time.Since(at) > time.Minute {
			delete(c.reported, k)
		}
	}
	for _, b := range busy {
		if _, done := c.reported[b.Key]; b.Controller != c.id || !done {
			base, _, _ := strings.Cut(b.Resource, ":")
			held[base] = true
		}
	}
	for base := range unsure {
		held[base] = true
	}
	if len(unheard) > 0 {
		// They may be running ops a previous leader asked for.
		if c.cfg.Debug {
			c.cfg.Logf("controller: waiting for the first renewal of %v before dispatching", unheard)
		}
		return
	}
	c.dispatch(cfg, res.Actions, held)
	c.monitors(cfg, st, res.Actions)
}

// forgetInflight drops the ops in flight on node: their results will
// not come (the node was fenced, or its agent started anew).
func (c *Controller) forgetInflight(node string) {
	for k := range c.inflight {
		if strings.HasPrefix(k, node+"/") {
			delete(c.inflight, k)
		}
	}
}

// monitors starts the configured recurring monitors of resources that
// run on a node without one newer than their start. The scheduler does
// not plan recurring monitors yet, so the controller does (a stop cancels
// them in the executor).
func (c *Controller) monitors(cfg *model.Config, st *model.Status, actions []*sched.Action) {
	planned := map[string]bool{}
	for _, a := range actions {
		planned[a.Node+"/"+a.Resource] = true
	}
	for _, ns := range st.Nodes {
		if ns.InCluster != "true" {
			continue
		}
		for _, rh := range ns.Resources {
			k := ns.Name + "/" + rh.ID
			if _, busy := c.inflight[k]; planned[k] || busy {
				continue
			}
			var last *model.OpRecord
			for i := range rh.Ops {
				if o := &rh.Ops[i]; o.Interval == 0 && (last == nil || o.CallID > last.CallID) {
					last = o
				}
			}
			if last == nil || last.RC != 0 || last.OpStatus != 0 || (last.Operation != "start" && last.Operation != "monitor") {
				continue
			}
			base, _, _ := strings.Cut(rh.ID, ":")
			r := findResource(cfg.Resources, base)
			if r == nil {
				continue
			}
			for _, mo := range r.Ops {
				if mo.Name != "monitor" || mo.Interval <= 0 || !mo.IsEnabled() || (mo.Role != "" && mo.Role != "Started") {
					continue
				}
				ms := mo.Interval.Milliseconds()
				current := false
				for _, o := range rh.Ops {
					if o.Operation == "monitor" && o.Interval == ms && o.CallID > last.CallID {
						current = true
					}
				}
				if current {
					continue
				}
				a := &sched.Action{Task: "monitor", Resource: rh.ID, Node: ns.Name, IntervalMS: ms}
				op, ok := c.op(cfg, a)
				if !ok {
					continue
				}
				key := opKey(ns.Name, rh.ID, "monitor", ms)
				c.cfg.Logf("controller: dispatch %s", key)
				if err := c.cfg.Dispatcher.Dispatch(ns.Name, op); err != nil {
					c.cfg.Logf("controller: dispatch %s: %v", key, err)
					continue
				}
				c.inflight[k] = flight{key: key, recurring: true}
				break
			}
		}
	}
}

func (c *Controller) apply(ctx context.Context, cmd store.Command) {
	r, err := c.raft.Apply(ctx, cmd)
	if err == nil {
		err = r.Err
	}
	if err != nil {
		c.cfg.Logf("controller: apply %s: %v", cmd.Type, err)
	}
}

// dispatch sends the ready actions of a plan, except for resources held
// by ops in flight that another controller asked for (Renewal.Busy).
func (c *Controller) dispatch(cfg *model.Config, actions []*sched.Action, held map[string]bool) {
	byID := map[int]*sched.Action{}
	for _, a := range actions {
		byID[a.ID] = a
	}
	memo := map[int]bool{}
	var done func(a *sched.Action, depth int) bool
	done = func(a *sched.Action, depth int) bool {
		if a.Optional {
			return true
		}
		if !a.Pseudo || !a.Runnable || depth > len(actions) {
			return false
		}
		if v, ok := memo[a.ID]; ok {
			return v
		}
		v := true
		for _, id := range a.After {
			if p := byID[id]; p != nil && !done(p, depth+1) {
				v = false
				break
			}
		}
		memo[a.ID] = v
		return v
	}
	// A resource with an operation in flight since an earlier plan is left
	// alone, on every node: that plan was made from a state this one does
	// not see yet (a start in flight is not in the store, so the resource
	// looks stopped everywhere), and acting on it now could start the
	// resource a second time elsewhere. Actions of this one plan for the
	// same resource are consistent with each other and may go together.
	// Recurring monitors change nothing and hold nothing up.
	for _, f := range c.inflight {
		if !f.recurring {
			held[f.base] = true
		}
	}
	for _, a := range actions {
		if c.cfg.Debug {
			c.cfg.Logf("controller: plan %d %s %s %s %d opt=%v run=%v pseudo=%v after=%v %s", a.ID, a.Task, a.Resource, a.Node, a.IntervalMS, a.Optional, a.Runnable, a.Pseudo, a.After, a.Reason)
		}
		if a.Optional || !a.Runnable || a.Pseudo || a.Resource == "" || a.Node == "" {
			continue
		}
		ready := true
		for _, id := range a.After {
			if p := byID[id]; p != nil && !done(p, 0) {
				ready = false
				break
			}
		}
		if !ready {
			continue
		}
		rid := a.Node + "/" + a.Resource
		base, _, _ := strings.Cut(a.Resource, ":")
		if _, busy := c.inflight[rid]; busy || held[base] {
			continue
		}
		op, ok := c.op(cfg, a)
		if !ok {
			continue
		}
		key := opKey(a.Node, a.Resource, a.Task, a.IntervalMS)
		c.cfg.Logf("controller: dispatch %s", key)
		if err := c.cfg.Dispatcher.Dispatch(a.Node, op); err != nil {
			c.cfg.Logf("controller: dispatch %s: %v", key, err)
			if a.IntervalMS == 0 {
				c.lmu.Lock()
				if c.unsure[a.Node] == nil {
					c.unsure[a.Node] = map[string]int{}
				}
				c.unsure[a.Node][base] = 2
				c.lmu.Unlock()
				held[base] = true
			}
			continue
		}
		c.inflight[rid] = flight{key: key, base: base, recurring: a.IntervalMS > 0}
	}
}

// op builds the Op for an action from the resource's configuration.
func (c *Controller) op(cfg *model.Config, a *sched.Action) (Op, bool) {
	base, _, _ := strings.Cut(a.Resource, ":")
	r := findResource(cfg.Resources, base)
	if r == nil || r.Class == "" {
		return Op{}, false
	}
	op := Op{
		Resource:      model.ResourceHistory{ID: a.Resource, Class: r.Class, Provider: r.Provider, Type: r.Type},
		Name:          a.Task,
		Interval:      time.Duration(a.IntervalMS) * time.Millisecond,
		Timeout:       c.cfg.DefaultTimeout,
		Params:        map[string]string{},
		TransitionKey: fmt.Sprintf("%s:%d:%d", c.cfg.Node, c.step, a.ID),
		Term:          c.term,
		Controller:    c.id,
	}
	for _, nv := range r.Params {
		op.Params[nv.Name] = nv.Value
	}
	for _, o := range r.Ops {
		if o.Name == a.Task && o.Interval.Milliseconds() == a.IntervalMS && o.Timeout > 0 {
			op.Timeout = o.Timeout
		}
	}
	if a.Task == "monitor" && a.IntervalMS == 0 {
		op.TargetRC = 7 // a probe expects "not running"
	}
	return op, true
}

func findResource(rs []model.Resource, id string) *model.Resource {
	for i := range rs {
		if rs[i].ID == id {
			return &rs[i]
		}
		if r := findResource(rs[i].Children, id); r != nil {
			return r
		}
	}
	return nil
}

func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "true", "yes", "on", "1", "y":
		return true
	}
	return false
}

func isFalse(v string) bool {
	switch strings.ToLower(v) {
	case "false", "no", "off", "0", "n":
		return true
	}
	return false
}
