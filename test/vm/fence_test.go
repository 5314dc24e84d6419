package vm

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/test/e2e"
)

// bmcPassword is the simulated BMCs' throw-away administrator password.
const bmcPassword = "pl-f-bmc-pw"

// lastFence returns the newest fence of node in the fence history that
// ended after since, waiting up to limit for it.
func (c *Cluster) lastFence(node string, since time.Time, limit time.Duration) e2e.FenceHistoryEntry {
	c.t.Helper()
	for deadline := time.Now().Add(limit); ; time.Sleep(200 * time.Millisecond) {
		h := c.FenceHistory(node)
		if len(h) > 0 && h[len(h)-1].End.After(since) {
			return h[len(h)-1]
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no fence of %s ended after %s within %v: %+v", node, since.Format("15:04:05.000"), limit, h)
		}
	}
}

// bootHost brings a host back after a crash or a fence (its libvirtd
// again, no guest) and starts its agent; it waits until every node is
// online.
func (c *Cluster) bootHost(h *Host) {
	c.t.Helper()
	h.Restore()
	c.StartAgent(h)
	c.waitOnline(90 * time.Second)
}

// TestVMHAPermissiveFence runs a three-host cluster under the default
// vm-ha-strategy (Permissive: the property is not set) with stonith-enabled=true, a simulated BMC
// per host (test/e2e's ipmi_sim) and a fence_ipmilan device per node, a
// shared-storage NeverStop VM g1 and a local-storage NeverStop VM g2, both
// on h2:
//   - h2 crashes (every process killed, link down): g1 is Unknown until
//     fence_ipmilan has rebooted h2 through its BMC, then Running on
//     another host; the watcher saw it start there only after the fence
//     ended (the fence history's end); g2 Stopped (local storage);
//   - repeated (PL_VM_ROUNDS, default 5) with g1's host (never the
//     leader: g1 is moved off it first): crash to Running elsewhere
//     timed, always after the fence;
//   - the devices deleted, g1's host crashed: g1 Unknown and started
//     nowhere (status says it waits for a fence or a confirmation) until
//     `paceline node confirm-down NODE`, then Running elsewhere.
//
// The watcher asks every libvirtd every 100 ms: never two running copies.
func TestVMHAPermissiveFence(t *testing.T) {
	e2e.NeedBMC(t)
	n := NewNet(t, 3)
	w := n.Watch()
	c := NewCluster(t, n)
	h2 := n.Hosts[1]
	c.AddIPMIDevices(bmcPassword)
	for _, h := range n.Hosts {
		// As Pacemaker's users do: a node's fence device runs elsewhere
		// (a lost node cannot run the device that fences it).
		c.MustSetUp("constraint", "add", "location", "ipmi-"+h.Node+"-elsewhere", "ipmi-"+h.Node, h.Node, "-INFINITY")
	}
	c.MustSetUp("resource", "defaults", "set", "resource-stickiness=100")
	g1 := n.NewGuest(1, "shared", nil)
	g2 := n.NewGuest(2, "local", h2)
	c.createVM(g1, "shared", "NeverStop")
	c.createVM(g2, "local", "NeverStop")
	c.Must("constraint", "add", "location", "g2-on-h2", "g2", h2.Node, "INFINITY")
	c.WaitVM("g2", "Running", h2.Node, 180*time.Second)
	if v := c.WaitVM("g1", "Running", "", 180*time.Second); v.Host != h2.Node {
		c.Must("vm", "migrate", "g1", h2.Node)
		c.WaitVM("g1", "Running", h2.Node, 180*time.Second)
	}
	c.Must("resource", "clear", "g1") // no preference left: g1 stays where it is recovered

	// crash crashes g1's host and waits until g1 runs elsewhere; it checks
	// the order: the fence ended before g1 started on the new host.
	crash := func(host *Host) (recovered, fenced time.Duration, to string) {
		t.Helper()
		pid := host.QemuPID("g1")
		if pid == 0 {
			t.Fatalf("no qemu runs g1 on %s", host.Name)
		}
		host.Crash()
		crashed := time.Now()
		c.WaitVM("g1", "Unknown", host.Node, 60*time.Second)
		v := c.Wait("g1 Running on another host", 180*time.Second, func(st *Status) bool {
			v := st.VM("g1")
			return v.State == "Running" && v.Host != host.Node && n.hostOf(v.Host).QemuPID("g1") != 0
		}).VM("g1")
		recovered = time.Since(crashed)
		f := c.lastFence(host.Node, crashed, 30*time.Second)
		if f.Result != "success" || f.Device != "ipmi-"+host.Node {
			t.Errorf("fence of %s: %+v, want success by ipmi-%s", host.Node, f, host.Node)
		}
		to = v.Host
		var after time.Time
		for deadline := time.Now().Add(5 * time.Second); after.IsZero() && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			after = w.StartedAfter("g1", n.hostOf(to).Name)
		}
		if after.IsZero() {
			t.Errorf("the watcher did not see g1 start on %s", to)
		} else if after.Before(f.End) {
			t.Errorf("g1 started on %s after %s, before the fence of %s ended at %s",
				to, after.Format("15:04:05.000"), host.Node, f.End.Format("15:04:05.000"))
		}
		return recovered, f.End.Sub(crashed), to
	}

	// offLeader returns g1's host once g1 runs and not on the leader: the
	// leader's own crash is not this test's case (a new leader takes
	// over first), so g1 is live-migrated off it.
	offLeader := func() *Host {
		t.Helper()
		st := c.Wait("g1 Running", 60*time.Second, func(st *Status) bool { return st.VM("g1").State == "Running" })
		host := n.hostOf(st.VM("g1").Host)
		if host.Node != st.Leader {
			return host
		}
		for _, h := range n.Hosts {
			if h != host {
				c.Must("vm", "migrate", "g1", h.Node)
				c.WaitVM("g1", "Running", h.Node, 180*time.Second)
				c.Must("resource", "clear", "g1") // no preference left after the crash
				return h
			}
		}
		return nil
	}

	// h2 crashes: g1 recovered after the fence, local g2 Stopped.
	rec, fen, to := crash(h2)
	v2 := c.WaitVM("g2", "Stopped", "", 60*time.Second)
	if !strings.Contains(v2.Reason, "local storage") {
		t.Errorf("g2 after %s's crash: %+v", h2.Node, v2)
	}
	if on := n.qemuAnywhere("g2"); len(on) != 0 {
		t.Errorf("local g2 runs on %v after its host's crash", on)
	}
	t.Logf("%s crashed: fenced (fence_ipmilan reboot confirmed) after %s, g1 Running on %s after %s; local g2 %s (%s)",
		h2.Node, fen.Round(time.Millisecond), to, rec.Round(time.Millisecond), v2.State, v2.Reason)
	recovered, fences := []time.Duration{rec}, []time.Duration{fen}
	c.bootHost(h2)
	for len(recovered) < rounds(t) {
		host := offLeader()
		rec, fen, to := crash(host)
		t.Logf("%s crashed: fenced after %s, g1 Running on %s after %s", host.Node, fen.Round(time.Millisecond), to, rec.Round(time.Millisecond))
		recovered, fences = append(recovered, rec), append(fences, fen)
		c.bootHost(host)
	}
	t.Logf("Permissive with fence_ipmilan devices, g1's host crashed %d times: fence confirmed after %s; g1 Running on another host after %s (always after the fence)",
		len(recovered), spread(fences), spread(recovered))
	if v := c.WaitVM("g2", "Stopped", "", time.Second); len(n.qemuAnywhere("g2")) != 0 {
		t.Errorf("g2 runs again without vm start: %+v on %v", v, n.qemuAnywhere("g2"))
	}

	// No device: held until confirm-down.
	for _, h := range n.Hosts {
		c.Must("resource", "delete", "ipmi-"+h.Node)
	}
	host := offLeader()
	host.Crash()
	crashed := time.Now()
	u := c.WaitVM("g1", "Unknown", host.Node, 60*time.Second)
	time.Sleep(10 * time.Second) // well past the lease and the self-fence deadline
	u = c.WaitVM("g1", "Unknown", host.Node, time.Second)
	if !strings.Contains(u.Reason, "waiting until it is fenced or confirmed down") {
		t.Errorf("g1 held on the crashed %s: reason %q", host.Node, u.Reason)
	}
	if on := n.qemuAnywhere("g1"); len(on) != 0 {
		t.Errorf("g1 runs on %v while its crashed host %s is neither fenced nor confirmed down", on, host.Node)
	}
	t.Logf("no device, %s crashed: g1 %s (%s) and started nowhere for %s", host.Node, u.State, u.Reason, time.Since(crashed).Round(time.Second))
	confirmed := time.Now()
	t.Log(strings.TrimSpace(c.Must("node", "confirm-down", host.Node)))
	v := c.Wait("g1 Running on another host", 180*time.Second, func(st *Status) bool {
		v := st.VM("g1")
		return v.State == "Running" && v.Host != host.Node && n.hostOf(v.Host).QemuPID("g1") != 0
	}).VM("g1")
	t.Logf("node confirm-down %s: g1 Running on %s after %s", host.Node, v.Host, time.Since(confirmed).Round(time.Millisecond))
	if after := w.StartedAfter("g1", n.hostOf(v.Host).Name); !after.IsZero() && after.Before(confirmed) {
		t.Errorf("g1 started on %s after %s, before the confirm-down at %s", v.Host, after.Format("15:04:05.000"), confirmed.Format("15:04:05.000"))
	}
	if on := n.qemuAnywhere("g1"); !slices.Equal(on, []string{v.Host}) {
		t.Errorf("g1's qemu on %v, want only %s", on, v.Host)
	}
	samples, bad := w.Stop()
	t.Logf("watcher: %d samples of every libvirtd, %d with a domain running on two hosts", samples, len(bad))
}
