// Package controller is Paceline's DC: it runs on the Raft leader only and
// drives the cluster towards what the scheduler plans.
//
// # Model
//
// One goroutine (Run) owns every piece of the controller's state: the
// leader's lease table (package membership), the transition being carried
// out and the operations in flight. It works as Pacemaker's DC does:
//
//  1. node liveness (at each turn, cheap; the loop sleeps until the
//     next lease change, result, store change or renewal that changes
//     something, never on a fixed tick): a node whose lease expired
//     becomes unclean (the scheduler plans to fence it); it becomes
//     offline, its operation history forgotten, once it is recoverable:
//     a fence device or an operator confirmed it off (store.Member.Fenced),
//     or its watchdog-guarded lease ran out, or, with
//     stonith-enabled=false, its lease expired. Otherwise its resources
//     are held and the store says why (store.Member.Hold). The decision
//     is the pure judge (fence.go, testdata/liveness);
//  2. planning, only when something changed (a store change it did not
//     make itself, an unexpected result, a liveness change, a Kick) or a
//     timer is due (cluster-recheck-interval, a failure-timeout expiring):
//     sched.Schedule over the stored configuration and status, with
//     HaveQuorum from the voters' leases and DC set to itself, made
//     executable by plan.Build (parameters, CRM_meta_* environment,
//     recurring monitors per role, notifications);
//  3. dispatch: every action plan.Ready returns, once, unless its resource
//     is held (below) or it failed lately (exponential backoff per
//     operation, so an operation that keeps failing never runs in a tight
//     loop), through one queue per node, so that a slow or unreachable
//     node never stalls the loop (a failed hand-over aborts the
//     transition and holds the resource);
//  4. results: each is recorded with an op.result command (a failure
//     counts one towards the operation's fail count, except for probes;
//     a recurring monitor repeating its stored result is not written; a
//     notify is not recorded, as in Pacemaker). An expected result marks
//     its action done; a failure or any outside change aborts the
//     transition: nothing new is dispatched, and once nothing it sent is
//     in flight the controller plans afresh. A complete transition is
//     followed by one more plan, which is empty when all is well.
//
// The decisions of steps 2 to 4 (when to plan, what to hand over, what a
// result means) are a pure core, engine, driven event by event and tested
// with datadriven transcripts (testdata/*.txt); Controller is the shell
// around it that reads and writes the store and talks to nodes.
//
// A new leader resumes from the stored state. It first waits one full
// lease TTL before it declares any node lost (membership.NewLeases). What
// the store cannot know is an op its predecessor asked for and no one has
// recorded yet: nodes list such ops in their renewals (Renewal.Busy) and
// keep their results until a leader takes them; a new leader dispatches
// nothing before every online node has renewed with it, and leaves the
// resources those ops work on alone until they are reported. Ops carry the
// leader's Raft term, and a node refuses one from an older term than its
// own.
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
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paceline/paceline/internal/clock"
	"github.com/paceline/paceline/internal/membership"
	"github.com/paceline/paceline/internal/model"
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
	// WaitChange blocks until the store has changed after change index
	// after (or ctx ends) and returns the current index
	// (consensus.Node.WaitChange).
	WaitChange(ctx context.Context, after uint64) (uint64, error)
	// Applied is the index of the last log entry applied here; ops are
	// stamped with it (Op.Index).
	Applied() uint64
}

// Fencer carries out fence actions (the node runtime's, running fence
// devices through package fence). Fence is called from the controller's
// goroutine and must not block: it hands the request over; the
// controller learns the outcome from the store (a confirmed fence marks
// the target fenced, store.Member.Fenced; a failed one adds to the fence
// history, a change that makes the controller plan, and fence, again).
// An error is an immediate refusal, not retried before the next plan.
type Fencer interface {
	Fence(target, action string) error
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
	// Params are the resource's instance parameters for this node, the
	// operation's own included.
	Params map[string]string
	// Meta is the CRM_meta_* environment without the prefix (clone_max,
	// notify_type, migrate_target ...; see package plan).
	Meta map[string]string `json:",omitempty"`
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
	// Index is the leader's applied Raft index when it asked, passed to
	// the agent (agents.Request.StateIndex): an agent that reads the
	// cluster's state (a database looking for its primary) first waits
	// until the node's copy is as new as the plan's. A node back from a
	// partition is asked to start before its copy has caught up.
	Index uint64 `json:",omitempty"`
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
// from one goroutine per node (the controller's per-node queues, so a slow
// node stalls nobody else), ops of a node in order; it hands the op over
// and returns; the result comes back through Controller.Report. An error
// means the op may not have been handed over.
type Dispatcher interface {
	Dispatch(node string, op Op) error
}

// Clock is the leader's monotonic clock (clock.Real, or *clock.Fake in
// tests).
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) clock.Timer
}

var (
	_ Clock = clock.Real{}
	_ Clock = (*clock.Fake)(nil)
)

// Config configures a Controller.
type Config struct {
	// Node is the leader's own node name (the DC). Required.
	Node string
	// Gate holds resources back before the scheduler plans (the two-node
	// gate: fence.GateInput). Default nil: nothing is held.
	Gate Gate
	// Leases are the lease timings. Default membership.DefaultConfig().
	Leases membership.Config
	// Tick is the longest the controller's loop sleeps when no event
	// comes (real time), a safety net only: a lease expiring, a failure
	// backoff ending or a recheck wakes it at its time (on Clock), a
	// result, a store change or a renewal that changes something at
	// once; it plans only when something changed. Default 1 s.
	Tick time.Duration
	// DefaultTimeout is an op's timeout when the configuration gives
	// none. Default 20 s.
	DefaultTimeout time.Duration
	// Clock is the lease and scheduler clock. Default clock.Real{}.
	Clock Clock
	// Dispatcher delivers ops. Required.
	Dispatcher Dispatcher
	// Fencer carries out fence actions; nil: none is dispatched, and a
	// fence action completes when its target turns offline (its
	// watchdog-guarded lease ran out, or an operator confirmed it down).
	Fencer Fencer
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
		c.Tick = time.Second
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

	// plannedUnheard: a transition was planned while a node was unheard
	// (for the fencing of unclean nodes alone); it is replaced by a new
	// plan once every node was heard from. The loop's goroutine owns it.
	plannedUnheard bool

	// gateLine is the Gate's last line ("" when open), logged when it
	// changes; the loop's goroutine owns it.
	gateLine string

	reports chan report
	kick    chan struct{}
	// wake asks the loop for a turn without a new plan.
	wake chan struct{}
	done chan struct{}
	// failed receives the ops the per-node queues could not hand over.
	failed chan failedDispatch

	// changed is signalled by the store watcher; latest is the newest
	// store change index it saw.
	changed chan struct{}
	latest  atomic.Uint64

	// Owned by Run.
	eng    *engine // the decisions; set by Run
	queues *queues // per-node dispatch; set by Run
	// known is the store change index the controller has accounted for:
	// its own writes advance it; a newer index is an outside change.
	known uint64
	// reported are the transition keys of results received lately: a
	// node's renewal may still list such an op as busy.
	reported map[string]time.Time
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
		failed:   make(chan failedDispatch, 1024),
		kick:     make(chan struct{}, 1),
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		changed:  make(chan struct{}, 1),
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
	c.eng = newEngine(c.id)
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
	c.known = c.index()
	c.latest.Store(c.known)
	go c.watch(ctx)
	qctx, stopQueues := context.WithCancel(ctx)
	c.queues = newQueues(qctx, c.cfg.Dispatcher, c.failed)
	defer c.queues.wait()
	defer stopQueues()
	idle := time.NewTimer(c.cfg.Tick)
	defer idle.Stop()
	// due wakes the loop at the next time-driven change (a lease
	// expiring, a backoff ending, a recheck), on the controller's clock.
	due := make(chan struct{}, 1)
	var (
		dueAt    time.Time
		dueTimer clock.Timer
	)
	defer func() {
		if dueTimer != nil {
			dueTimer.Stop()
		}
	}()
	for {
		// Take every queued result and failed hand-over before planning:
		// a node that said it is no longer busy has handed its results
		// over before.
		for more := true; more; {
			select {
			case r := <-c.reports:
				c.record(ctx, r)
			case f := <-c.failed:
				c.dispatchFailed(f)
			default:
				more = false
			}
		}
		next := c.control(ctx)
		if !next.Equal(dueAt) {
			if dueTimer != nil {
				dueTimer.Stop()
				dueTimer = nil
			}
			dueAt = next
			if !next.IsZero() {
				dueTimer = c.cfg.Clock.AfterFunc(next.Sub(c.cfg.Clock.Now()), func() {
					select {
					case due <- struct{}{}:
					default:
					}
				})
			}
		}
		idle.Reset(c.cfg.Tick)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r := <-c.reports:
			c.record(ctx, r)
		case f := <-c.failed:
			c.dispatchFailed(f)
		case <-c.kick:
			c.eng.changed()
		case <-c.changed:
		case <-c.wake:
		case <-due:
			dueAt = time.Time{}
		case <-idle.C:
		}
	}
}

// watch signals c.changed at every store change until ctx ends.
func (c *Controller) watch(ctx context.Context) {
	idx := c.latest.Load()
	for {
		n, err := c.raft.WaitChange(ctx, idx)
		if err != nil {
			return
		}
		idx = n
		c.latest.Store(n)
		select {
		case c.changed <- struct{}{}:
		default:
		}
	}
}

// index returns the store's change index now.
func (c *Controller) index() uint64 {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	idx, _ := c.raft.WaitChange(ctx, math.MaxUint64)
	return idx
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
	newBoot := false
	if r.Boot != "" {
		cur := c.boots[r.Node]
		if r.Boot < cur {
			return time.Time{}, fmt.Errorf("%w: a renewal from %s's earlier agent (boot %s, now %s)", ErrStale, r.Node, r.Boot, cur)
		}
		c.boots[r.Node] = r.Boot
		newBoot = r.Boot != cur
		if c.left[r.Node] == r.Boot && !r.Leaving {
			return time.Time{}, fmt.Errorf("%w: a renewal from %s's agent that has left (boot %s)", ErrStale, r.Node, r.Boot)
		}
	}
	if r.Leaving {
		if len(r.Busy) > 0 {
			return time.Time{}, fmt.Errorf("controller: %s leaves with %d operations not reported", r.Node, len(r.Busy))
		}
		// Its lease is dropped: the next look at the leases finds it
		// recoverable, and it turns offline.
		c.leases.Forget(r.Node)
		c.leases.Guard(r.Node, 0)
		c.left[r.Node] = r.Boot
		delete(c.busy, r.Node)
		c.cfg.Logf("controller: %s left cleanly (drained)", r.Node)
		c.Kick()
		return c.cfg.Clock.Now(), nil
	}
	now := c.cfg.Clock.Now()
	// The loop sleeps until something happens: a renewal that changes
	// what it decides wakes it (the node's first renewal, one that ends
	// an expiry, a change of what the node is busy with or of its
	// agent, a held resource released).
	old, heard := c.busy[r.Node]
	wake := !heard || !slices.Equal(old, r.Busy) || c.leases.Guarded(r.Node) != r.Watchdog || newBoot ||
		c.leases.Liveness(r.Node, now, false) != membership.Alive
	c.leases.Guard(r.Node, r.Watchdog)
	c.busy[r.Node] = slices.Clone(r.Busy)
	for base, left := range c.unsure[r.Node] {
		if left <= 1 {
			delete(c.unsure[r.Node], base)
			wake = true
		} else {
			c.unsure[r.Node][base] = left - 1
		}
	}
	exp := c.leases.Renew(r.Node, now)
	if wake {
		// A look, not a new plan: what the renewal changes (a node
		// online, a resource no longer held) makes the engine plan or
		// dispatch by itself.
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	return exp, nil
}

// stale reports whether a report from node's agent boot is stale: the
// node is offline (its history was cleared when it turned offline; a
// result still arriving was sent before, delivered late, say by a TCP
// retransmission once a partition healed), or it comes from an earlier
// agent process than the node's last renewal.
func (c *Controller) stale(node, boot string) bool {
	offline := false
	c.raft.Read(func(s *store.Store) {
		m, ok := s.MemberState(node)
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
