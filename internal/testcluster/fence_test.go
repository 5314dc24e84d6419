package testcluster

import (
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/store"
)

// fenceCluster is a three-node cluster without watchdogs (Options.Fencing
// as asked), whose web (builtin:dummy) runs on a follower, returned.
func fenceCluster(t *testing.T, fencing bool) (*Cluster, string) {
	t.Helper()
	logf := func(string, ...any) {}
	if testing.Verbose() {
		logf = t.Logf
	}
	c := New(t, Options{Nodes: 3, Logf: logf, Fencing: fencing})
	t.Cleanup(c.CheckNeverActiveTwice)
	if fencing {
		c.AddFenceDevice("power")
	}
	x, _ := followers(c)
	c.CreateDummy("web", time.Second, nil)
	c.Update("prefer "+x, func(cfg *model.Config) {
		cfg.Locations = append(cfg.Locations, model.Location{ID: "web-on-x", Resource: "web", Node: x, Score: 100})
	})
	c.Eventually("web on "+x, func() bool {
		ns := c.ActiveOn("web")
		return len(ns) == 1 && ns[0] == x
	})
	return c, x
}

func member(c *Cluster, name string) (m store.Member) {
	leaderNode(c).Raft.Read(func(s *store.Store) { m, _ = s.Member(name) })
	return m
}

func fenceHistory(c *Cluster, target string) (h []store.FenceEntry) {
	leaderNode(c).Raft.Read(func(s *store.Store) { h = s.FenceHistory(target) })
	return h
}

// leaderNode returns the leader, waiting (real time) through an election
// a loaded machine may cause.
func leaderNode(c *Cluster) *Node {
	c.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if l := c.Leader(); l != "" {
			if n := c.Node(l); n != nil {
				return n
			}
		}
	}
	c.t.Fatal("no leader within 10s")
	return nil
}

// DESIGN.md, Safety: with stonith-enabled=true, a lost node with neither a
// fence device nor a watchdog is never recovered by waiting (it may only
// be paused, its resources still running): it stays unclean, its
// resources are held, and the store says why, until an operator confirms
// it down.
func TestPausedNodeWithoutDeviceOrWatchdogIsHeld(t *testing.T) {
	c, x := fenceCluster(t, false)
	c.Pause(x)
	c.Eventually(x+" unclean and held", func() bool {
		m := member(c, x)
		return m.State == store.StateUnclean && m.Hold != ""
	})
	c.Advance(10 * time.Second)
	time.Sleep(200 * time.Millisecond) // the controller's real-time turns
	if ns := c.ActiveOn("web"); len(ns) != 1 || ns[0] != x {
		t.Fatalf("web active on %v after %s paused for 10 s, want it held on %s alone", ns, x, x)
	}
	m := member(c, x)
	if m.State != store.StateUnclean || !strings.Contains(m.Hold, "no fence device has confirmed "+x) ||
		!strings.Contains(m.Hold, "paceline node confirm-down "+x) {
		t.Fatalf("%s: state %s, hold %q; want unclean and why", x, m.State, m.Hold)
	}
	t.Logf("%s is %s: %s", x, m.State, m.Hold)
	// The operator makes sure it is off, then says so.
	c.Kill(x)
	c.ApplyOnLeader(store.NewConfirmDown(x, "admin-token", c.Clock.Now().UnixMilli()))
	to := runningOn(c, "web", x)
	m = member(c, x)
	if m.State != store.StateOffline || m.Fenced == nil || m.Fenced.By != "operator admin-token" || m.Hold != "" {
		t.Errorf("after confirm-down: %+v", m)
	}
	t.Logf("web recovered on %s after the confirm-down", to)
}

// A paused node is fenced through its device: the device (the power
// switch) kills it, and only then, as the device confirmed it, web starts
// elsewhere (CheckNeverActiveTwice); the fence is in the replicated fence
// history and the node is marked fenced.
func TestPausedNodeIsFencedThroughItsDevice(t *testing.T) {
	c, x := fenceCluster(t, true)
	pausedAt := c.Clock.Now()
	c.Pause(x)
	to := runningOn(c, "web", x)
	killed, ok := lastEvent(c, "web", x, false)
	started, _ := lastEvent(c, "web", to, true)
	if !ok || killed.Why != "killed" || killed.Seq > started.Seq {
		t.Fatalf("web on %s: last stop %+v, start on %s %+v: want killed by the fence first", x, killed, to, started)
	}
	m := member(c, x)
	if m.State != store.StateOffline || m.Fenced == nil || m.Fenced.By != "power" {
		t.Errorf("%s after the fence: %+v", x, m)
	}
	h := fenceHistory(c, x)
	if len(h) == 0 || h[len(h)-1].Device != "power" || h[len(h)-1].Result != "success" || h[len(h)-1].Origin != "controller" {
		t.Errorf("fence history of %s: %+v", x, h)
	}
	t.Logf("web moved %s -> %s %v (fake clock) after the pause; fenced by %s", x, to, started.At.Sub(pausedAt), m.Fenced.By)
}

// A device that fails keeps the node unclean, its resources held, and the
// hold names the failure; once the device works again the node is fenced
// and its resources recovered.
func TestFailingDeviceHoldsUntilItWorks(t *testing.T) {
	c, x := fenceCluster(t, true)
	c.BreakFencing(true)
	c.Pause(x)
	c.Eventually("a failed fence attempt recorded", func() bool {
		h := fenceHistory(c, x)
		return len(h) > 0 && h[len(h)-1].Result == "failed"
	})
	c.Eventually("the hold names the failure", func() bool {
		return strings.Contains(member(c, x).Hold, "last fence attempt: power failed")
	})
	if ns := c.ActiveOn("web"); len(ns) != 1 || ns[0] != x {
		t.Fatalf("web active on %v while the device fails, want it held on %s", ns, x)
	}
	t.Logf("hold: %s", member(c, x).Hold)
	c.BreakFencing(false)
	// The next attempt comes after the failures' backoff (up to 30 s of
	// real time).
	var to string
	for deadline := time.Now().Add(45 * time.Second); to == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if ns := c.ActiveOn("web"); len(ns) == 1 && ns[0] != x {
			to = ns[0]
		}
		c.Advance(c.opts.Leases.Heartbeat)
	}
	if to == "" {
		t.Fatalf("web not recovered within 45 s of the device working again; %s: %+v", x, member(c, x))
	}
	if m := member(c, x); m.Fenced == nil || m.State != store.StateOffline {
		t.Errorf("%s after the device worked: %+v", x, m)
	}
	t.Logf("web on %s once the device worked", to)
}

// An operator's fence of a live node (`paceline node fence`) runs through
// the leader's fencer: the node is killed, marked fenced at once (its
// lease still valid) and its resources recovered.
func TestOperatorFencesALiveNode(t *testing.T) {
	c, x := fenceCluster(t, true)
	rec, err := c.Node(c.Leader()).rt.FenceNow(x, "off", "admin-token")
	if err != nil || rec.Fenced == nil || rec.Fenced.By != "power" {
		t.Fatalf("FenceNow %s: %+v, %v", x, rec, err)
	}
	to := runningOn(c, "web", x)
	if h := fenceHistory(c, x); len(h) != 1 || h[0].Origin != "admin-token" || h[0].Action != "off" {
		t.Errorf("history: %+v", h)
	}
	if _, err := c.Node(c.Leader()).rt.FenceNow(c.Leader(), "off", "admin-token"); err == nil {
		t.Errorf("the leader fenced itself")
	}
	t.Logf("web on %s after %s was fenced", to, x)
}

// The leader never fences itself: a fence of the leader (a stop that
// failed on it, say) is handed to another node over the peer RPC, whose
// device kills it; the new leader finds it fenced in the store and
// recovers its resources.
func TestFenceOfTheLeaderRunsOnAnotherNode(t *testing.T) {
	logf := func(string, ...any) {}
	if testing.Verbose() {
		logf = t.Logf
	}
	c := New(t, Options{Nodes: 3, Logf: logf, Fencing: true})
	t.Cleanup(c.CheckNeverActiveTwice)
	c.AddFenceDevice("power")
	leader := c.Leader()
	c.CreateDummy("web", time.Second, nil)
	c.Update("prefer "+leader, func(cfg *model.Config) {
		cfg.Locations = append(cfg.Locations, model.Location{ID: "web-on-leader", Resource: "web", Node: leader, Score: 100})
	})
	c.Eventually("web on "+leader, func() bool {
		ns := c.ActiveOn("web")
		return len(ns) == 1 && ns[0] == leader
	})
	if err := c.Node(leader).rt.Fencer().Fence(leader, "off"); err != nil {
		t.Fatal(err)
	}
	to := runningOn(c, "web", leader)
	c.WaitFor("a new leader", func() bool { return c.Leader() != "" && c.Leader() != leader })
	h := fenceHistory(c, leader)
	if len(h) == 0 || h[len(h)-1].Executor == leader || h[len(h)-1].Result != "success" {
		t.Fatalf("fence history of %s: %+v", leader, h)
	}
	t.Logf("%s fenced by %s (device %s); web on %s", leader, h[len(h)-1].Executor, h[len(h)-1].Device, to)
}

// Unfencing (issue 13, part 6): with a fence device that provides
// unfencing (meta provides=unfencing, as fence_mpath), every node is
// unfenced through the device (a fence "on") before a resource is probed
// or started there; the cluster records #node-unfenced and the plan then
// needs no more unfencing; web starts.
func TestUnfencingBeforeResourcesStart(t *testing.T) {
	c := unfencingCluster(t)
	c.CreateDummy("web", time.Second, nil)
	on := runningOn(c, "web")
	for _, n := range []string{"n1", "n2", "n3"} {
		c.Eventually(n+" unfenced", func() bool {
			_, ok := member(c, n).Attributes["#node-unfenced"]
			return ok
		})
		if h := firstSuccess(fenceHistory(c, n)); h.Action != "on" {
			t.Errorf("fence history of %s: %+v, want an unfencing first", n, fenceHistory(c, n))
		}
	}
	// The unfencing of web's node came before web's start there.
	start, _ := lastEvent(c, "web", on, true)
	h := firstSuccess(fenceHistory(c, on))
	if start.Real.Before(time.UnixMilli(h.End)) {
		t.Errorf("web started on %s at %v, before %s was unfenced at %v", on, start.Real, on, time.UnixMilli(h.End))
	}
	if m := member(c, on); m.State != "online" || m.Fenced != nil {
		t.Errorf("%s after its unfencing: %+v", on, m)
	}
}

// unfencingCluster is three nodes with fencing and one fence device,
// power, for all of them, that provides unfencing.
func unfencingCluster(t *testing.T) *Cluster {
	t.Helper()
	logf := func(string, ...any) {}
	if testing.Verbose() {
		logf = t.Logf
	}
	c := New(t, Options{Nodes: 3, Logf: logf, Fencing: true})
	t.Cleanup(c.CheckNeverActiveTwice)
	c.Update("fence device power, providing unfencing", func(cfg *model.Config) {
		cfg.Resources = append(cfg.Resources, model.Resource{ID: "power", Kind: model.KindPrimitive, Class: "stonith",
			Type: FenceAgent, Params: []model.NV{{Name: "pcmk_host_list", Value: "n1,n2,n3"}},
			Meta: map[string]string{"provides": "unfencing"}})
	})
	return c
}

// firstSuccess is the first successful entry of a fence history (the
// zero entry when none). A failed attempt may come first: a node asked
// to unfence the leader may not have the device in its copy of the
// configuration yet, and its refusal is recorded.
func firstSuccess(h []store.FenceEntry) store.FenceEntry {
	for _, e := range h {
		if e.Result == "success" {
			return e
		}
	}
	return store.FenceEntry{}
}

// Unfencing again (Pacemaker 2.1): the cluster records with each
// unfencing the definitions of the devices that unfenced the node
// (model.UnfenceDigestsAttr); once a device's definition changes, every
// node is unfenced again, and its record follows.
func TestUnfencingAgainAfterADeviceChanged(t *testing.T) {
	c := unfencingCluster(t)
	c.CreateDummy("web", time.Second, nil)
	runningOn(c, "web")
	unfencings := func(n string) (k int) {
		for _, e := range fenceHistory(c, n) {
			if e.Action == "on" && e.Result == "success" {
				k++
			}
		}
		return k
	}
	before := map[string]string{}
	count := map[string]int{}
	for _, n := range []string{"n1", "n2", "n3"} {
		c.Eventually(n+" unfenced, with the devices' definitions", func() bool {
			before[n] = member(c, n).Attributes[model.UnfenceDigestsAttr]
			count[n] = unfencings(n)
			return count[n] > 0 && strings.HasPrefix(before[n], "power:"+FenceAgent+":")
		})
	}
	c.Update("power's definition changes", func(cfg *model.Config) {
		r := model.FindResource(cfg.Resources, "power")
		r.Params = append(r.Params, model.NV{Name: "port_as_ip", Value: "1"})
	})
	for _, n := range []string{"n1", "n2", "n3"} {
		c.Eventually(n+" unfenced again", func() bool {
			d := member(c, n).Attributes[model.UnfenceDigestsAttr]
			return unfencings(n) > count[n] && d != before[n] && strings.HasPrefix(d, "power:"+FenceAgent+":")
		})
		t.Logf("%s: unfenced %d times before the change, %d after; %s -> %s", n, count[n], unfencings(n),
			before[n], member(c, n).Attributes[model.UnfenceDigestsAttr])
	}
	if ns := c.ActiveOn("web"); len(ns) != 1 {
		t.Errorf("web active on %v after the unfencings", ns)
	}
}
