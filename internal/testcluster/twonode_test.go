package testcluster

import (
	"testing"
	"time"
)

// docs/two-node.md, the gate: a cluster of two servers (no witness,
// stonith-enabled=true) runs nothing but fence devices and ping resources
// until each node has a fence device; once it has, what was held starts.
func TestTwoNodeGateHoldsResourcesUntilEachNodeHasADevice(t *testing.T) {
	logf := func(string, ...any) {}
	if testing.Verbose() {
		logf = t.Logf
	}
	c := New(t, Options{Nodes: 2, Logf: logf, Fencing: true})
	t.Cleanup(c.CheckNeverActiveTwice)
	c.CreateDummy("web", time.Second, nil)
	for range 10 {
		c.Advance(500 * time.Millisecond)
		time.Sleep(20 * time.Millisecond) // the controller's real-time turns
	}
	if ns := c.ActiveOn("web"); len(ns) != 0 {
		t.Fatalf("web active on %v in a two-node cluster without fence devices", ns)
	}
	if d := c.Dispatched(); len(d) != 0 {
		t.Logf("dispatched while gated: %v", d)
	}
	c.AddFenceDevice("power") // its pcmk_host_list names both nodes
	c.Eventually("web started once each node has a device", func() bool { return len(c.ActiveOn("web")) == 1 })
	t.Logf("web on %v", c.ActiveOn("web"))
}

// docs/two-node.md, "Meanwhile": in a two-node cluster whose nodes each
// have a fence device, the node that loses its lease with its peer (no
// leader: Raft needs both) keeps what it runs: only a device's fence of
// it could let the peer run it. The in-process cluster has no race (the
// daemon's), so the survivor waits alone, web running throughout. With a
// lease watchdog it stops web as every node does.
func TestTwoNodeSurvivorKeepsWhatItRuns(t *testing.T) {
	for _, wd := range []time.Duration{0, time.Second} {
		name := "no watchdog: kept"
		if wd > 0 {
			name = "lease watchdog: stopped"
		}
		t.Run(name, func(t *testing.T) {
			logf := func(string, ...any) {}
			if testing.Verbose() {
				logf = t.Logf
			}
			c := New(t, Options{Nodes: 2, Logf: logf, Fencing: true, Watchdog: wd})
			t.Cleanup(c.CheckNeverActiveTwice)
			c.AddFenceDevice("power")
			c.CreateDummy("web", time.Second, nil)
			on := runningOn(c, "web")
			other := "n1"
			if on == "n1" {
				other = "n2"
			}
			c.Kill(other)
			for range 40 { // 10 s of the fake clock: several lease TTLs
				c.Advance(250 * time.Millisecond)
				time.Sleep(5 * time.Millisecond)
			}
			stopped, ok := lastEvent(c, "web", on, false)
			if wd == 0 {
				if ok || len(c.ActiveOn("web")) != 1 {
					t.Fatalf("web on %s stopped (%+v) after %s was lost; active on %v", on, stopped, other, c.ActiveOn("web"))
				}
				t.Logf("web still on %s 10 s (fake clock) after %s was lost, no leader", on, other)
				return
			}
			if !ok || stopped.Why != "self-fence" && stopped.Why != "stop" {
				t.Fatalf("web on %s not stopped with a lease watchdog: %+v, active on %v", on, stopped, c.ActiveOn("web"))
			}
			t.Logf("with a watchdog web on %s stopped: %s", on, stopped.Why)
		})
	}
}
