package consensus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/store"
)

// Errors of the consensus layer. Raft's own error is wrapped alongside
// (errors.Is works for both).
var (
	// ErrNotLeader: the call must be made on the leader (LeaderID says
	// which node that is).
	ErrNotLeader = errors.New("consensus: not the leader")
	// ErrLeadershipLost: leadership was lost before the command was
	// committed; it may or may not commit later.
	ErrLeadershipLost = errors.New("consensus: leadership lost")
	// ErrTimeout: the command was not committed in time; it may still
	// commit.
	ErrTimeout = errors.New("consensus: timed out")
	// ErrShutdown: the node is shut down.
	ErrShutdown = errors.New("consensus: shut down")
	// ErrAlreadyBootstrapped: the data dir already holds cluster state.
	ErrAlreadyBootstrapped = errors.New("consensus: already bootstrapped")
)

// Node is one member's Raft instance and its copy of the store. Its
// methods are safe for concurrent use.
type Node struct {
	cfg      Config
	raft     *raft.Raft
	fsm      *fsm
	trans    raft.Transport
	bolt     *raftboltdb.BoltStore // nil when InMemory
	leaderCh chan bool
	done     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
	// synced is set once CaughtUp has held since the node started.
	synced atomic.Bool
	// ledUntil is when this node last stopped leading (Unix nanoseconds).
	ledUntil atomic.Int64
	logs     raft.LogStore
	logger   hclog.Logger
	// pace holds idle messages (Config.ClientHeartbeat, QuietHeartbeats); nil
	// when nothing is held.
	pace *pacedTransport
	// prompt is the state of committed's barriers: one on its way
	// (busy), another wanted after it (again).
	prompt struct {
		sync.Mutex
		busy, again bool
	}
}

// NewNode starts a node: it opens (or creates) the log in cfg.DataDir,
// restores the latest snapshot and replays the log, and starts Raft on
// trans. The transport is the caller's (MemTransport.Transport or
// TLSTransport.Transport); Shutdown closes it if it can be closed. A
// node with no cluster state waits, as a follower without peers, until
// Bootstrap or until a leader adds it.
func NewNode(cfg Config, trans raft.Transport) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if trans == nil {
		return nil, fmt.Errorf("%w: transport is nil", ErrInvalidConfig)
	}
	out := cfg.LogOutput
	if out == nil {
		out = DefaultConfig().LogOutput
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "raft", Output: out, Level: hclog.LevelFromString(cfg.LogLevel)})

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	rc.CommitTimeout = cfg.CommitTimeout
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.TrailingLogs = cfg.TrailingLogs
	rc.Logger = logger
	notify := make(chan bool, 1)
	rc.NotifyCh = notify

	n := &Node{cfg: cfg, fsm: newFSM(), trans: trans, leaderCh: make(chan bool, 1), done: make(chan struct{}), logger: logger}
	var (
		logs   raft.LogStore
		stable raft.StableStore
		snaps  raft.SnapshotStore
	)
	if cfg.InMemory {
		mem := raft.NewInmemStore()
		logs, stable, snaps = mem, mem, raft.NewInmemSnapshotStore()
	} else {
		var err error
		if snaps, err = n.openDisk(logger); err != nil {
			return nil, err
		}
		logs, stable = n.bolt, n.bolt
		if logs, err = raft.NewLogCache(512, n.bolt); err != nil {
			n.bolt.Close()
			return nil, fmt.Errorf("consensus: log cache: %w", err)
		}
	}
	if _, err := recoverAlone(cfg, rc, logs, stable, snaps, trans); err != nil { // twonode.go
		if n.bolt != nil {
			n.bolt.Close()
		}
		return nil, err
	}
	paced := newPacedTransport(trans, cfg.ClientHeartbeat, cfg.QuietHeartbeats, n.fsm.clientOf, n.IsLeader) // pace.go
	raftLogs := logs
	if pt, ok := paced.(*pacedTransport); ok {
		// Held appends go when the leader stores new entries or commits a
		// command (so its new commit index follows within a CommitTimeout).
		n.pace, raftLogs = pt, kickingLogs{LogStore: logs, kick: pt.kick}
		n.fsm.onApply = pt.kick
	}
	r, err := raft.NewRaft(rc, n.fsm, raftLogs, stable, snaps, paced)
	if err != nil {
		if n.bolt != nil {
			n.bolt.Close()
		}
		return nil, fmt.Errorf("consensus: start raft: %w", err)
	}
	n.raft, n.logs = r, logs
	n.fsm.started(r.AppliedIndex()) // the snapshot NewRaft restored
	n.wg.Add(1)
	go n.forwardLeadership(notify)
	return n, nil
}

// openDisk creates the data dir (0700) and opens the bolt log store
// (raft.db, 0600) and the snapshot store (snapshots/, 0700).
func (n *Node) openDisk(logger hclog.Logger) (raft.SnapshotStore, error) {
	dir := n.cfg.DataDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("consensus: data dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("consensus: data dir: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, n.cfg.SnapshotRetain, logger)
	if err != nil {
		return nil, fmt.Errorf("consensus: snapshot store: %w", err)
	}
	// raft creates snapshots/ with mode 0755; narrow it.
	if err := os.Chmod(filepath.Join(dir, "snapshots"), 0o700); err != nil {
		return nil, fmt.Errorf("consensus: snapshot store: %w", err)
	}
	b, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db")})
	if err != nil {
		return nil, fmt.Errorf("consensus: open log: %w", err)
	}
	n.bolt = b
	return snaps, nil
}

// forwardLeadership consumes raft's notifications (raft blocks on them)
// and keeps only the latest in leaderCh.
func (n *Node) forwardLeadership(notify <-chan bool) {
	defer n.wg.Done()
	for {
		select {
		case <-n.done:
			return
		case v := <-notify:
			if !v {
				n.ledUntil.Store(time.Now().UnixNano())
			}
			if !v && n.pace != nil {
				n.pace.kick() // held messages of a former leader end
			}
			select {
			case <-n.leaderCh:
			default:
			}
			n.leaderCh <- v
		}
	}
}

// LeaderCh delivers true when this node becomes the leader and false when
// it stops being the leader. It holds only the latest change: a slow
// reader sees the current state, not every transition. There is one
// channel per node; give it one reader.
func (n *Node) LeaderCh() <-chan bool { return n.leaderCh }

// IsLeader reports whether this node is the leader now.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Term returns this node's current Raft term. A leader elected later has
// a higher term; a node whose term is higher than an op's has heard of a
// newer leader than the one that sent it.
func (n *Node) Term() uint64 { return n.raft.CurrentTerm() }

// Stats returns hashicorp/raft's description of this node (state, term,
// last_log_index, commit_index, applied_index, last_contact,
// latest_configuration, ...), for support reports; the caller owns it.
func (n *Node) Stats() map[string]string { return n.raft.Stats() }

// LeaderID returns the leader's ID as this node knows it, or "" when it
// knows none.
func (n *Node) LeaderID() string {
	_, id := n.raft.LeaderWithID()
	return string(id)
}

// LeaderSeen returns when this node last knew a leader: now while it
// knows one (itself or another), else the later of its last contact with
// a leader and the end of its own office.
func (n *Node) LeaderSeen() time.Time {
	if n.LeaderID() != "" {
		return time.Now()
	}
	seen := n.raft.LastContact()
	if led := time.Unix(0, n.ledUntil.Load()); led.After(seen) {
		seen = led
	}
	return seen
}

// CaughtUp reports whether this node knows a leader, has learnt from it
// what is committed, and has applied all of it: its store is then the
// cluster's current state, not a restarted node's older one it is still
// replaying. (A restarted node knows nothing committed, index 0, until
// the leader's first accepted append tells it.)
func (n *Node) CaughtUp() bool {
	commit := n.raft.CommitIndex()
	ok := n.LeaderID() != "" && commit > 0 && n.raft.AppliedIndex() >= commit && n.fsmReached(commit)
	if ok {
		n.synced.Store(true)
	}
	return ok
}

// fsmReached reports whether the store has applied every command up to
// index: Raft counts entries applied once handed to the FSM goroutine,
// and passes it only commands (no no-ops, barriers or configurations), so
// the store's last command index may rightly be lower than index when
// only such entries follow it in the log.
func (n *Node) fsmReached(index uint64) bool {
	got := n.fsm.applied()
	if got >= index {
		return true
	}
	for i := index; i > got && index-i < 1024; i-- {
		var l raft.Log
		if err := n.logs.GetLog(i, &l); err != nil {
			return true // compacted into a snapshot the store restored
		}
		if l.Type == raft.LogCommand {
			return false
		}
	}
	return index-got < 1024
}

// Synced reports whether CaughtUp has held (when asked) since this node
// started: a node cut off since has the state of then, one that was never
// caught up the older state it restarted with.
func (n *Node) Synced() bool { return n.synced.Load() }

// ID returns this node's ID.
func (n *Node) ID() string { return n.cfg.ID }

// Bootstrap makes this node a one-voter cluster. Only a server or witness
// with no cluster state may bootstrap; it then elects itself and adds the
// others with Join. It does not record the node in the store: the caller
// applies store.NewNodeJoin once the node leads (or calls Join on itself).
func (n *Node) Bootstrap() error {
	if !n.cfg.Role.Voter() {
		return fmt.Errorf("consensus: bootstrap: a %s is not a voter", n.cfg.Role)
	}
	cfg := raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: raft.ServerID(n.cfg.ID), Address: n.trans.LocalAddr()}}}
	err := n.raft.BootstrapCluster(cfg).Error()
	if errors.Is(err, raft.ErrCantBootstrap) {
		return fmt.Errorf("%w: %w", ErrAlreadyBootstrapped, err)
	}
	return mapErr("bootstrap", err, n)
}

// Join adds a member (on the leader): as a Raft voter for a server or
// witness, a non-voter for a client, then records it in the store
// (store.NodeJoin). Joining again with the same role and address is a
// no-op. It blocks until both changes commit or the deadline passes.
func (n *Node) Join(ctx context.Context, id string, addr string, role store.Role) (store.Result, error) {
	return n.JoinAt(ctx, id, addr, addr, role)
}

// JoinAt is Join for a member whose API address (recorded in the store,
// where other nodes look it up) differs from its Raft address.
func (n *Node) JoinAt(ctx context.Context, id, raftAddr, apiAddr string, role store.Role) (store.Result, error) {
	if !role.Valid() {
		return store.Result{}, fmt.Errorf("consensus: join %s: %w: %q", id, store.ErrInvalidRole, role)
	}
	if err := n.addServer(ctx, id, raftAddr, role); err != nil {
		return store.Result{}, err
	}
	return n.Apply(ctx, store.NewNodeJoin(id, role, apiAddr))
}

func (n *Node) addServer(ctx context.Context, id, addr string, role store.Role) error {
	want := raft.Nonvoter
	if role.Voter() {
		want = raft.Voter
	}
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return mapErr("join "+id, err, n)
	}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == id && string(s.Address) == addr && s.Suffrage == want {
			return nil
		}
	}
	timeout := n.deadline(ctx)
	var fut raft.IndexFuture
	if want == raft.Voter {
		fut = n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, time.Until(timeout))
	} else {
		fut = n.raft.AddNonvoter(raft.ServerID(id), raft.ServerAddress(addr), 0, time.Until(timeout))
	}
	return n.waitEntry(ctx, "join "+id, fut)
}

// Leave removes a member (on the leader): from the store first, then from
// the Raft configuration. A leader may remove itself; it then steps down.
func (n *Node) Leave(ctx context.Context, id string) (store.Result, error) {
	res, err := n.Apply(ctx, store.NewNodeLeave(id))
	if err != nil {
		return res, err
	}
	if res.Err != nil && !errors.Is(res.Err, store.ErrUnknownNode) {
		return res, nil
	}
	timeout := n.deadline(ctx)
	return res, n.waitEntry(ctx, "leave "+id, n.raft.RemoveServer(raft.ServerID(id), 0, time.Until(timeout)))
}

// Apply proposes a command (on the leader) and waits until it is committed
// and applied here. The error is about consensus (ErrNotLeader,
// ErrLeadershipLost, ErrTimeout, ErrShutdown, the context's error); the
// store's verdict is Result.Err (store.ErrEpochMismatch, ...). It waits at
// most ApplyTimeout or until ctx ends; after a timeout or leadership loss
// the command may still commit.
func (n *Node) Apply(ctx context.Context, cmd store.Command) (store.Result, error) {
	b, err := store.Encode(cmd)
	if err != nil {
		return store.Result{}, err
	}
	timeout := n.deadline(ctx)
	f := n.raft.Apply(b, time.Until(timeout))
	if err := n.waitEntry(ctx, "apply "+string(cmd.Type), f); err != nil {
		return store.Result{}, err
	}
	res, ok := f.Response().(store.Result)
	if !ok {
		return store.Result{}, fmt.Errorf("consensus: apply %s: unexpected response %T", cmd.Type, f.Response())
	}
	return res, nil
}

// Barrier waits until every entry committed before the call is applied
// here (on the leader): a new leader calls it before it reads the store
// to act on it.
func (n *Node) Barrier(ctx context.Context) error {
	timeout := n.deadline(ctx)
	return n.waitEntry(ctx, "barrier", n.raft.Barrier(time.Until(timeout)))
}

// Snapshot takes a snapshot now and compacts the log (leaving
// TrailingLogs entries).
func (n *Node) Snapshot() error {
	return mapErr("snapshot", n.raft.Snapshot().Error(), n)
}

// Read calls fn with the local store under a read lock. The store may be
// behind the leader's. fn must return quickly, must not keep the store
// and must not call Apply on it; the store's read methods return copies.
func (n *Node) Read(fn func(*store.Store)) { n.fsm.read(fn) }

// Config returns a copy of the local configuration.
func (n *Node) Config() (c *model.Config) {
	n.Read(func(s *store.Store) { c = s.Config() })
	return c
}

// Status returns a copy of the local status (see store.Store.Status).
func (n *Node) Status() (st *model.Status) {
	n.Read(func(s *store.Store) { st = s.Status() })
	return st
}

// Epoch returns the local configuration epoch.
func (n *Node) Epoch() (e uint64) {
	n.Read(func(s *store.Store) { e = s.Epoch() })
	return e
}

// TransferLeadership hands leadership to another voter (Raft's
// leadership transfer) and waits until it is done or fails: a leader that
// shuts down cleanly moves leadership first, so the cluster is never
// without a controller while it drains. ErrNotLeader when this node does
// not lead.
func (n *Node) TransferLeadership(ctx context.Context) error {
	if !n.IsLeader() {
		return fmt.Errorf("consensus: transfer leadership: %w", ErrNotLeader)
	}
	return n.wait(ctx, "transfer leadership", n.raft.LeadershipTransfer())
}

// Shutdown stops Raft and closes the log. It is safe to call more than
// once.
func (n *Node) Shutdown() error {
	var err error
	n.stopOnce.Do(func() {
		if n.pace != nil {
			n.pace.shutdown() // raft's shutdown waits for held heartbeats
		}
		err = n.raft.Shutdown().Error()
		close(n.done)
		n.wg.Wait()
		if n.bolt != nil {
			if cerr := n.bolt.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("consensus: close log: %w", cerr)
			}
		}
	})
	return err
}

// deadline returns the earlier of ctx's deadline and now+ApplyTimeout.
func (n *Node) deadline(ctx context.Context) time.Time {
	d := time.Now().Add(n.cfg.ApplyTimeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	return d
}

// wait waits for a raft future until the deadline or ctx ends.
func (n *Node) wait(ctx context.Context, what string, f raft.Future) error {
	return n.waitFuture(ctx, what, f, false)
}

// waitEntry is wait for the future of a log entry this node proposed:
// once it is committed, the followers are told (Config.PromptCommits),
// also when the caller stopped waiting.
func (n *Node) waitEntry(ctx context.Context, what string, f raft.Future) error {
	return n.waitFuture(ctx, what, f, n.cfg.PromptCommits)
}

func (n *Node) waitFuture(ctx context.Context, what string, f raft.Future, prompt bool) error {
	done := make(chan error, 1)
	go func() {
		err := f.Error()
		if err == nil && prompt {
			n.committed()
		}
		done <- err
	}()
	d := n.deadline(ctx)
	t := time.NewTimer(time.Until(d))
	defer t.Stop()
	select {
	case err := <-done:
		return mapErr(what, err, n)
	case <-ctx.Done():
		return fmt.Errorf("consensus: %s: %w", what, ctx.Err())
	case <-t.C:
		return fmt.Errorf("consensus: %s: %w", what, ErrTimeout)
	}
}

// committed tells the followers the leader's commit index now
// (Config.PromptCommits): a barrier entry, whose append carries it, unless
// one is on its way already; then another once that one is done, for
// what committed meanwhile. Raft itself tells them only with the next
// append, at the latest CommitTimeout later.
func (n *Node) committed() {
	n.prompt.Lock()
	if n.prompt.busy {
		n.prompt.again = true
		n.prompt.Unlock()
		return
	}
	n.prompt.busy = true
	n.prompt.Unlock()
	go func() {
		for {
			// An error (no longer the leader, shut down) leaves nothing to
			// tell: a new leader's first append carries its commit index.
			n.raft.Barrier(n.cfg.ApplyTimeout).Error()
			n.prompt.Lock()
			if !n.prompt.again {
				n.prompt.busy = false
				n.prompt.Unlock()
				return
			}
			n.prompt.again = false
			n.prompt.Unlock()
		}
	}()
}

// mapErr wraps raft's errors with the package's.
func mapErr(what string, err error, n *Node) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrNotVoter):
		return fmt.Errorf("consensus: %s: %w (leader %q): %w", what, ErrNotLeader, n.LeaderID(), err)
	case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return fmt.Errorf("consensus: %s: %w: %w", what, ErrLeadershipLost, err)
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("consensus: %s: %w: %w", what, ErrTimeout, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return fmt.Errorf("consensus: %s: %w: %w", what, ErrShutdown, err)
	}
	return fmt.Errorf("consensus: %s: %w", what, err)
}
