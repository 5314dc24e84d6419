package e2e

import (
	"testing"
	"time"
)

// Losing the Raft leader costs an election, during which nobody renews a
// lease. The election must end inside the lease margin, so a VIP on a
// follower stays where it is: never dropped, never moved (DESIGN.md,
// Safety; membership.Config.RaftTimeout), with either profile.
func TestLeaderLossMovesNothing(t *testing.T) {
	for _, profile := range []string{"default", "fast"} {
		t.Run(profile, func(t *testing.T) {
			n := NewNet(t, 3)
			c := NewClusterWith(t, n, Options{AgentArgs: []string{"--profile", profile}})
			const vip = "10.77.0.102"
			c.Must("resource", "create", "vip", "builtin:vip", "ip="+vip, "cidr=24", "--op", "monitor", "interval=1s")
			holder := vipHolder(t, n, vip, 20*time.Second)
			m := watchSettled(t, vip, n.Hosts, holder)
			defer func() { m.Stop() }()
			for round := 1; round <= 3; round++ {
				st := c.WaitStatus(nil, "a leader", 20*time.Second, func(st *Status) bool { return st.Leader != "" && st.Quorum })
				leader := c.Host(st.Leader)
				if leader == holder {
					// Move the VIP off the leader first.
					var to string
					for i, h := range n.Hosts {
						if h != leader {
							to = NodeName(i)
							break
						}
					}
					c.Must("resource", "move", "vip", to)
					for deadline := time.Now().Add(20 * time.Second); holder != c.Host(to); {
						if time.Now().After(deadline) {
							t.Fatalf("round %d: the VIP did not move off the leader %s to %s", round, st.Leader, to)
						}
						time.Sleep(50 * time.Millisecond)
						holder = vipHolder(t, n, vip, 20*time.Second)
					}
					m.Stop()
					m = watchSettled(t, vip, n.Hosts, holder)
				}
				before := len(m.Timeline())
				killed := time.Now()
				leader.KillAgent()
				next := c.WaitStatus(nil, "a new leader", 20*time.Second, func(s *Status) bool {
					return s.Leader != "" && s.Leader != st.Leader && s.Quorum
				})
				t.Logf("LEADERLOSS profile=%s round=%d killed=%s new-leader=%s after %v", profile, round, st.Leader, next.Leader, time.Since(killed).Round(10*time.Millisecond))
				time.Sleep(3 * time.Second)
				if after := m.Timeline(); len(after) != before {
					t.Errorf("round %d: killing the leader %s changed the VIP's holders: %v", round, st.Leader, m)
				}
				if now := vipHolder(t, n, vip, time.Second); now != holder {
					t.Errorf("round %d: the VIP moved from %s to %s", round, holder.Name, now.Name)
				}
				c.StartAgent(leader)
				c.WaitStatus(nil, "every node back online", 30*time.Second, func(s *Status) bool { return s.Quorum && s.Online() == 3 })
			}
			m.Stop()
			if d := m.DualTime(); d > 0 {
				t.Errorf("%s held by two hosts for %v", vip, d)
			}
		})
	}
}

// watchSettled starts a monitor of ip and waits until it has seen holder,
// and only holder, holding it.
func watchSettled(t *testing.T, ip string, hosts []*Host, holder *Host) *Monitor {
	t.Helper()
	m := Watch(ip, hosts)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if tl := m.Timeline(); len(tl) > 0 && len(tl[len(tl)-1].Holders) == 1 && tl[len(tl)-1].Holders[0] == holder.Name {
			time.Sleep(50 * time.Millisecond) // every host sampled at least once more
			return m
		}
	}
	m.Stop()
	t.Fatalf("the monitor never saw %s hold %s alone: %v", holder.Name, ip, m)
	return nil
}
