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
