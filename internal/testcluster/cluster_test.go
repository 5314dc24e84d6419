package testcluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/controller"
	"github.com/paceline/paceline/internal/membership"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/store"
)

func newCluster(t *testing.T) *Cluster {
	t.Helper()
	logf := func(string, ...any) {}
	if testing.Verbose() {
		logf = t.Logf
	}
	c := New(t, Options{Nodes: 3, Logf: logf, Watchdog: time.Second})
	t.Cleanup(c.CheckNeverActiveTwice)
	return c
}

// runningOn waits until rsc is active on exactly one node other than
// those in not, and returns it.
func runningOn(c *Cluster, rsc string, not ...string) string {
	c.t.Helper()
	var on string
	c.Eventually(rsc+" active on one node", func() bool {
		ns := c.ActiveOn(rsc)
		if len(ns) != 1 {
			return false
		}
		for _, x := range not {
			if ns[0] == x {
				return false
			}
		}
		on = ns[0]
		return true
	})
	return on
}

// lastEvent returns the last event of rsc on node with the given activity.
func lastEvent(c *Cluster, rsc, node string, active bool) (Event, bool) {
	evs := c.Events()
	for i := len(evs) - 1; i >= 0; i-- {
		if e := evs[i]; e.Resource == rsc && e.Node == node && e.Active == active {
			return e, true
		}
	}
	return Event{}, false
}

func TestResourceStarts(t *testing.T) {
	c := newCluster(t)
	c.CreateDummy("web", time.Second, nil)
	t.Logf("web started on %s", runningOn(c, "web"))
}

// DESIGN.md, Safety: the leader recovers a lost node's resources only
// once fencing is confirmed; newCluster's nodes feed a watchdog only while
// their lease is valid for longer than its timeout (they are reset before
// it runs out), so the lease running out confirms it.
func TestNodeLossWithWatchdogRecoversAfterLease(t *testing.T) {
	c := newCluster(t)
	c.CreateDummy("web", time.Second, nil)
	from := runningOn(c, "web")
	killedAt := c.Clock.Now()
	c.Kill(from)
	to := runningOn(c, "web", from)
	start, _ := lastEvent(c, "web", to, true)
	cfg := membership.DefaultConfig()
	earliest := killedAt.Add(-cfg.Heartbeat + cfg.TTL)
	if start.At.Before(earliest) {
		t.Errorf("web started on %s at +%v after the kill, before the lease ran out (+%v)", to, start.At.Sub(killedAt), earliest.Sub(killedAt))
	}
	t.Logf("web moved %s -> %s, started %v (fake) after the kill", from, to, start.At.Sub(killedAt))
}

// With stonith-enabled=false recovery starts once the lease expired.
func TestNodeLossWithoutStonithRecoversAfterLease(t *testing.T) {
	c := newCluster(t)
	c.SetProperty("stonith-enabled", "false")
	c.CreateDummy("web", time.Second, nil)
	from := runningOn(c, "web")
	killedAt := c.Clock.Now()
	c.Kill(from)
	to := runningOn(c, "web", from)
	start, _ := lastEvent(c, "web", to, true)
	cfg := membership.DefaultConfig()
	if start.At.Before(killedAt.Add(-cfg.Heartbeat + cfg.TTL)) {
		t.Errorf("web started %v after the kill, before the lease expired", start.At.Sub(killedAt))
	}
}

// A monitor that finds the resource stopped gets it recovered in place
// (migration-threshold defaults to a million).
func TestFailedMonitorRestarts(t *testing.T) {
	c := newCluster(t)
	c.CreateDummy("web", time.Second, nil)
	on := runningOn(c, "web")
	c.Eventually("the monitor recorded", func() bool { return hasOp(c, on, "web", "monitor", 1000, 0) })
	c.Fail(on, "web")
	failed, _ := lastEvent(c, "web", on, false)
	c.Eventually("web restarted on "+on, func() bool {
		e, ok := lastEvent(c, "web", on, true)
		return ok && e.Seq > failed.Seq
	})
	if got := failCount(c, on, "web"); got == "" {
		t.Errorf("no fail count recorded on %s", on)
	}
}

// With migration-threshold=1 one failed monitor bans the resource from
// its node: it is recovered on another node, and the fail count stays on
// the node it failed on.
func TestMigrationThresholdMovesAway(t *testing.T) {
	c := newCluster(t)
	c.CreateDummy("web", time.Second, map[string]string{"migration-threshold": "1"})
	on := runningOn(c, "web")
	c.Eventually("the monitor recorded", func() bool { return hasOp(c, on, "web", "monitor", 1000, 0) })
	c.Fail(on, "web")
	to := runningOn(c, "web", on)
	if got := failCount(c, on, "web"); got == "" {
		t.Errorf("no fail count recorded on %s", on)
	}
	t.Logf("web moved %s -> %s after one failure", on, to)
}

func TestStandbyMovesAway(t *testing.T) {
	c := newCluster(t)
	c.CreateDummy("web", time.Second, nil)
	on := runningOn(c, "web")
	c.ApplyOnLeader(store.NewNodeAttrSet(on, map[string]string{"standby": "true"}))
	t.Logf("web moved %s -> %s", on, runningOn(c, "web", on))
}

// Losing the leader stops nothing, and the new leader resumes from the
// stored state.
func TestLeaderLossKeepsResourcesRunning(t *testing.T) {
	c := newCluster(t)
	leader := c.Leader()
	target := "n2"
	if leader == target {
		target = "n3"
	}
	c.CreateDummy("web", time.Second, nil)
	c.Update("prefer "+target, func(cfg *model.Config) {
		cfg.Locations = append(cfg.Locations, model.Location{ID: "web-prefers", Resource: "web", Node: target, Score: 100})
	})
	c.Eventually("web on "+target, func() bool {
		ns := c.ActiveOn("web")
		return len(ns) == 1 && ns[0] == target
	})
	stops := len(c.Events())
	c.Kill(leader)
	c.WaitFor("a new leader", func() bool { return c.Leader() != "" })
	t.Logf("leader %s -> %s", leader, c.Leader())
	c.CreateDummy("db", time.Second, nil)
	runningOn(c, "db", leader)
	c.Advance(3 * time.Second)
	if ns := c.ActiveOn("web"); len(ns) != 1 || ns[0] != target {
		t.Errorf("web active on %v, want [%s]", ns, target)
	}
	for _, e := range c.Events()[stops:] {
		if e.Resource == "web" {
			t.Errorf("web changed after the leader loss: %+v", e)
		}
	}
}

// DESIGN.md, Safety: a node cut off from the majority stops its resources
// (its lease lapses) before the majority starts them elsewhere; the
// recorder fails the test if web is ever active on two nodes. Both cases:
// the isolated node a follower, and the isolated node the leader.
func TestMinorityPartitionStopsBeforeMajorityStarts(t *testing.T) {
	for _, isolateLeader := range []bool{false, true} {
		name := "follower"
		if isolateLeader {
			name = "leader"
		}
		t.Run(name, func(t *testing.T) {
			c := newCluster(t)
			leader := c.Leader()
			target := "n1"
			for _, n := range []string{"n1", "n2", "n3"} {
				if (n == leader) == isolateLeader {
					target = n
					break
				}
			}
			c.CreateDummy("web", time.Second, nil)
			c.Update("prefer "+target, func(cfg *model.Config) {
				cfg.Locations = append(cfg.Locations, model.Location{ID: "web-prefers", Resource: "web", Node: target, Score: 100})
			})
			c.Eventually("web on "+target, func() bool {
				ns := c.ActiveOn("web")
				return len(ns) == 1 && ns[0] == target
			})
			var majority []string
			for _, n := range []string{"n1", "n2", "n3"} {
				if n != target {
					majority = append(majority, n)
				}
			}
			cutAt := c.Clock.Now()
			c.Partition([]string{target}, majority)
			to := runningOn(c, "web", target)
			stop, ok := lastEvent(c, "web", target, false)
			start, _ := lastEvent(c, "web", to, true)
			if !ok || stop.Seq > start.Seq {
				t.Fatalf("web started on %s before %s stopped it", to, target)
			}
			t.Logf("isolated %s: stopped at +%v, started on %s at +%v (fake clock)", target, stop.At.Sub(cutAt), to, start.At.Sub(cutAt))
			c.Heal()
			c.Eventually("the healed node back online", func() bool { return c.NodeState(target) == store.StateOnline })
			// web goes back to target (no stickiness), never twice.
			c.Eventually("web on "+target+" again", func() bool {
				ns := c.ActiveOn("web")
				return len(ns) == 1 && ns[0] == target
			})
		})
	}
}

func hasOp(c *Cluster, node, rsc, op string, intervalMS int64, rc int) (found bool) {
	c.Node(c.Leader()).Raft.Read(func(s *store.Store) {
		m, _ := s.Member(node)
		for _, rh := range m.Resources {
			for _, o := range rh.Ops {
				if rh.ID == rsc && o.Operation == op && o.Interval == intervalMS && o.RC == rc {
					found = true
				}
			}
		}
	})
	return found
}

func failCount(c *Cluster, node, rsc string) (v string) {
	c.Node(c.Leader()).Raft.Read(func(s *store.Store) {
		m, _ := s.Member(node)
		for k, val := range m.Attributes {
			if len(k) > len("fail-count-"+rsc) && k[:len("fail-count-"+rsc)] == "fail-count-"+rsc {
				v = val
			}
		}
	})
	return v
}

// A result sent by a node's agent before the node was declared offline
// and delivered only afterwards (a TCP retransmission once a partition
// heals) must not count: the node's history was cleared when it turned
// offline, and a stale "web is running here" would make web active on
// two nodes and get it stopped on both.
func TestStaleResultOfAnOfflineNodeIsDropped(t *testing.T) {
	c := newCluster(t)
	c.CreateDummy("web", time.Second, nil)
	from := runningOn(c, "web")
	boot := c.Node(from).Boot
	c.Kill(from)
	to := runningOn(c, "web", from)
	c.Eventually(from+" offline", func() bool { return c.NodeState(from) == store.StateOffline })
	ctrl := c.LeaderController()
	if ctrl == nil {
		t.Fatal("no leader")
	}
	rh := model.ResourceHistory{ID: "web", Class: "builtin", Type: "dummy"}
	late := model.OpRecord{Operation: "monitor", Interval: 1000, CallID: 1 << 20, RC: 0, TargetRC: 0}
	if err := ctrl.Report(from, boot, rh, late); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		c.Advance(100 * time.Millisecond)
		time.Sleep(10 * time.Millisecond)
	}
	var hist []model.ResourceHistory
	c.Node(to).Raft.Read(func(s *store.Store) {
		if m, ok := s.Member(from); ok {
			hist = m.Resources
		}
	})
	for _, rh := range hist {
		if rh.ID == "web" {
			t.Errorf("the stale result was recorded: %s's history has web: %+v", from, rh.Ops)
		}
	}
	if e, ok := lastEvent(c, "web", to, false); ok {
		t.Errorf("web was stopped on %s after the stale result: %+v", to, e)
	}
	if ns := c.ActiveOn("web"); len(ns) != 1 || ns[0] != to {
		t.Errorf("web active on %v, want [%s]", ns, to)
	}
}

// A renewal sent by an agent process older than the node's current one
// (delivered late) is refused: it renews nothing and does not make the
// old agent's late results count again.
func TestRenewalFromAnEarlierAgentIsRefused(t *testing.T) {
	c := newCluster(t)
	var ctrl *controller.Controller
	c.Eventually("a leader", func() bool { ctrl = c.LeaderController(); return ctrl != nil })
	node := "n2"
	if c.Leader() == node {
		node = "n3"
	}
	c.Eventually(node+" renewed with its boot", func() bool {
		_, err := ctrl.Heartbeat(context.Background(), controller.Renewal{Node: node, Boot: c.Node(node).Boot})
		return err == nil
	})
	_, err := ctrl.Heartbeat(context.Background(), controller.Renewal{Node: node, Boot: "0000000000000001-old"})
	if !errors.Is(err, controller.ErrStale) {
		t.Fatalf("renewal from an earlier boot: got %v, want ErrStale", err)
	}
	if _, err := ctrl.Heartbeat(context.Background(), controller.Renewal{Node: node, Boot: c.Node(node).Boot}); err != nil {
		t.Fatalf("renewal from the current boot after a stale one: %v", err)
	}
}

// A plan made while a start is in flight sees the resource stopped
// everywhere (the result is not recorded yet). A configuration change in
// that window (here a location preferring another node) must not start
// the resource a second time elsewhere: the controller waits for the op
// in flight, then moves the resource (stop, then start). CI caught this
// as a flake of the partition test; a slow start makes it certain.
func TestNoSecondStartWhileAStartIsInFlight(t *testing.T) {
	c := newCluster(t)
	c.Update("create web", func(cfg *model.Config) {
		cfg.Resources = append(cfg.Resources, model.Resource{ID: "web", Kind: model.KindPrimitive, Class: "builtin", Type: "dummy",
			Params: []model.NV{{Name: "op_sleep", Value: "300ms"}}})
	})
	var first string
	c.WaitFor("web's start to begin", func() bool {
		ns := c.ActiveOn("web")
		if len(ns) == 1 {
			first = ns[0]
		}
		return first != ""
	})
	other := "n1"
	if first == other {
		other = "n2"
	}
	c.Update("prefer "+other, func(cfg *model.Config) {
		cfg.Locations = append(cfg.Locations, model.Location{ID: "web-prefers", Resource: "web", Node: other, Score: 100})
	})
	waitMoved(t, c, "web", first, other)
}

// waitMoved waits until rsc is active on to alone, and fails the test if
// it started there before it stopped on from.
func waitMoved(t *testing.T, c *Cluster, rsc, from, to string) {
	t.Helper()
	c.Eventually(rsc+" on "+to, func() bool {
		ns := c.ActiveOn(rsc)
		return len(ns) == 1 && ns[0] == to
	})
	stop, ok := lastEvent(c, rsc, from, false)
	start, _ := lastEvent(c, rsc, to, true)
	if !ok || stop.Seq > start.Seq {
		t.Fatalf("%s started on %s before it stopped on %s: %+v", rsc, to, from, c.Events())
	}
}

// A new leader does not know what its predecessor asked for: a start in
// flight on a node when the leader dies is in no store yet. The node
// reports it busy in its renewals (and delivers its result to the new
// leader); until then the new leader leaves the resource alone, although
// the configuration now prefers another node.
func TestNewLeaderWaitsForOpsItsPredecessorAskedFor(t *testing.T) {
	c := newCluster(t)
	leader := c.Leader()
	x, y := followers(c)
	startSlowWeb(c, x)
	// The leader holds web while its start is in flight (the test
	// above); its successor must too.
	c.Update("prefer "+y, func(cfg *model.Config) {
		cfg.Locations = append(cfg.Locations, model.Location{ID: "web-on-y", Resource: "web", Node: y, Score: 200})
	})
	c.Kill(leader)
	c.WaitFor("a new leader", func() bool { return c.Leader() != "" })
	waitMoved(t, c, "web", x, y)
}

// A leader that dies while it runs a start it asked itself for leaves
// no trace of it anywhere: the resource looks stopped on it. Its
// successor, which never heard from it, must not start the resource
// elsewhere before it is fenced (its lease, which a new leader counts
// from its own election, ran out: its watchdog has reset it), as for any
// resource of a lost node.
func TestNewLeaderWaitsUntilTheDeadLeaderIsFenced(t *testing.T) {
	c := newCluster(t)
	leader := c.Leader()
	startSlowWeb(c, leader)
	killedAt := c.Clock.Now()
	c.Kill(leader)
	to := runningOn(c, "web", leader)
	start, _ := lastEvent(c, "web", to, true)
	cfg := membership.DefaultConfig()
	if earliest := killedAt.Add(-cfg.Heartbeat + cfg.TTL); start.At.Before(earliest) {
		t.Errorf("web started on %s at +%v after its start in flight on the dead leader, before its lease ran out (+%v)",
			to, start.At.Sub(killedAt), earliest.Sub(killedAt))
	}
}

// A dispatch that fails after the node took the op (its reply lost) is
// not in flight for the controller, but the node lists the op busy in its
// renewals: the controller must not start the resource elsewhere before
// the op's result is in.
func TestOpTakenDespiteAFailedDispatchHoldsTheResource(t *testing.T) {
	c := newCluster(t)
	x, y := followers(c)
	c.LoseReplies(x, true)
	createSlowWeb(c, x)
	// The probes' replies are lost too: the controller learns their
	// results from x's reports and its renewals.
	c.Eventually("web's start to begin on "+x, func() bool {
		ns := c.ActiveOn("web")
		return len(ns) == 1 && ns[0] == x
	})
	c.LoseReplies(x, false)
	// More renewals than the controller waits for after a failed
	// dispatch: from now on only x's busy list holds web.
	c.Advance(3 * c.opts.Leases.Heartbeat)
	c.Update("prefer "+y, func(cfg *model.Config) {
		cfg.Locations = append(cfg.Locations, model.Location{ID: "web-on-y", Resource: "web", Node: y, Score: 200})
	})
	waitMoved(t, c, "web", x, y)
}

// A failed dispatch is not sent again before the node has renewed: the
// node may have taken the op (its reply lost), and a second start queued
// behind the first would only delay everything that waits for web.
func TestFailedDispatchIsNotRepeatedBeforeTheNodeRenews(t *testing.T) {
	c := newCluster(t)
	x, _ := followers(c)
	c.Update("create web, stopped, on "+x, func(cfg *model.Config) {
		cfg.Resources = append(cfg.Resources, model.Resource{ID: "web", Kind: model.KindPrimitive, Class: "builtin", Type: "dummy",
			Params: []model.NV{{Name: "op_sleep", Value: "1s"}}, Meta: map[string]string{"target-role": "Stopped"}})
		cfg.Locations = append(cfg.Locations, model.Location{ID: "web-on-x", Resource: "web", Node: x, Score: 100})
	})
	c.Eventually("web's probes", func() bool {
		ok := c.Leader() != ""
		for _, n := range []string{"n1", "n2", "n3"} {
			ok = ok && len(c.Node(n).Busy()) == 0 && probed(c, n, "web")
		}
		return ok
	})
	c.LoseReplies(x, true)
	c.Update("start web", func(cfg *model.Config) {
		for i := range cfg.Resources {
			if cfg.Resources[i].ID == "web" {
				cfg.Resources[i].Meta = nil
			}
		}
	})
	c.WaitFor("web's start to begin on "+x, func() bool { return len(c.ActiveOn("web")) == 1 })
	time.Sleep(300 * time.Millisecond) // many plans, no renewal
	if bs := c.Node(x).Busy(); len(bs) != 1 {
		t.Fatalf("%s took %d ops before renewing, want 1: %+v", x, len(bs), bs)
	}
	c.LoseReplies(x, false)
	c.Eventually("web's start to end on "+x, func() bool {
		ns := c.ActiveOn("web")
		return len(ns) == 1 && ns[0] == x && len(c.Node(x).Busy()) == 0
	})
}

// probed reports whether the leader's store holds a probe of rsc on node.
func probed(c *Cluster, node, rsc string) bool {
	found := false
	c.Node(c.Leader()).Raft.Read(func(s *store.Store) {
		m, _ := s.Member(node)
		for _, rh := range m.Resources {
			for _, o := range rh.Ops {
				found = found || (rh.ID == rsc && o.Operation == "monitor" && o.Interval == 0)
			}
		}
	})
	return found
}

// followers returns the two nodes that do not lead.
func followers(c *Cluster) (x, y string) {
	leader := c.Leader()
	var others []string
	for _, n := range []string{"n1", "n2", "n3"} {
		if n != leader {
			others = append(others, n)
		}
	}
	return others[0], others[1]
}

// startSlowWeb creates web (createSlowWeb) and returns once its start
// has begun on x.
func startSlowWeb(c *Cluster, x string) {
	c.t.Helper()
	createSlowWeb(c, x)
	c.WaitFor("web's start to begin on "+x, func() bool {
		ns := c.ActiveOn("web")
		return len(ns) == 1 && ns[0] == x
	})
}

// createSlowWeb creates web, a dummy whose every op takes a second,
// preferring node x.
func createSlowWeb(c *Cluster, x string) {
	c.t.Helper()
	c.Update("create web on "+x, func(cfg *model.Config) {
		cfg.Resources = append(cfg.Resources, model.Resource{ID: "web", Kind: model.KindPrimitive, Class: "builtin", Type: "dummy",
			Params: []model.NV{{Name: "op_sleep", Value: "1s"}}})
		cfg.Locations = append(cfg.Locations, model.Location{ID: "web-on-x", Resource: "web", Node: x, Score: 100})
	})
}
