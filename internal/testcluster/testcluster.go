// Package testcluster runs N Paceline nodes in one process for fault
// tests: each node has a consensus.Node on hashicorp/raft's in-memory
// transport, an executor with the builtin agents (state in a temporary
// directory) and the node runtime of package node, the daemon's own
// (leases, self-fencing, results, the controller while it leads), reaching
// the others in memory (links) instead of over mutual TLS.
//
// Time: Raft runs on real time; leases, recurring monitors and the
// scheduler run on one fake clock (clock.Fake) that only the test moves,
// with Advance or Eventually. Every Advance step of one heartbeat has
// every node renew its lease with the leader it can reach (node.Runtime.Renew)
// and then check it (CheckLease: a node whose lease is due to lapse stops
// its resources).
//
// Every start and stop the agents perform is recorded with both clocks
// (Events), and CheckNeverActiveTwice replays them to check DESIGN.md's
// safety rule: a resource is never active on two nodes at once.
package testcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/agents"
	"github.com/paceline/paceline/internal/agents/builtin"
	"github.com/paceline/paceline/internal/clock"
	"github.com/paceline/paceline/internal/consensus"
	"github.com/paceline/paceline/internal/controller"
	"github.com/paceline/paceline/internal/executor"
	"github.com/paceline/paceline/internal/fence"
	"github.com/paceline/paceline/internal/membership"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/node"
	"github.com/paceline/paceline/internal/store"
)

// Options configures a Cluster.
type Options struct {
	// Nodes is the number of server nodes, named n1..nN. Default 3.
	Nodes int
	// Leases are the lease timings on the fake clock. Default
	// membership.DefaultConfig().
	Leases membership.Config
	// Logf receives controller log lines (t.Logf is a good choice).
	Logf func(format string, args ...any)
	// Watchdog, when set, is the timeout of the (simulated) watchdog every
	// node says it feeds while its lease is valid: the leader recovers a
	// lost node once its lease ran out, without a fence device
	// (node.Config.Watchdog). Without it and without a device that
	// confirmed the loss, a lost node's resources are held (stonith-enabled).
	Watchdog time.Duration
	// Fencing gives every node a fencer and the stonith class of the
	// cluster's power switch (FenceAgent; AddFenceDevice configures it,
	// BreakFencing breaks it).
	Fencing bool
}

// Event is one change of a resource's activity on a node.
type Event struct {
	Seq      int
	At       time.Time // fake clock
	Real     time.Time
	Node     string
	Resource string
	Active   bool
	Why      string // start, stop, monitor, killed, failed, self-fence
}

// Cluster is a set of in-process nodes. Its methods are safe for
// concurrent use, except that only one goroutine should move the clock.
type Cluster struct {
	t     testing.TB
	opts  Options
	Clock *clock.Fake

	mu     sync.Mutex
	nodes  map[string]*Node
	names  []string
	group  map[string]int // partition group per node; equal groups reach each other
	events []Event
	active map[string]map[string]agents.Type // resource -> node -> agent
	double []string                          // violations seen
	lost   map[string]bool                   // nodes whose dispatch replies are lost
	// dispatched counts the ops dispatched, by transition key.
	dispatched map[string]int
	// power is the fence devices' power switch (Options.Fencing).
	power *powerSwitch
	step  sync.Mutex // serialises Advance
}

// Node is one in-process member: a consensus node on the in-memory
// transport, an executor with the builtin agents and the node runtime
// (package node, the daemon's), whose renewals and lease checks Advance
// drives on the fake clock.
type Node struct {
	Name string
	// Boot identifies the node's agent to the controller (Renewal.Boot).
	Boot   string
	c      *Cluster
	Raft   *consensus.Node
	trans  *consensus.MemTransport
	ex     *executor.Executor
	rt     *node.Runtime
	runDir string
	alive  bool
	// paused: frozen (Pause), it neither renews nor checks its lease.
	paused bool
	cancel context.CancelFunc
	done   chan struct{}
}

// New starts a cluster, bootstraps n1, joins the others and waits until
// every node is online in the store. It stops everything at test cleanup.
func New(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.Leases == (membership.Config{}) {
		opts.Leases = membership.DefaultConfig()
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	c := &Cluster{t: t, opts: opts, Clock: clock.NewFake(time.Unix(1_700_000_000, 0)),
		nodes: map[string]*Node{}, group: map[string]int{}, active: map[string]map[string]agents.Type{}}
	c.power = &powerSwitch{c: c}
	base := t.TempDir()
	for i := 1; i <= opts.Nodes; i++ {
		name := fmt.Sprintf("n%d", i)
		c.names = append(c.names, name)
		c.startNode(name, filepath.Join(base, name))
	}
	t.Cleanup(c.Close)
	n1 := c.nodes["n1"]
	if err := n1.Raft.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	c.WaitFor("n1 to lead", func() bool { return n1.Raft.IsLeader() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, name := range c.names {
		if r, err := n1.Raft.Join(ctx, name, c.nodes[name].trans.Addr(), store.RoleServer); err != nil || r.Err != nil {
			t.Fatalf("join %s: %v %v", name, err, r.Err)
		}
	}
	for _, name := range c.names {
		n := c.nodes[name]
		ctx, cancel := context.WithCancel(context.Background())
		n.cancel, n.done = cancel, make(chan struct{})
		go func() { n.rt.Run(ctx); close(n.done) }()
	}
	c.Eventually("every node online", func() bool {
		for _, name := range c.names {
			if c.NodeState(name) != store.StateOnline {
				return false
			}
		}
		return true
	})
	return c
}

func (c *Cluster) startNode(name, dir string) {
	tr := consensus.NewMemTransport("addr-" + name)
	for _, other := range c.nodes {
		tr.Connect(other.trans)
		other.trans.Connect(tr)
	}
	rc := consensus.DefaultConfig()
	rc.ID, rc.Role, rc.InMemory = name, store.RoleServer, true
	rc.HeartbeatTimeout, rc.ElectionTimeout, rc.LeaderLeaseTimeout = 50*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond
	rc.CommitTimeout, rc.ApplyTimeout = 5*time.Millisecond, 5*time.Second
	rc.LogOutput = io.Discard
	rn, err := consensus.NewNode(rc, tr.Transport())
	if err != nil {
		c.t.Fatal(err)
	}
	bc, err := builtin.New(builtin.Config{RunDir: dir})
	if err != nil {
		c.t.Fatal(err)
	}
	n := &Node{Name: name, c: c, Raft: rn, trans: tr, runDir: dir, alive: true}
	classes := map[string]executor.Agent{"builtin": &recorder{inner: bc, n: n}}
	var fencer *fence.Fencer
	if c.opts.Fencing {
		classes["stonith"] = c.power
		if fencer, err = fence.New(fence.Config{Runner: c.power, Logf: c.opts.Logf}); err != nil {
			c.t.Fatal(err)
		}
	}
	ex, err := executor.New(executor.Config{Node: name, Clock: c.Clock, Agents: classes})
	if err != nil {
		c.t.Fatal(err)
	}
	n.ex = ex
	rt, err := node.New(node.Config{Name: name, Node: rn, Executor: ex, Peers: links{c: c, from: name},
		Leases: c.opts.Leases, Manual: true, RetryEvery: 5 * time.Millisecond, Logf: c.opts.Logf,
		Watchdog: c.opts.Watchdog, Fencer: fencer, Clock: c.Clock, Propose: links{c: c, from: name}.propose,
		Controller: func(d controller.Dispatcher, f controller.Fencer) (*controller.Controller, error) {
			return controller.New(controller.Config{
				Node: name, Leases: c.opts.Leases, Tick: time.Hour, Clock: c.Clock,
				Dispatcher: d, Fencer: f, Gate: fence.GateInput, Logf: c.opts.Logf, Debug: os.Getenv("PACELINE_DEBUG") != "",
			}, rn)
		},
		Dispatcher: func(controller.Dispatcher) controller.Dispatcher { return dispatcher{c: c, from: name} },
	})
	if err != nil {
		c.t.Fatal(err)
	}
	n.rt, n.Boot = rt, rt.Boot()
	c.nodes[name] = n
}

// recorder wraps the builtin agents to record starts and stops.
type recorder struct {
	inner executor.Agent
	n     *Node
}

func (r *recorder) Run(ctx context.Context, req agents.Request) agents.Result {
	c := r.n.c
	switch req.Op {
	case "start", "migrate_from", "promote":
		// Count the resource active from the moment its start begins.
		c.event(r.n.Name, req.ResourceID, req.Agent, true, req.Op)
	}
	res := r.inner.Run(ctx, req)
	switch {
	case req.Op == "stop" && res.RC == agents.RCOK && res.Status == agents.StatusDone:
		c.event(r.n.Name, req.ResourceID, req.Agent, false, "stop")
	case req.Op == "monitor" && res.RC == agents.RCNotRunning:
		c.event(r.n.Name, req.ResourceID, req.Agent, false, "monitor")
	}
	return res
}

func (c *Cluster) event(node, rsc string, agent agents.Type, active bool, why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	on := c.active[rsc]
	if on == nil {
		on = map[string]agents.Type{}
		c.active[rsc] = on
	}
	_, was := on[node]
	if was == active {
		return
	}
	if active {
		on[node] = agent
	} else {
		delete(on, node)
	}
	c.events = append(c.events, Event{Seq: len(c.events), At: c.Clock.Now(), Real: time.Now(), Node: node, Resource: rsc, Active: active, Why: why})
	if len(on) > 1 {
		c.double = append(c.double, fmt.Sprintf("%s active on %v at %v (%s on %s)", rsc, keys(on), c.Clock.Now().Format("15:04:05.000"), why, node))
	}
}

func keys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// dispatcher delivers a leader's ops to node executors in-process,
// counting them (Dispatched).
type dispatcher struct {
	c    *Cluster
	from string
}

var errUnreachable = errors.New("testcluster: node unreachable")

func (d dispatcher) Dispatch(to string, op controller.Op) error {
	d.c.mu.Lock()
	if d.c.dispatched == nil {
		d.c.dispatched = map[string]int{}
	}
	d.c.dispatched[op.TransitionKey+" "+to+"/"+op.Resource.ID+"_"+op.Name]++
	d.c.mu.Unlock()
	return links(d).Exec(context.Background(), to, op)
}

// links are a node's calls to the others (node.Peers), in memory: a call
// reaches only a live node on the same side of any partition, and the
// callee knows the caller by name, as from its certificate.
type links struct {
	c    *Cluster
	from string
}

var _ node.Peers = links{}

// to returns the runtime of a node reachable from l.from.
func (l links) to(name string) (*node.Runtime, error) {
	if !l.c.reachable(l.from, name) {
		return nil, errUnreachable
	}
	l.c.mu.Lock()
	defer l.c.mu.Unlock()
	return l.c.nodes[name].rt, nil
}

// controller returns the controller of leader, reachable from l.from.
func (l links) controller(leader string) (*controller.Controller, error) {
	rt, err := l.to(leader)
	if err != nil {
		return nil, err
	}
	if c := rt.Controller(); c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("%w: %s runs no controller", consensus.ErrNotLeader, leader)
}

func (l links) Heartbeat(ctx context.Context, leader string, r controller.Renewal) error {
	c, err := l.controller(leader)
	if err != nil {
		return err
	}
	r.Node = l.from
	_, err = c.Heartbeat(ctx, r)
	return err
}

func (l links) Report(_ context.Context, leader, boot string, rh model.ResourceHistory, rec model.OpRecord) error {
	c, err := l.controller(leader)
	if err != nil {
		return err
	}
	return c.Report(l.from, boot, rh, rec)
}

// Exec hands op to the node's runtime (which refuses an op of an older
// term and counts a one-shot op busy until its result is delivered); a
// node whose replies are lost (LoseReplies) takes it and answers an error.
// propose applies cmd on the leader l.from reaches, as the daemon's
// Backend.Propose forwards it.
func (l links) propose(ctx context.Context, cmd store.Command) (store.Result, error) {
	_, leader := l.c.leader()
	if leader == "" {
		return store.Result{}, consensus.ErrNotLeader
	}
	if _, err := l.to(leader); err != nil {
		return store.Result{}, err
	}
	return l.c.Node(leader).Raft.Apply(ctx, cmd)
}

func (l links) Fence(_ context.Context, to, target, action, origin string) (store.FenceRecord, error) {
	rt, err := l.to(to)
	if err != nil {
		return store.FenceRecord{}, err
	}
	return rt.FenceNow(target, action, origin)
}

func (l links) Exec(_ context.Context, to string, op controller.Op) error {
	rt, err := l.to(to)
	if err != nil {
		return err
	}
	err = rt.Exec(op)
	l.c.mu.Lock()
	lost := l.c.lost[to]
	l.c.mu.Unlock()
	if err == nil && lost {
		return errReplyLost
	}
	return err
}

// Dispatched returns how many times each op was dispatched, by
// "TRANSITION-KEY node/rsc_op" (a transition key names one plan step).
func (c *Cluster) Dispatched() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.dispatched)
}

var errReplyLost = errors.New("testcluster: the node took the op, its reply was lost")

// LoseReplies makes the node take the ops dispatched to it while the
// leader hears an error, as when a reply is lost (lose false ends it).
func (c *Cluster) LoseReplies(node string, lose bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lost == nil {
		c.lost = map[string]bool{}
	}
	c.lost[node] = lose
}

// reachable reports whether a and b are both alive and on the same side
// of any partition.
func (c *Cluster) reachable(a, b string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	na, nb := c.nodes[a], c.nodes[b]
	return na != nil && nb != nil && na.alive && nb.alive && c.group[a] == c.group[b]
}

// leader returns the controller of the node that leads, if any.
func (c *Cluster) leader() (*controller.Controller, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, name := range c.names {
		n := c.nodes[name]
		if ctrl := n.rt.Controller(); n.alive && ctrl != nil && n.Raft.IsLeader() {
			return ctrl, name
		}
	}
	return nil, ""
}

// LeaderController returns the current leader's controller (nil if none).
func (c *Cluster) LeaderController() *controller.Controller {
	ctrl, _ := c.leader()
	return ctrl
}

// Leader returns the name of the node whose controller runs ("" if none).
func (c *Cluster) Leader() string {
	_, name := c.leader()
	return name
}

// Advance moves the fake clock by d in steps of one heartbeat; after each
// step the nodes that reach the leader renew their leases, and nodes whose
// lease expired stop their resources.
func (c *Cluster) Advance(d time.Duration) {
	c.step.Lock()
	defer c.step.Unlock()
	hb := c.opts.Leases.Heartbeat
	for moved := time.Duration(0); moved < d; moved += hb {
		c.Clock.Advance(hb)
		c.heartbeats()
	}
}

func (c *Cluster) heartbeats() {
	now := c.Clock.Now()
	for _, name := range c.names {
		c.mu.Lock()
		n := c.nodes[name]
		alive := n.alive && !n.paused
		c.mu.Unlock()
		if !alive {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		n.rt.Renew(ctx, now) // a node cut off from the leader does not renew
		cancel()
		if n.rt.CheckLease(now) {
			c.opts.Logf("testcluster: %s self-fenced", n.Name)
		}
	}
}

// WaitFor polls cond on real time (the fake clock stands still) for up to
// 10 s and fails the test if it never holds. The live nodes renew now and
// then at the same fake time, as real nodes renew in real time: a leader
// elected meanwhile (Raft's timers run in real time) dispatches nothing
// before every node has renewed with it.
func (c *Cluster) WaitFor(what string, cond func() bool) {
	c.t.Helper()
	for i, deadline := 0, time.Now().Add(10*time.Second); time.Now().Before(deadline); i++ {
		if cond() {
			return
		}
		if i%10 == 9 {
			c.step.Lock()
			c.heartbeats()
			c.step.Unlock()
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.t.Fatalf("testcluster: timed out waiting for %s", what)
}

// Eventually waits up to 10 s of real time for cond, advancing the fake
// clock one heartbeat every 10 ms while a leader's controller runs (time
// stands still during elections, so no lease lapses only because real
// time went by).
func (c *Cluster) Eventually(what string, cond func() bool) {
	c.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if cond() {
			return
		}
		if c.Leader() != "" {
			c.Advance(c.opts.Leases.Heartbeat)
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatalf("testcluster: timed out waiting for %s", what)
}

// Update changes the configuration on the leader (compare-and-set,
// retried on a lost race or a leader change).
func (c *Cluster) Update(why string, f func(cfg *model.Config)) {
	c.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		ctrl, leader := c.leader()
		if ctrl == nil {
			continue
		}
		n := c.Node(leader)
		cfg := n.Raft.Config()
		f(cfg)
		if err := cfg.Validate(); err != nil {
			c.t.Fatalf("testcluster: %s: %v", why, err)
		}
		r, err := n.Raft.Apply(context.Background(), store.NewConfigPut(cfg.Epoch, *cfg, store.Change{Author: "testcluster", Message: why}))
		if err == nil && r.Err == nil {
			ctrl.Kick()
			return
		}
	}
	c.t.Fatalf("testcluster: %s: no leader accepted the change", why)
}

// ApplyOnLeader proposes a command on the leader, retrying across leader
// changes.
func (c *Cluster) ApplyOnLeader(cmd store.Command) store.Result {
	c.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		ctrl, leader := c.leader()
		if ctrl == nil {
			continue
		}
		r, err := c.Node(leader).Raft.Apply(context.Background(), cmd)
		if err == nil {
			ctrl.Kick()
			return r
		}
	}
	c.t.Fatalf("testcluster: apply %s: no leader", cmd.Type)
	return store.Result{}
}

// CreateDummy adds a builtin:dummy primitive with a recurring monitor and
// the given meta-attributes.
func (c *Cluster) CreateDummy(id string, monitor time.Duration, meta map[string]string) {
	c.Update("create "+id, func(cfg *model.Config) {
		r := model.Resource{ID: id, Kind: model.KindPrimitive, Class: "builtin", Type: "dummy", Meta: meta}
		if monitor > 0 {
			r.Ops = []model.Op{{Name: "monitor", Interval: monitor, Timeout: 20 * time.Second}}
		}
		cfg.Resources = append(cfg.Resources, r)
	})
}

// SetProperty sets a cluster property.
func (c *Cluster) SetProperty(name, value string) {
	c.Update("property "+name, func(cfg *model.Config) {
		if cfg.Properties == nil {
			cfg.Properties = map[string]string{}
		}
		cfg.Properties[name] = value
	})
}

// Node returns the named node.
func (c *Cluster) Node(name string) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[name]
}

// Busy returns the one-shot ops the node took and whose results no
// leader has taken yet (what its renewals list).
func (n *Node) Busy() []controller.Busy { return n.rt.Busy() }

// NodeState returns a member's stored state as the leader (or else any
// live node) sees it.
func (c *Cluster) NodeState(name string) store.State {
	src := c.Leader()
	if src == "" {
		src = c.anyAlive()
	}
	var st store.State
	c.Node(src).Raft.Read(func(s *store.Store) {
		if m, ok := s.MemberState(name); ok {
			st = m.State
		}
	})
	return st
}

func (c *Cluster) anyAlive() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, name := range c.names {
		if c.nodes[name].alive {
			return name
		}
	}
	return ""
}

// ActiveOn returns the nodes where rsc is active now (by the agents'
// record), sorted.
func (c *Cluster) ActiveOn(rsc string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return keys(c.active[rsc])
}

// Events returns a copy of every recorded event.
func (c *Cluster) Events() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.events...)
}

// CheckNeverActiveTwice fails the test if any resource was ever active on
// two nodes at once.
func (c *Cluster) CheckNeverActiveTwice() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range c.double {
		c.t.Errorf("testcluster: safety violated: %s", d)
	}
}

// Fail makes a dummy resource stop behind the cluster's back (its state
// file disappears), so its next monitor reports "not running".
func (c *Cluster) Fail(node, rsc string) {
	n := c.Node(node)
	if err := os.Remove(filepath.Join(n.runDir, "dummy-"+rsc+".state")); err != nil {
		c.t.Fatalf("testcluster: fail %s on %s: %v", rsc, node, err)
	}
	c.event(node, rsc, agents.Type{}, false, "failed")
}

// Kill stops a node abruptly: its Raft instance and executor go away, its
// resources die with it (their state is removed) and it answers nobody.
func (c *Cluster) Kill(name string) {
	c.mu.Lock()
	n := c.nodes[name]
	if !n.alive {
		c.mu.Unlock()
		return
	}
	n.alive = false
	c.mu.Unlock()
	if n.cancel != nil {
		n.cancel() // its runtime and controller stop
		<-n.done
	}
	for _, other := range c.nodes {
		if other != n {
			other.trans.Disconnect(n.trans)
			n.trans.Disconnect(other.trans)
		}
	}
	n.Raft.Shutdown()
	n.ex.Close()
	for _, rsc := range c.resourcesOn(name) {
		os.Remove(filepath.Join(n.runDir, "dummy-"+rsc+".state"))
		c.event(name, rsc, agents.Type{}, false, "killed")
	}
}

func (c *Cluster) resourcesOn(node string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var rs []string
	for rsc, on := range c.active {
		if _, ok := on[node]; ok {
			rs = append(rs, rsc)
		}
	}
	sort.Strings(rs)
	return rs
}

// Partition splits the cluster: nodes in the same group reach each other,
// others do not (nodes not named form one more group).
func (c *Cluster) Partition(groups ...[]string) {
	c.mu.Lock()
	for _, name := range c.names {
		c.group[name] = 0
	}
	for i, g := range groups {
		for _, name := range g {
			c.group[name] = i + 1
		}
	}
	for _, a := range c.nodes {
		for _, b := range c.nodes {
			if a == b {
				continue
			}
			if c.group[a.Name] == c.group[b.Name] && a.alive && b.alive {
				a.trans.Connect(b.trans)
			} else {
				a.trans.Disconnect(b.trans)
			}
		}
	}
	c.mu.Unlock()
}

// Heal ends every partition.
func (c *Cluster) Heal() { c.Partition() }

// Close stops every node.
func (c *Cluster) Close() {
	for _, name := range c.names {
		c.Kill(name)
	}
}
