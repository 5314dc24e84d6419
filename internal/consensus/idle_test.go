package consensus

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/paceline/paceline/internal/store"
)

// countingTransport counts the heartbeats (isHeartbeat) a node sends, in
// all and to each target, and its pipelined appends to each target.
type countingTransport struct {
	raft.Transport
	// stall, when set and true, holds back the answers of the node's
	// pipelines (in order) until it is false again: a follower whose log
	// is slow to answer appends.
	stall      *atomic.Bool
	heartbeats atomic.Int64
	mu         sync.Mutex
	to         map[raft.ServerID]int64
	appends    map[raft.ServerID]int64
}

func (c *countingTransport) AppendEntriesPipeline(id raft.ServerID, target raft.ServerAddress) (raft.AppendPipeline, error) {
	p, err := c.Transport.AppendEntriesPipeline(id, target)
	if err != nil {
		return nil, err
	}
	cp := &countingPipeline{AppendPipeline: p, c: c, id: id}
	if c.stall != nil {
		cp.answers, cp.closed = make(chan raft.AppendFuture), make(chan struct{})
		go cp.relay(p.Consumer())
	}
	return cp, nil
}

type countingPipeline struct {
	raft.AppendPipeline
	c       *countingTransport
	id      raft.ServerID
	answers chan raft.AppendFuture
	closed  chan struct{}
	once    sync.Once
}

// relay passes answers on, each once c.stall is false.
func (p *countingPipeline) relay(in <-chan raft.AppendFuture) {
	for {
		select {
		case f := <-in:
			for p.c.stall.Load() {
				time.Sleep(5 * time.Millisecond)
			}
			select {
			case p.answers <- f:
			case <-p.closed:
				return
			}
		case <-p.closed:
			return
		}
	}
}

func (p *countingPipeline) Consumer() <-chan raft.AppendFuture {
	if p.answers == nil {
		return p.AppendPipeline.Consumer()
	}
	return p.answers
}

func (p *countingPipeline) Close() error {
	if p.closed != nil {
		p.once.Do(func() { close(p.closed) })
	}
	return p.AppendPipeline.Close()
}

func (p *countingPipeline) AppendEntries(args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) (raft.AppendFuture, error) {
	p.c.mu.Lock()
	if p.c.appends == nil {
		p.c.appends = map[raft.ServerID]int64{}
	}
	p.c.appends[p.id]++
	p.c.mu.Unlock()
	return p.AppendPipeline.AppendEntries(args, resp)
}

func (c *countingTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	if isHeartbeat(args) {
		c.heartbeats.Add(1)
		c.mu.Lock()
		if c.to == nil {
			c.to = map[raft.ServerID]int64{}
		}
		c.to[id]++
		c.mu.Unlock()
	}
	return c.Transport.AppendEntries(id, target, args, resp)
}

// traffic is what a leader sent one follower: heartbeats and pipelined
// appends.
type traffic struct{ heartbeats, appends int64 }

// traffic returns what c has sent to each node so far.
func (c *countingTransport) traffic() map[string]traffic {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]traffic{}
	for id, n := range c.to {
		tr := m[string(id)]
		tr.heartbeats = n
		m[string(id)] = tr
	}
	for id, n := range c.appends {
		tr := m[string(id)]
		tr.appends = n
		m[string(id)] = tr
	}
	return m
}

// since logs and returns what c sent each of the followers since before
// (a traffic snapshot), over window.
func (c *countingTransport) since(t *testing.T, before map[string]traffic, followers []string, window time.Duration) map[string]traffic {
	t.Helper()
	now, out := c.traffic(), map[string]traffic{}
	for _, id := range followers {
		d := traffic{now[id].heartbeats - before[id].heartbeats, now[id].appends - before[id].appends}
		t.Logf("%s: %d heartbeats and %d idle appends in %v", id, d.heartbeats, d.appends, window)
		out[id] = d
	}
	return out
}

// followersOf returns every node of c but leader.
func followersOf(c *cluster, leader *Node) []string {
	var ids []string
	for id := range c.nodes {
		if id != leader.ID() {
			ids = append(ids, id)
		}
	}
	return ids
}

// RequestPreVote keeps the wrapped transport's pre-vote (raft uses it
// only when the transport offers it, and the node paces only such).
func (c *countingTransport) RequestPreVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	return c.Transport.(raft.WithPreVote).RequestPreVote(id, target, args, resp)
}

// TestPromptCommitsReachFollowers: with PromptCommits, followers apply a
// change about a round trip after the leader even though raft's
// CommitTimeout, the other way they learn of it, is far longer than the
// test waits; changes proposed together (one barrier on its way while
// others commit) all reach them.
func TestPromptCommitsReachFollowers(t *testing.T) {
	c := newClusterWith(t, 3, &cluster{config: func(cfg *Config) {
		// Timeouts a loaded test host keeps (no election mid-test).
		cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = 200*time.Millisecond, 200*time.Millisecond, 150*time.Millisecond
		cfg.CommitTimeout, cfg.PromptCommits = time.Minute, true
	}})
	leader := c.waitLeader()
	epoch := leader.Epoch()
	for round := range 3 {
		start := time.Now()
		epoch = put(t, leader, epoch, fmt.Sprint("round-", round))
		c.waitEpoch(epoch) // fails after 5 s; without the prompt: a minute
		t.Logf("round %d: every follower at epoch %d %v after the put began", round, epoch, time.Since(start))
	}
	// Several proposals at once: the last commits while a barrier for an
	// earlier one may be on its way.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := leader.Apply(context.Background(), store.NewNodeAttrSet("n1", map[string]string{fmt.Sprint("a", i): "v"})); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	want := snapshotOf(t, leader)
	waitFor(t, "every follower to hold the leader's state", func() bool {
		for _, n := range c.nodes {
			if snapshotOf(t, n) != want {
				return false
			}
		}
		return true
	})
}

// TestClientHeartbeatsPaced: with ClientHeartbeat set, the leader
// heartbeats a client (a non-voter), and sends it idle appends, about
// once per ClientHeartbeat while the voters get raft's rates; the client still knows the leader all
// along (its own timeout is a few heartbeats), applies changes as they
// commit (appends are never held), and learns a new leader after a
// transfer.
func TestClientHeartbeatsPaced(t *testing.T) {
	const timeout, every = 200 * time.Millisecond, 250 * time.Millisecond
	counters := map[string]*countingTransport{}
	c := newClusterWith(t, 4, &cluster{
		roles: map[string]store.Role{"n4": store.RoleClient},
		config: func(cfg *Config) {
			cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = timeout, timeout, timeout*3/4
			cfg.ClientHeartbeat = every
			if cfg.Role == store.RoleClient {
				cfg.HeartbeatTimeout, cfg.ElectionTimeout = 4*every, 4*every
			}
		},
		wrap: func(id string, tr raft.Transport) raft.Transport {
			counters[id] = &countingTransport{Transport: tr}
			return counters[id]
		},
	})
	leader := c.waitLeader()
	if leader.ID() == "n4" {
		t.Fatal("the client leads")
	}
	client := c.nodes["n4"]
	before := counters[leader.ID()].traffic()
	const window = 2 * time.Second
	lost := 0
	epoch := leader.Epoch()
	for end := time.Now().Add(window); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if client.LeaderID() != leader.ID() {
			lost++
		}
	}
	for id, tr := range counters[leader.ID()].since(t, before, followersOf(c, leader), window) {
		sent, apps := tr.heartbeats, tr.appends
		if id == "n4" {
			if limit := int64(window/every) + 2; apps > limit {
				t.Errorf("the client got %d idle appends in %v, want at most %d (one per %v)", apps, window, limit, every)
			}
			if limit := int64(window/every) + 2; sent > limit {
				t.Errorf("the client got %d heartbeats in %v, want at most %d (one per %v)", sent, window, limit, every)
			}
			if sent == 0 {
				t.Error("the client got no heartbeat")
			}
		} else if floor := int64(window / (timeout / 5)); sent < floor {
			// Raft's rate for voters: one every tenth to fifth of the
			// timeout.
			t.Errorf("voter %s got %d heartbeats in %v, want at least %d", id, sent, window, floor)
		}
	}
	if lost > 0 {
		t.Errorf("the client did not know the leader in %d of its samples", lost)
	}
	// Changes reach the client as they commit.
	epoch = put(t, leader, epoch, "paced")
	c.waitEpoch(epoch)
	if got, want := snapshotOf(t, client), snapshotOf(t, leader); got != want {
		t.Fatal("the client's store differs from the leader's")
	}
	// A transfer: the client follows the new leader.
	if err := leader.TransferLeadership(context.Background()); err != nil {
		t.Fatal(err)
	}
	next := c.waitLeader()
	waitFor(t, "the client to know the new leader", func() bool { return client.LeaderID() == next.ID() })
}

// TestIsHeartbeat: only raft's heartbeats are held, never an append
// that carries a log position, entries or a commit index.
func TestIsHeartbeat(t *testing.T) {
	for _, tc := range []struct {
		req  raft.AppendEntriesRequest
		want bool
	}{
		{raft.AppendEntriesRequest{Term: 3}, true},
		{raft.AppendEntriesRequest{Term: 3, PrevLogEntry: 7, PrevLogTerm: 3}, false},
		{raft.AppendEntriesRequest{Term: 3, LeaderCommitIndex: 7}, false},
		{raft.AppendEntriesRequest{Term: 3, Entries: []*raft.Log{{Index: 1}}}, false},
	} {
		if got := isHeartbeat(&tc.req); got != tc.want {
			t.Errorf("isHeartbeat(%+v) = %v, want %v", tc.req, got, tc.want)
		}
	}
}

// TestClientGetsChangesWhileHeld: a client's idle appends are held for
// ClientHeartbeat (here a minute), yet a change reaches it at once,
// entries and the commit index alike: storing entries and applying a
// command let held appends go. (Held until the minute passed, the client
// would miss waitEpoch's 5 s.)
func TestClientGetsChangesWhileHeld(t *testing.T) {
	const timeout = 200 * time.Millisecond
	c := newClusterWith(t, 4, &cluster{
		roles: map[string]store.Role{"n4": store.RoleClient},
		config: func(cfg *Config) {
			cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = timeout, timeout, timeout*3/4
			cfg.ClientHeartbeat = time.Minute
			if cfg.Role == store.RoleClient {
				cfg.HeartbeatTimeout, cfg.ElectionTimeout = 4*time.Minute, 4*time.Minute
			}
		},
	})
	leader := c.waitLeader()
	epoch := leader.Epoch()
	for round := range 3 {
		time.Sleep(300 * time.Millisecond) // an idle append to the client is held by now
		start := time.Now()
		epoch = put(t, leader, epoch, fmt.Sprint("held-", round))
		c.waitEpoch(epoch)
		t.Logf("round %d: every node, the client too, at epoch %d %v after the put began", round, epoch, time.Since(start))
	}
}

// TestQuietHeartbeats: with QuietHeartbeats, the leader sends an idle
// voter next to no heartbeats while the voter answers raft's idle
// appends (every CommitTimeout to twice it); when those answers stop
// (held back here, as from a voter whose log waits on a slow disk), the
// heartbeats go again, one per quiet, and keep the leader in office past
// its lease timeout.
func TestQuietHeartbeats(t *testing.T) {
	const (
		timeout = time.Second
		quiet   = 300 * time.Millisecond
	)
	counters := map[string]*countingTransport{}
	var stall atomic.Bool
	c := newClusterWith(t, 3, &cluster{
		config: func(cfg *Config) {
			cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = timeout, timeout, timeout*3/4
			cfg.CommitTimeout, cfg.QuietHeartbeats = 50*time.Millisecond, quiet
		},
		wrap: func(id string, tr raft.Transport) raft.Transport {
			counters[id] = &countingTransport{Transport: tr, stall: &stall}
			return counters[id]
		},
	})
	leader := c.waitLeader()
	epoch := put(t, leader, leader.Epoch(), "start") // the pipelines are up
	c.waitEpoch(epoch)
	term := leader.Term()
	followers := followersOf(c, leader)
	const window = 2 * time.Second
	before := counters[leader.ID()].traffic()
	time.Sleep(window)
	for id, tr := range counters[leader.ID()].since(t, before, followers, window) {
		// Unheld, raft heartbeats every 100-200 ms: 10-20 in the window.
		if tr.heartbeats > 3 {
			t.Errorf("voter %s got %d heartbeats in %v while it answered appends, want at most 3", id, tr.heartbeats, window)
		}
		if tr.appends < int64(window/(100*time.Millisecond)) {
			t.Errorf("voter %s got %d idle appends in %v, want one per 50-100 ms", id, tr.appends, window)
		}
	}
	// The answers stop for twice the lease timeout: heartbeats alone keep
	// the leader in office.
	before = counters[leader.ID()].traffic()
	stall.Store(true)
	time.Sleep(2 * timeout * 3 / 4)
	stall.Store(false)
	for id, tr := range counters[leader.ID()].since(t, before, followers, 2*timeout*3/4) {
		if tr.heartbeats < 2 {
			t.Errorf("voter %s got %d heartbeats while its answers were held, want one per %v", id, tr.heartbeats, quiet)
		}
	}
	if !leader.IsLeader() || leader.Term() != term {
		t.Fatalf("the leader lost its office while the appends' answers were held (leads %v, term %d -> %d)", leader.IsLeader(), term, leader.Term())
	}
	epoch = put(t, leader, epoch, "after")
	c.waitEpoch(epoch)
}
