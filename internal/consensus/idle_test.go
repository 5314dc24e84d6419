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

// countingTransport counts the heartbeats (empty appends without a log
// position or commit index, as raft's heartbeat loop sends them) a node
// sends.
type countingTransport struct {
	raft.Transport
	heartbeats atomic.Int64
}

func (c *countingTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	if args.PrevLogEntry == 0 && args.PrevLogTerm == 0 && args.LeaderCommitIndex == 0 && len(args.Entries) == 0 {
		c.heartbeats.Add(1)
	}
	return c.Transport.AppendEntries(id, target, args, resp)
}

// heartbeatsPerFollower counts the heartbeats c's leader sends each
// follower in one second, and returns them with the leader.
func heartbeatsPerFollower(t *testing.T, c *cluster, counters map[string]*countingTransport) (float64, *Node) {
	t.Helper()
	leader := c.waitLeader()
	before := counters[leader.ID()].heartbeats.Load()
	time.Sleep(time.Second)
	sent := counters[leader.ID()].heartbeats.Load() - before
	return float64(sent) / float64(len(c.nodes)-1), leader
}

// TestLeaderHeartbeatInterval: with HeartbeatInterval set, the leader
// sends a heartbeat to each follower every interval to twice it (raft's
// randomisation), not every tenth of the heartbeat timeout; a node that
// stops leading gets the follower's timeout back, so it detects the loss
// of its successor as fast as any follower; and the cluster still
// elects a new leader when the leader is lost.
func TestLeaderHeartbeatInterval(t *testing.T) {
	// The daemon's ratio (a 275 ms timeout, a heartbeat every quarter),
	// with timeouts long enough for a loaded test host.
	const timeout = 200 * time.Millisecond
	for _, tc := range []struct {
		name     string
		interval time.Duration // 0: raft's own tenth of the timeout
	}{{"raft's-tenth", 0}, {"quarter", timeout / 4}} {
		t.Run(tc.name, func(t *testing.T) {
			counters := map[string]*countingTransport{}
			c := newClusterWith(t, 3, &cluster{
				config: func(cfg *Config) {
					cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = timeout, timeout, timeout*3/4
					cfg.HeartbeatInterval = tc.interval
				},
				wrap: func(id string, tr raft.Transport) raft.Transport {
					counters[id] = &countingTransport{Transport: tr}
					return counters[id]
				},
			})
			per, _ := heartbeatsPerFollower(t, c, counters)
			every := tc.interval
			if every == 0 {
				every = timeout / 10
			}
			t.Logf("interval %v: %.0f heartbeats a second to each follower", every, per)
			// Raft waits between the interval and twice it: at most one
			// heartbeat per interval (a forced one aside).
			if limit := float64(time.Second/every) + 2; per > limit {
				t.Fatalf("%.0f heartbeats a second to each follower, want at most %.0f", per, limit)
			}
			if tc.interval == 0 {
				return
			}
			leader := c.waitLeader()
			waitFor(t, "the leader to heartbeat every interval", func() bool {
				return leader.raft.ReloadableConfig().HeartbeatTimeout == 10*tc.interval
			})
			// A transfer: the old leader follows with the follower's
			// timeout, the new one heartbeats every interval.
			if err := leader.TransferLeadership(context.Background()); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the old leader to use the follower's timeout", func() bool {
				return !leader.IsLeader() && leader.raft.ReloadableConfig().HeartbeatTimeout == timeout
			})
			next := c.waitLeader()
			waitFor(t, "the new leader to heartbeat every interval", func() bool {
				return next.raft.ReloadableConfig().HeartbeatTimeout == 10*tc.interval
			})
			// The leader is lost: the followers, on their own timeout,
			// elect another.
			start := time.Now()
			c.stop(next.ID())
			third := c.waitLeader()
			t.Logf("new leader %s %v after the leader stopped", third.ID(), time.Since(start))
			if third == next {
				t.Fatal("the stopped node still leads")
			}
		})
	}
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
