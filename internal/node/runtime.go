package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paceline/paceline/internal/agents"
	"github.com/paceline/paceline/internal/clock"
	"github.com/paceline/paceline/internal/consensus"
	"github.com/paceline/paceline/internal/controller"
	"github.com/paceline/paceline/internal/executor"
	"github.com/paceline/paceline/internal/fence"
	"github.com/paceline/paceline/internal/membership"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/peer"
	"github.com/paceline/paceline/internal/store"
)

// Peers reaches the other nodes: the leader's controller (renewals,
// results) and other nodes' executors (ops dispatched while this node
// leads). *peer.Client implements it over mutual TLS; the in-process test
// cluster in memory. Calls block until answered or ctx ends.
type Peers interface {
	Heartbeat(ctx context.Context, leader string, r controller.Renewal) error
	Report(ctx context.Context, leader, boot string, rh model.ResourceHistory, rec model.OpRecord) error
	Exec(ctx context.Context, node string, op controller.Op) error
	// Fence asks node to fence target through its own fencer (the
	// leader's fencing, when it is the target or its devices failed); it
	// blocks until the operation ended and returns what node recorded.
	Fence(ctx context.Context, node, target, action, origin string) (store.FenceRecord, error)
}

var _ Peers = (*peer.Client)(nil)

// Config configures a node's runtime.
type Config struct {
	// Name is this node's name. Required.
	Name string
	// Node is this node's consensus member. Required.
	Node *consensus.Node
	// Executor runs this node's operations; nil on a witness.
	Executor *executor.Executor
	// Peers reaches the other nodes. Required.
	Peers Peers
	// Leases are the lease timings. Default membership.DefaultConfig().
	Leases membership.Config
	// Watchdog is the timeout of the watchdog this node feeds while
	// FeedWatchdog allows (0: none). Heartbeats tell the leader, which
	// then recovers this node at its lease expiry (membership.Leases.Guard).
	// Must satisfy Leases.CanGuard.
	Watchdog time.Duration
	// Propose applies a command through the leader (Backend.Propose):
	// the drain's shutdown request. Optional: without it a drain stops
	// the node's resources itself.
	Propose func(ctx context.Context, cmd store.Command) (store.Result, error)
	// Controller builds the controller this node runs while it leads,
	// dispatching through d (the runtime itself, or a wrapper of it) and
	// fencing through f (nil without a Fencer). Default: controller.New
	// with Name, Leases, Clock and Logf.
	Controller func(d controller.Dispatcher, f controller.Fencer) (*controller.Controller, error)
	// Fencer runs the fence devices while this node leads (and for
	// `paceline node fence`). Nil: the controller gets no fencer, and a
	// lost node is recovered only by its watchdog-guarded lease running
	// out, an operator's confirm-down, or with stonith-enabled=false.
	Fencer *fence.Fencer
	// OnFenced, if set, is called after every fence operation this node
	// ran, with what was recorded (rec.Fenced set: the target is fenced)
	// and the operation's error: the hook for cluster events. It must
	// not block for long.
	OnFenced func(rec store.FenceRecord, err error)
	// Clock is the lease clock (the controller's): a fence mark is
	// stamped with it. Default clock.Real{}.
	Clock controller.Clock
	// Dispatcher wraps the runtime's Dispatch for the controller (the test
	// cluster counts ops and loses replies on purpose). Default: the
	// runtime.
	Dispatcher func(d controller.Dispatcher) controller.Dispatcher
	// Manual leaves the renewals and the lease check to the caller
	// (Renew and CheckLease, on a fake clock): Run starts no heartbeat
	// or lease loop.
	Manual bool
	// RetryEvery is how often undelivered results are sent again.
	// Default a quarter heartbeat.
	RetryEvery time.Duration
	// Logf receives one line per notable event (default: discard).
	Logf func(format string, args ...any)
	// ObserveRenewal, if set, gets the round trip of every successful
	// lease renewal (the metrics hook); it must not block.
	ObserveRenewal func(took time.Duration)
}

// Runtime is what runs on every node besides Raft and the API: the
// heartbeat loop that keeps this node's lease (and self-fences when it
// cannot), the forwarding of executor results to the leader, and, while
// this node leads, the controller (DESIGN.md, Safety and Layers).
type Runtime struct {
	cfg    Config
	holder *membership.Holder
	// boot identifies this agent process to the leader (random per start):
	// results a dead predecessor sent, delivered late, are told apart.
	boot string

	mu     sync.Mutex
	ctrl   *controller.Controller
	cancel context.CancelFunc
	// active are the resources this node's executor has started and not
	// stopped since, with the op that started them: self-fencing stops
	// them.
	active map[string]executor.Op
	// lastOp is the last op handed to the executor per resource (to stop
	// it with the same agent and parameters).
	lastOp map[string]executor.Op

	// busy are the one-shot ops handed to the executor whose results no
	// leader has taken yet (controller.Renewal.Busy).
	busy controller.BusyOps
	// renewed, if set, is called after each renewal of this node's lease
	// (OnRenewed).
	renewed func()
	// leaving stops the heartbeats: the node has drained and sent its
	// last renewal (Drain).
	leaving bool
	// undelivered counts the results not yet taken by a leader.
	undelivered atomic.Int64
	// started is when this agent started; stopAsked is closed when a
	// shutdown of this node is asked for through the cluster.
	started   time.Time
	stopAsked chan struct{}
	stopOnce  sync.Once

	// fencing runs the controller's fence actions (nil without
	// Config.Fencer).
	fencing *fencing

	wg sync.WaitGroup
}

var _ controller.Dispatcher = (*Runtime)(nil)

// ErrConfig reports an incomplete Config.
var ErrConfig = errors.New("node: invalid config")

// New returns a runtime; Run starts it.
func New(cfg Config) (*Runtime, error) {
	if cfg.Name == "" || cfg.Node == nil || cfg.Peers == nil {
		return nil, fmt.Errorf("%w: a runtime needs a name, a consensus node and peers", ErrConfig)
	}
	if cfg.Leases == (membership.Config{}) {
		cfg.Leases = membership.DefaultConfig()
	}
	if err := cfg.Leases.Validate(); err != nil {
		return nil, err
	}
	if cfg.Watchdog != 0 {
		if err := cfg.Leases.CanGuard(cfg.Watchdog); err != nil {
			return nil, err
		}
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.RetryEvery <= 0 {
		cfg.RetryEvery = cfg.Leases.Heartbeat / 4
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Controller == nil {
		cfg.Controller = func(d controller.Dispatcher, f controller.Fencer) (*controller.Controller, error) {
			return controller.New(controller.Config{Node: cfg.Name, Leases: cfg.Leases, Clock: cfg.Clock, Dispatcher: d,
				Fencer: f, Gate: fence.GateInput, Logf: cfg.Logf}, cfg.Node)
		}
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	// Boots order by start time (controller.Renewal.Boot).
	boot := fmt.Sprintf("%016x-%s", time.Now().UnixNano(), hex.EncodeToString(b[:]))
	r := &Runtime{cfg: cfg, holder: membership.NewHolder(cfg.Leases), boot: boot,
		active: map[string]executor.Op{}, lastOp: map[string]executor.Op{},
		started: time.Now(), stopAsked: make(chan struct{})}
	if cfg.Fencer != nil {
		r.fencing = &fencing{rt: r, f: cfg.Fencer, inflight: map[string]bool{}, again: map[string]bool{}, failed: map[string]int{}}
	}
	return r, nil
}

// FeedWatchdog reports whether the watchdog may be fed at now: the lease
// is valid for longer than the watchdog timeout plus half a heartbeat, so
// a node that stops renewing is reset before its lease expires.
func (r *Runtime) FeedWatchdog(now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.holder.FeedWatchdog(now, r.cfg.Watchdog)
}

// OnRenewed makes f run after each renewal of this node's lease (the
// watchdog Feeder's Kick: a renewal that ends a starving spell feeds at
// once). Call it before Run.
func (r *Runtime) OnRenewed(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.renewed = f
}

// Hooks connects the runtime to the node's peer endpoints.
func (r *Runtime) Hooks() peer.Hooks {
	h := peer.Hooks{Controller: r.Controller}
	if r.fencing != nil {
		h.Fence = func(target, action, origin string) (store.FenceRecord, error) {
			return r.FenceNow(target, action, origin)
		}
	}
	if r.cfg.Executor != nil {
		h.Exec = r.exec
	}
	return h
}

// Controller returns the controller while this node leads, else nil.
func (r *Runtime) Controller() *controller.Controller {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ctrl
}

// Run runs the runtime until ctx ends, then stops the controller and
// waits for its goroutines. It does not stop resources: a node that shuts
// down cleanly is drained first (Drain, before ctx ends), one that dies
// is recovered elsewhere after its lease.
func (r *Runtime) Run(ctx context.Context) {
	r.wg.Add(2)
	go r.leadership(ctx)
	go r.watchShutdown(ctx)
	if !r.cfg.Manual {
		r.wg.Add(2)
		go r.heartbeats(ctx)
		go r.watchLease(ctx)
	}
	if r.cfg.Executor != nil {
		r.wg.Add(1)
		go r.results(ctx)
	}
	<-ctx.Done()
	r.wg.Wait()
	r.stopController()
}

// leadership runs a controller while this node leads. A controller that
// stops on its own while the node still leads (its Barrier failed on a
// loaded host, say) is logged and started again: a leader without a
// controller would renew nobody's lease.
func (r *Runtime) leadership(ctx context.Context) {
	defer r.wg.Done()
	failed := make(chan *controller.Controller, 1)
	start := func() {
		var d controller.Dispatcher = r
		if r.cfg.Dispatcher != nil {
			d = r.cfg.Dispatcher(r)
		}
		var f controller.Fencer
		if r.fencing != nil {
			f = r.fencing
		}
		c, err := r.cfg.Controller(d, f)
		if err != nil {
			r.cfg.Logf("node: controller: %v", err)
			return
		}
		cctx, cancel := context.WithCancel(ctx)
		r.mu.Lock()
		r.ctrl, r.cancel = c, cancel
		r.mu.Unlock()
		r.cfg.Logf("node: %s leads; controller started", r.cfg.Name)
		go func() {
			err := c.Run(cctx)
			if cctx.Err() == nil {
				r.cfg.Logf("node: controller stopped while leading: %v", err)
				failed <- c
			}
		}()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case lead := <-r.cfg.Node.LeaderCh():
			r.stopController()
			if lead {
				start()
			}
		case c := <-failed:
			if r.Controller() != c || !r.cfg.Node.IsLeader() {
				continue // already replaced or stopped
			}
			r.stopController()
			select {
			case <-ctx.Done():
				return
			case <-time.After(r.cfg.Leases.Heartbeat / 4):
			}
			if r.cfg.Node.IsLeader() {
				start()
			}
		}
	}
}

func (r *Runtime) stopController() {
	r.mu.Lock()
	c, cancel := r.ctrl, r.cancel
	r.ctrl, r.cancel = nil, nil
	r.mu.Unlock()
	if c != nil {
		cancel()
		<-c.Done()
	}
}

// heartbeats renews this node's lease every heartbeat, and every eighth
// of a heartbeat after a renewal failed (no leader known during an
// election, say), so the node reaches a new leader well inside its lease
// margin (membership.Config.RaftTimeout). Renewals run on their own: one
// that hangs (a partition) never delays the lease check (watchLease).
func (r *Runtime) heartbeats(ctx context.Context) {
	defer r.wg.Done()
	t := time.NewTimer(r.cfg.Leases.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		leaving := r.leaving
		r.mu.Unlock()
		if leaving {
			return
		}
		sent := time.Now()
		next := r.cfg.Leases.Heartbeat / 8
		if r.Renew(ctx, sent) == nil {
			next = r.cfg.Leases.Heartbeat
		}
		t.Reset(max(time.Until(sent.Add(next)), 0))
	}
}

// Renew sends one renewal to the leader, sent at now (on the clock the
// lease is timed with), and keeps the lease it grants. Run calls it
// every heartbeat; with Config.Manual the caller does.
func (r *Runtime) Renew(ctx context.Context, now time.Time) error {
	began := time.Now()
	if err := r.renew(ctx); err != nil {
		return err
	}
	if r.cfg.ObserveRenewal != nil {
		r.cfg.ObserveRenewal(time.Since(began))
	}
	r.mu.Lock()
	r.holder.Renewed(now)
	renewed := r.renewed
	r.mu.Unlock()
	if renewed != nil {
		renewed()
	}
	return nil
}

// CheckLease self-fences (stops every resource this node runs) once the
// lease is due to lapse at now (fenceAt), and reports whether the lease
// lapsed; a node of a two-node cluster keeps what it runs instead
// (keepOnLeaseLoss).
// Run calls it every quarter heartbeat; with Config.Manual the caller
// does.
func (r *Runtime) CheckLease(now time.Time) bool {
	at, ok := r.fenceAt()
	if !ok || now.Before(at) {
		return false
	}
	r.mu.Lock()
	r.holder.Reset()
	r.mu.Unlock()
	if keep, why := r.keepOnLeaseLoss(); keep {
		r.cfg.Logf("node: %s lost its lease: %s", r.cfg.Name, why)
		return true
	}
	r.selfFence()
	return true
}

// keepOnLeaseLoss applies fence.KeepOnLeaseLoss to this node: a node of a
// two-node cluster keeps what it runs when its lease lapses, as only a
// device's fence of it lets its peer run it (docs/two-node.md).
func (r *Runtime) keepOnLeaseLoss() (bool, string) {
	var (
		cfg   *model.Config
		roles map[string]string
	)
	r.cfg.Node.Read(func(s *store.Store) { cfg, roles = s.Config(), store.Roles(s.MemberStates()) })
	voters, _ := r.cfg.Node.Voters()
	return fence.KeepOnLeaseLoss(cfg, roles, voters, r.cfg.Name, r.cfg.Watchdog > 0)
}

// fenceAt is when this node must start stopping its resources: one
// heartbeat before its own lease expires, so that the stops are done by
// the time the leader (whose view of the lease never ends earlier) may
// recover them, even with stonith-enabled=false, where it does so as soon
// as the lease has expired.
func (r *Runtime) fenceAt() (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	exp := r.holder.Expiry()
	if exp.IsZero() {
		return time.Time{}, false
	}
	return exp.Add(-r.cfg.Leases.Heartbeat), true
}

// watchLease self-fences once fenceAt has passed (DESIGN.md, Safety). It
// sleeps until fenceAt, or a heartbeat at most (a renewal meanwhile moves
// fenceAt on), rather than polling: an idle node wakes up once a
// heartbeat for its lease, and fences on time.
func (r *Runtime) watchLease(ctx context.Context) {
	defer r.wg.Done()
	t := time.NewTimer(r.cfg.Leases.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.CheckLease(time.Now())
		wait := r.cfg.Leases.Heartbeat
		if at, ok := r.fenceAt(); ok {
			wait = max(min(wait, time.Until(at)), time.Millisecond)
		}
		t.Reset(wait)
	}
}

// renew sends one heartbeat to the leader, bounded by half the lease TTL.
func (r *Runtime) renew(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Leases.TTL/2)
	defer cancel()
	return r.sendRenewal(ctx, r.renewal())
}

// sendRenewal hands rn to the leader: this node's controller, or the
// leader's through Peers.
func (r *Runtime) sendRenewal(ctx context.Context, rn controller.Renewal) error {
	return r.toLeader(ctx,
		func(c *controller.Controller) error { _, err := c.Heartbeat(ctx, rn); return err },
		func(ctx context.Context, leader string) error { return r.cfg.Peers.Heartbeat(ctx, leader, rn) })
}

// Boot identifies this agent process (controller.Renewal.Boot).
func (r *Runtime) Boot() string { return r.boot }

// Busy lists the one-shot ops this node took whose results no leader has
// taken yet (controller.Renewal.Busy).
func (r *Runtime) Busy() []controller.Busy { return r.busy.List() }

// renewal is this node's heartbeat.
func (r *Runtime) renewal() controller.Renewal {
	return controller.Renewal{Node: r.cfg.Name, Boot: r.boot, Watchdog: r.cfg.Watchdog, Busy: r.busy.List()}
}

// toLeader calls local with this node's controller when it leads, remote
// with the leader's name otherwise (given up once another node leads, see
// whileLeads); consensus.ErrNotLeader when no leader is known (or this
// node's controller is not running yet).
func (r *Runtime) toLeader(ctx context.Context, local func(*controller.Controller) error, remote func(ctx context.Context, leader string) error) error {
	leader := r.cfg.Node.LeaderID()
	switch {
	case leader == "":
		return consensus.ErrNotLeader
	case leader == r.cfg.Name:
		c := r.Controller()
		if c == nil {
			return consensus.ErrNotLeader
		}
		return local(c)
	default:
		return whileLeads(ctx, leader, r.cfg.Node.LeaderID, r.cfg.Leases.Heartbeat/8, remote)
	}
}

// whileLeads runs call(ctx, leader) until it returns, or until leaderNow
// (polled every poll) names another node or none: it then cancels the
// call and returns consensus.ErrNotLeader. A call to a leader that died
// with its host may hang until its timeout (the packets go nowhere), and
// a renewal stuck there while a new leader is elected eats the lease
// margin: with the fast profile the watchdog reset every node.
func whileLeads(ctx context.Context, leader string, leaderNow func() string, poll time.Duration, call func(ctx context.Context, leader string) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- call(ctx, leader) }()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-t.C:
			if now := leaderNow(); now != leader {
				return fmt.Errorf("%w: %s no longer leads (now %q)", consensus.ErrNotLeader, leader, now)
			}
		}
	}
}

// selfFence stops every resource this node runs (DESIGN.md, Safety).
func (r *Runtime) selfFence() {
	if r.cfg.Executor == nil {
		return
	}
	r.mu.Lock()
	// What runs, and what may be starting: an op handed to the executor
	// whose result is not in yet (a start in flight) is stopped after it.
	on := maps.Clone(r.active)
	for id, op := range r.lastOp {
		if _, ok := on[id]; !ok && op.Name != "stop" && op.Name != "monitor" && op.Name != "meta-data" {
			on[id] = op
		}
	}
	ids := slices.Sorted(maps.Keys(on))
	stops := make([]executor.Op, 0, len(ids))
	for _, id := range ids {
		op := on[id]
		stops = append(stops, executor.Op{Resource: id, Agent: op.Agent, Name: "stop", Timeout: op.Timeout, Params: op.Params, Meta: op.Meta})
	}
	r.mu.Unlock()
	stops = r.vmSelfFence(stops)
	r.cfg.Logf("node: %s lost its lease: self-fencing, stopping %d resources", r.cfg.Name, len(stops))
	// Handed over at once, every stop runs in parallel (the executor
	// serialises only ops of the same resource): cut off, nothing can be
	// ordered with the cluster, and each must be done by the time the
	// leader may start it elsewhere, a slow one holding up no other.
	for _, op := range stops {
		if _, err := r.cfg.Executor.Exec(op); err != nil {
			r.cfg.Logf("node: self-fence stop %s: %v", op.Resource, err)
		}
	}
}

// maxUndelivered bounds the results kept for a leader that cannot be
// reached; past it the oldest is dropped (a leader that comes back
// probes again what it no longer knows).
const maxUndelivered = 1024

// results tracks what this node runs and forwards every result to the
// leader, in order. A result the leader cannot be told now is kept and
// sent again (every quarter heartbeat, and whenever a new result comes):
// a new leader must learn what its predecessor asked for, and until it
// has, the op counts as busy in this node's renewals. Of a recurring
// monitor only the newest undelivered result is kept; one the leader
// rejects as malformed (peer.ErrRejected) is dropped.
func (r *Runtime) results(ctx context.Context) {
	defer r.wg.Done()
	queue := executor.Backlog{Max: maxUndelivered}
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case res, ok := <-r.cfg.Executor.Results():
			if !ok {
				return
			}
			r.track(res)
			if old, dropped := queue.Add(res); dropped {
				r.cfg.Logf("node: %d results undelivered: dropping %s %s", maxUndelivered, old.Resource, old.Record.Operation)
				r.delivered(old)
			}
		case <-retry.C:
		}
		for res, ok := queue.Next(); ok; res, ok = queue.Next() {
			rh := model.ResourceHistory{ID: res.Resource, Class: res.Agent.Class, Provider: res.Agent.Provider, Type: res.Agent.Name}
			err := r.report(ctx, rh, res.Record)
			if errors.Is(err, peer.ErrRejected) {
				// Malformed for the leader (another version?): sending it
				// again would hold every result after it.
				r.cfg.Logf("node: report %s %s: %v (dropped)", res.Resource, res.Record.Operation, err)
				err = nil
			}
			if err != nil {
				if !failing {
					r.cfg.Logf("node: report %s %s: %v (kept, sent again)", res.Resource, res.Record.Operation, err)
				}
				failing = true
				break
			}
			if failing {
				r.cfg.Logf("node: reports reach the leader again")
			}
			failing = false
			queue.Pop()
			r.delivered(res)
		}
		r.undelivered.Store(int64(queue.Len()))
		if queue.Len() > 0 {
			retry.Reset(r.cfg.RetryEvery)
		}
	}
}

// delivered ends the busy entry of a one-shot op whose result a leader
// has taken.
func (r *Runtime) delivered(res executor.Result) {
	if res.Record.Interval > 0 {
		return
	}
	r.busy.Delivered(res.Record.CallID, res.Resource)
}

func (r *Runtime) report(ctx context.Context, rh model.ResourceHistory, rec model.OpRecord) error {
	return r.toLeader(ctx,
		func(c *controller.Controller) error { return c.Report(r.cfg.Name, r.boot, rh, rec) },
		func(ctx context.Context, leader string) error {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			return r.cfg.Peers.Report(ctx, leader, r.boot, rh, rec)
		})
}

// track keeps the set of resources this node runs from its results.
func (r *Runtime) track(res executor.Result) {
	rec := res.Record
	ok := rec.OpStatus == int(agents.StatusDone)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch rec.Operation {
	case "start", "promote", "demote", "migrate_from":
		if ok && agents.RC(rec.RC) == agents.RCOK {
			if op, known := r.lastOp[res.Resource]; known {
				r.active[res.Resource] = op
			}
		}
	case "stop":
		if ok && agents.RC(rec.RC) == agents.RCOK {
			delete(r.active, res.Resource)
		}
	case "monitor":
		switch {
		case ok && agents.RC(rec.RC) == agents.RCNotRunning:
			delete(r.active, res.Resource)
		case ok && (agents.RC(rec.RC) == agents.RCOK || agents.RC(rec.RC) == agents.RCRunningPromoted):
			// Found running (a probe after a restart: adopted), or
			// still running: this node must stop it when it leaves.
			if _, known := r.active[res.Resource]; !known {
				if op, known := r.lastOp[res.Resource]; known {
					op.Interval = 0
					r.active[res.Resource] = op
				}
			}
		}
	}
}

// Dispatch implements controller.Dispatcher: ops for this node go to its
// executor, others to the node's peer endpoint (bounded by a second, so
// the controller's loop is never held up long).
func (r *Runtime) Dispatch(node string, op controller.Op) error {
	if node == r.cfg.Name {
		return r.exec(op)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return r.cfg.Peers.Exec(ctx, node, op)
}

// Exec hands op, dispatched by a leader, to this node's executor without
// waiting for it to run (the peer endpoint's and the test cluster's way
// in).
func (r *Runtime) Exec(op controller.Op) error { return r.exec(op) }

// exec hands op to the local executor, unless it comes from an older
// Raft term than this node's: a newer leader may already have planned
// without it.
func (r *Runtime) exec(op controller.Op) error {
	if r.cfg.Executor == nil {
		return errors.New("node: this node runs no resources")
	}
	if term := r.cfg.Node.Term(); op.Term < term {
		return fmt.Errorf("node: %s %s from a leader of term %d, but this node is in term %d", op.Resource.ID, op.Name, op.Term, term)
	}
	eop := executor.Op{
		Resource: op.Resource.ID, Agent: agents.Type{Class: op.Resource.Class, Provider: op.Resource.Provider, Name: op.Resource.Type},
		Name: op.Name, Interval: op.Interval, Timeout: op.Timeout, Params: op.Params, Meta: op.Meta,
		TransitionKey: op.TransitionKey, TargetRC: op.TargetRC, StateIndex: op.Index,
	}
	r.mu.Lock()
	r.lastOp[eop.Resource] = eop
	r.mu.Unlock()
	return r.busy.Exec(op, func() (int, error) { return r.cfg.Executor.Exec(eop) })
}
