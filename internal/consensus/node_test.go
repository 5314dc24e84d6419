package consensus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/store"
)

// testConfig is a config with tight timeouts for fast in-process tests.
func testConfig(id, dir string) Config {
	c := DefaultConfig()
	c.ID, c.Role = id, store.RoleServer
	if dir == "" {
		c.InMemory = true
	} else {
		c.DataDir = dir
	}
	c.HeartbeatTimeout = 50 * time.Millisecond
	c.ElectionTimeout = 50 * time.Millisecond
	c.LeaderLeaseTimeout = 50 * time.Millisecond
	c.CommitTimeout = 5 * time.Millisecond
	c.ApplyTimeout = 5 * time.Second
	c.TrailingLogs = 2
	if testing.Verbose() {
		c.LogOutput, c.LogLevel = os.Stderr, "info"
	}
	return c
}

// cluster is n in-process nodes over raft's in-memory transport.
type cluster struct {
	t      *testing.T
	nodes  map[string]*Node
	trans  map[string]*raft.InmemTransport
	dirs   map[string]string
	onDisk bool
	// config, if set, adjusts each node's testConfig.
	config func(*Config)
	// wrap, if set, wraps each node's transport (to count what it sends).
	wrap func(id string, t raft.Transport) raft.Transport
	// roles, if set, gives nodes another role than server (a client
	// joins as a non-voter).
	roles map[string]store.Role
}

// role is id's role in c.
func (c *cluster) role(id string) store.Role {
	if r, ok := c.roles[id]; ok {
		return r
	}
	return store.RoleServer
}

func newCluster(t *testing.T, size int, onDisk bool) *cluster {
	t.Helper()
	return newClusterWith(t, size, &cluster{onDisk: onDisk})
}

// newClusterWith is newCluster with c's config and wrap.
func newClusterWith(t *testing.T, size int, c *cluster) *cluster {
	t.Helper()
	c.t, c.nodes, c.trans, c.dirs = t, map[string]*Node{}, map[string]*raft.InmemTransport{}, map[string]string{}
	onDisk := c.onDisk
	for i := 1; i <= size; i++ {
		id := fmt.Sprintf("n%d", i)
		if onDisk {
			c.dirs[id] = filepath.Join(t.TempDir(), id)
		}
		c.start(id)
	}
	t.Cleanup(func() {
		for _, n := range c.nodes {
			n.Shutdown()
		}
	})
	// n1 bootstraps and adds the others through the join path.
	n1 := c.nodes["n1"]
	if err := n1.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "n1 to lead", n1.IsLeader)
	ctx := context.Background()
	for i := 1; i <= size; i++ {
		id := fmt.Sprintf("n%d", i)
		if r, err := n1.Join(ctx, id, string(c.trans[id].LocalAddr()), c.role(id)); err != nil || r.Err != nil {
			t.Fatalf("join %s: %v %v", id, err, r.Err)
		}
	}
	c.waitLeader()
	return c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// start starts (or restarts) a node on a fresh transport at its address
// and connects it with every running node.
func (c *cluster) start(id string) *Node {
	c.t.Helper()
	_, tr := raft.NewInmemTransport(raft.ServerAddress("addr-" + id))
	c.trans[id] = tr
	for other, ot := range c.trans {
		if other != id {
			tr.Connect(ot.LocalAddr(), ot)
			ot.Connect(tr.LocalAddr(), tr)
		}
	}
	cfg := testConfig(id, c.dirs[id])
	cfg.Role = c.role(id)
	if c.config != nil {
		c.config(&cfg)
	}
	var trans raft.Transport = tr
	if c.wrap != nil {
		trans = c.wrap(id, tr)
	}
	n, err := NewNode(cfg, trans)
	if err != nil {
		c.t.Fatal(err)
	}
	c.nodes[id] = n
	return n
}

// stop shuts a node down and disconnects it.
func (c *cluster) stop(id string) {
	c.t.Helper()
	if err := c.nodes[id].Shutdown(); err != nil {
		c.t.Fatalf("shutdown %s: %v", id, err)
	}
	for other, ot := range c.trans {
		if other != id {
			ot.Disconnect(c.trans[id].LocalAddr())
		}
	}
	delete(c.nodes, id)
	delete(c.trans, id)
}

// waitLeader waits until every running node agrees on one leader and
// returns it.
func (c *cluster) waitLeader() *Node {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var leader *Node
		agreed := true
		for _, n := range c.nodes {
			if n.IsLeader() {
				leader = n
			}
		}
		if leader != nil {
			for _, n := range c.nodes {
				agreed = agreed && n.LeaderID() == leader.ID()
			}
			if agreed {
				return leader
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatalf("no leader agreed on within 5s")
	return nil
}

// waitEpoch waits until every running node has applied epoch e.
func (c *cluster) waitEpoch(e uint64) {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		all := true
		for _, n := range c.nodes {
			all = all && n.Epoch() >= e
		}
		if all {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	for id, n := range c.nodes {
		c.t.Logf("%s: epoch %d", id, n.Epoch())
	}
	c.t.Fatalf("epoch %d not applied everywhere within 5s", e)
}

// put replaces the configuration on the leader with CAS and fails the
// test unless it is accepted.
func put(t *testing.T, leader *Node, expected uint64, prop string) uint64 {
	t.Helper()
	cfg := leader.Config()
	cfg.Properties = map[string]string{"marker": prop}
	r, err := leader.Apply(context.Background(), store.NewConfigPut(expected, *cfg, store.Change{Author: "test"}))
	if err != nil || r.Err != nil {
		t.Fatalf("put %s at epoch %d: %v %v", prop, expected, err, r.Err)
	}
	return r.Epoch
}

func snapshotOf(t *testing.T, n *Node) string {
	t.Helper()
	var b []byte
	var err error
	n.Read(func(s *store.Store) { b, err = s.Snapshot() })
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestClusterReplicatesWithCAS(t *testing.T) {
	c := newCluster(t, 3, false)
	leader := c.waitLeader()
	// The three joins are three epochs (each adds a node entry).
	e := leader.Epoch()
	if e != 3 || len(leader.Config().Nodes) != 3 {
		t.Fatalf("after three joins: epoch %d, nodes %v", e, leader.Config().Nodes)
	}
	e = put(t, leader, e, "a")
	// A stale compare-and-set is rejected by the store, on every node alike.
	r, err := leader.Apply(context.Background(), store.NewConfigPut(e-1, model.Config{}, store.Change{}))
	if err != nil || !errors.Is(r.Err, store.ErrEpochMismatch) || r.Epoch != e {
		t.Fatalf("stale put: %+v, %v", r, err)
	}
	c.waitEpoch(e)
	want := snapshotOf(t, leader)
	for id, n := range c.nodes {
		if got := snapshotOf(t, n); got != want {
			t.Errorf("%s's state differs from the leader's", id)
		}
		if n.Config().Properties["marker"] != "a" {
			t.Errorf("%s: config %+v", id, n.Config())
		}
	}
	// A follower refuses to propose and names the leader.
	for _, n := range c.nodes {
		if n == leader {
			continue
		}
		_, err := n.Apply(context.Background(), store.NewConfigPut(e, model.Config{}, store.Change{}))
		if !errors.Is(err, ErrNotLeader) || !strings.Contains(err.Error(), leader.ID()) {
			t.Fatalf("apply on follower: %v", err)
		}
		break
	}
}

func TestLeaderLossKeepsAcknowledgedChanges(t *testing.T) {
	c := newCluster(t, 3, false)
	leader := c.waitLeader()
	select { // the leader was told
	case v := <-leader.LeaderCh():
		if !v {
			t.Fatal("leader's LeaderCh says false")
		}
	case <-time.After(time.Second):
		t.Fatal("no leadership notification")
	}
	acked := leader.Epoch()
	for i := range 5 {
		acked = put(t, leader, acked, fmt.Sprint("before-", i))
	}
	old := leader.ID()
	start := time.Now()
	c.stop(old)
	leader = c.waitLeader()
	t.Logf("new leader %s after %v", leader.ID(), time.Since(start))
	if leader.ID() == old {
		t.Fatal("the stopped node is still the leader")
	}
	// Every acknowledged change survives: the new leader applies the log
	// up to the last acknowledged epoch, and CAS against it succeeds.
	if err := leader.Barrier(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := leader.Epoch(); got != acked {
		t.Fatalf("new leader at epoch %d, acknowledged %d", got, acked)
	}
	if m := leader.Config().Properties["marker"]; m != "before-4" {
		t.Fatalf("new leader's config marker %q", m)
	}
	e := put(t, leader, acked, "after")
	c.waitEpoch(e)
}

func TestSnapshotRestoreOnRestart(t *testing.T) {
	c := newCluster(t, 3, true)
	leader := c.waitLeader()
	e := leader.Epoch()
	for i := range 5 {
		e = put(t, leader, e, fmt.Sprint("one-", i))
	}
	c.waitEpoch(e)
	// A follower snapshots (so its restart restores from its own
	// snapshot), then goes down.
	var follower string
	for id, n := range c.nodes {
		if n != leader {
			follower = id
			break
		}
	}
	if err := c.nodes[follower].Snapshot(); err != nil {
		t.Fatal(err)
	}
	c.stop(follower)
	// The cluster moves on and the leader compacts its log past the
	// follower (TrailingLogs is 2), so the follower must install the
	// leader's snapshot to catch up.
	for i := range 5 {
		e = put(t, leader, e, fmt.Sprint("two-", i))
	}
	if err := leader.Snapshot(); err != nil {
		t.Fatal(err)
	}
	n := c.start(follower)
	if got := n.Epoch(); got < 8 { // 3 joins + 5 puts, from its own snapshot
		t.Fatalf("restarted %s restored epoch %d, want at least 8", follower, got)
	}
	c.waitEpoch(e)
	if got, want := snapshotOf(t, n), snapshotOf(t, leader); got != want {
		t.Fatalf("restarted %s differs from the leader", follower)
	}
	// Files are private.
	dir := c.dirs[follower]
	for _, p := range []string{dir, filepath.Join(dir, "snapshots"), filepath.Join(dir, "raft.db")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want no group or other access", p, fi.Mode().Perm())
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (&Config{}).Validate(); err == nil {
		t.Fatal("zero config validated")
	}
	good := DefaultConfig()
	good.ID, good.Role, good.DataDir = "n1", store.RoleServer, "/tmp/x"
	if err := good.Validate(); err != nil {
		t.Fatalf("default config with ID, role and data dir: %v", err)
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no id", func(c *Config) { c.ID = "" }, "node ID is empty"},
		{"bad role", func(c *Config) { c.Role = "voter" }, `role "voter"`},
		{"no data dir", func(c *Config) { c.DataDir = "" }, "data dir is empty"},
		{"heartbeat", func(c *Config) { c.HeartbeatTimeout = time.Millisecond }, "heartbeat timeout 1ms is below 5ms"},
		{"client heartbeat", func(c *Config) { c.ClientHeartbeat = -time.Second }, "client heartbeat -1s is negative"},
		{"quiet too long", func(c *Config) { c.QuietHeartbeats = 200 * time.Millisecond }, "quiet heartbeats 200ms is not between 0 and half the leader lease timeout (125ms)"},
		{"quiet negative", func(c *Config) { c.QuietHeartbeats = -time.Second }, "quiet heartbeats -1s"},
		{"election", func(c *Config) { c.ElectionTimeout = 100 * time.Millisecond }, "election timeout 100ms is below the heartbeat timeout 500ms"},
		{"lease", func(c *Config) { c.LeaderLeaseTimeout = time.Second }, "leader lease timeout 1s"},
		{"commit", func(c *Config) { c.CommitTimeout = 0 }, "commit timeout 0s"},
		{"apply", func(c *Config) { c.ApplyTimeout = 0 }, "apply timeout 0s"},
		{"retain", func(c *Config) { c.SnapshotRetain = 0 }, "snapshot retain 0"},
		{"log level", func(c *Config) { c.LogLevel = "loud" }, `log level "loud"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			err := c.Validate()
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestBootstrapRules(t *testing.T) {
	_, tr := raft.NewInmemTransport("")
	cfg := testConfig("c1", "")
	cfg.Role = store.RoleClient
	n, err := NewNode(cfg, tr)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Shutdown()
	if err := n.Bootstrap(); err == nil {
		t.Fatal("a client bootstrapped")
	}
	_, tr2 := raft.NewInmemTransport("")
	n2, err := NewNode(testConfig("s1", ""), tr2)
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Shutdown()
	if err := n2.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	if err := n2.Bootstrap(); !errors.Is(err, ErrAlreadyBootstrapped) {
		t.Fatalf("second bootstrap: %v", err)
	}
}

// WaitChange wakes a follower's reader when a change committed on the
// leader is applied there, and not for a rejected command.
func TestWaitChangeOnFollower(t *testing.T) {
	c := newCluster(t, 3, false)
	leader := c.waitLeader()
	var follower *Node
	for _, n := range c.nodes {
		if n != leader {
			follower = n
			break
		}
	}
	e := leader.Epoch()
	c.waitEpoch(e)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	idx, err := follower.WaitChange(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A stale put changes nothing: no wake-up.
	if r, err := leader.Apply(ctx, store.NewConfigPut(e-1, model.Config{}, store.Change{})); err != nil || r.Err == nil {
		t.Fatalf("stale put: %+v %v", r, err)
	}
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	if got, err := follower.WaitChange(short, idx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("woke for a rejected command: index %d -> %d, %v", idx, got, err)
	}
	cancelShort()
	done := make(chan uint64, 1)
	go func() {
		got, _ := follower.WaitChange(ctx, idx)
		done <- got
	}()
	put(t, leader, e, "b")
	select {
	case got := <-done:
		if got <= idx {
			t.Errorf("index %d after a change, was %d", got, idx)
		}
		if follower.Config().Properties["marker"] != "b" {
			t.Errorf("woke before the change was applied: %+v", follower.Config().Properties)
		}
	case <-ctx.Done():
		t.Fatal("follower never saw the change")
	}
}

// TestFollowerReachesLeaderIndex: a follower's store reaches the index the
// leader applied (controller.Op.Index), also when the cluster is idle
// after the change (the leader's commit reaches followers without a next
// entry).
func TestFollowerReachesLeaderIndex(t *testing.T) {
	c := newCluster(t, 3, false)
	leader := c.waitLeader()
	e := leader.Epoch()
	c.waitEpoch(e)
	put(t, leader, e, "idle-after-this")
	index := leader.Applied()
	for _, n := range c.nodes {
		waitFor(t, n.ID()+" to reach the leader's index", func() bool { return n.Reached(index) })
	}
	if leader.Reached(index + 1000) {
		t.Errorf("the leader reports an index it has not applied as reached")
	}
}
