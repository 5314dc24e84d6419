package consensus

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
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
