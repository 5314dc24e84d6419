package e2e

import (
	"testing"
	"time"
)

// Issue 13, a node whose own fence device ran on it: three hosts, each
// with a simulated BMC and a fence_ipmilan device for its node, with NO
// -INFINITY location keeping a device off its own target (the opposite:
// each device prefers its target, so each host runs the device that
// fences it). The host running its own device and the VIP is crashed
// (every process killed, its link down): another host fences it through
// its BMC with that device's definition, the VIP moves after the device
// confirmed, and the device itself is started elsewhere. First a
// follower, then (after the fenced host is powered on again) the leader:
// a lost leader never renews with its successor, which dispatched
// nothing, its fence included, until every node had renewed (the node
// stayed unclean: "no fence device has confirmed"). Never two VIP holders.
func TestNodeRunningItsOwnDeviceIsFencedFromAnother(t *testing.T) {
	n, c, bmcs := fencingCluster(t, 3)
	for i := range n.Hosts {
		name := NodeName(i)
		c.MustSetUp("constraint", "add", "location", "ipmi-"+name+"-home", "ipmi-"+name, name, "100")
	}
	c.WaitStatus(nil, "every device on its own target", 60*time.Second, func(st *Status) bool {
		for i := range n.Hosts {
			role, nodes := st.Resource("ipmi-" + NodeName(i))
			if role != "Started" || len(nodes) != 1 || nodes[0] != NodeName(i) {
				return false
			}
		}
		return true
	})
	c.MustSetUp("resource", "defaults", "set", "resource-stickiness=0")
	m := Watch(fenceVIP, n.Hosts)
	defer m.Stop()
	created := false
	for _, leader := range []bool{false, true} {
		st := c.WaitStatus(nil, "a leader and three nodes online", 120*time.Second, func(st *Status) bool {
			return st.Leader != "" && st.Quorum && st.Online() == 3
		})
		victim := "n2"
		if leader {
			victim = st.Leader
		} else if st.Leader == victim {
			victim = "n3"
		}
		if !created {
			createVIP(t, c, victim)
			created = true
		} else {
			c.Must("constraint", "add", "location", "vip-on-"+victim, "vip", victim, "200")
			waitVIPOn(t, c, victim, 60*time.Second)
		}
		c.WaitStatus(nil, "ipmi-"+victim+" on "+victim, 60*time.Second, func(st *Status) bool {
			role, nodes := st.Resource("ipmi-" + victim)
			return role == "Started" && len(nodes) == 1 && nodes[0] == victim
		})
		vh := c.Host(victim)
		vi := indexOfHost(n, vh)
		t0 := time.Now()
		vh.Crash()
		to, movedAt := vipMoved(t, n, vh, 120*time.Second)
		h := c.FenceHistory(victim)
		if len(h) == 0 {
			t.Fatalf("no fence of %s in the history", victim)
		}
		last := h[len(h)-1]
		if last.Device != "ipmi-"+victim || last.Result != "success" || last.Executor == victim || last.Origin != "controller" {
			t.Fatalf("last fence of %s: %+v, want ipmi-%s run by another node", victim, last, victim)
		}
		if movedAt.Before(last.End.Add(-time.Millisecond)) {
			t.Errorf("the VIP was on %s at %v, before the device confirmed the fence at %v", to.Name, movedAt, last.End)
		}
		if bmcs[vi].PoweredOn() {
			t.Errorf("%s's BMC reports power on", vh.Name)
		}
		hostIsOff(t, vh)
		moved := c.WaitStatus(nil, "ipmi-"+victim+" started elsewhere", 60*time.Second, func(st *Status) bool {
			role, nodes := st.Resource("ipmi-" + victim)
			return role == "Started" && len(nodes) == 1 && nodes[0] != victim
		})
		_, devNodes := moved.Resource("ipmi-" + victim)
		kind := "follower"
		if leader {
			kind = "leader"
		}
		t.Logf("crash of %s (%s, running ipmi-%s and the VIP): fenced by ipmi-%s run on %s %v..%v after the crash; VIP on %s at %v; ipmi-%s now on %s",
			victim, kind, victim, victim, last.Executor, last.Start.Sub(t0).Round(time.Millisecond), last.End.Sub(t0).Round(time.Millisecond),
			to.Name, movedAt.Sub(t0).Round(time.Millisecond), victim, devNodes[0])
		// The host comes back: powered on through its BMC, its agent
		// started (its boot).
		if out, err := bmcs[vi].ipmitool("chassis", "power", "on"); err != nil {
			t.Fatalf("power on %s: %v %s", vh.Name, err, out)
		}
		c.StartAgent(vh)
		c.Must("constraint", "remove", "vip-on-"+victim)
	}
	m.Stop()
	if d := m.DualTime(); d > 0 {
		t.Errorf("%s held by two hosts for %v", fenceVIP, d)
	}
	t.Log(m)
}

// indexOfHost is h's index in n.Hosts.
func indexOfHost(n *Net, h *Host) int {
	for i, x := range n.Hosts {
		if x == h {
			return i
		}
	}
	n.t.Fatalf("e2e: %s is not a host of this net", h.Name)
	return -1
}
