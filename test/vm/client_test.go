package vm

import (
	"encoding/json"
	"slices"
	"syscall"
	"testing"
	"time"
)

// TestVMOnClientHosts runs VMs on hosts that only run VMs, joined as
// clients (paceline join --role client: not Raft voters): three servers
// n1-n3 and two clients n4 and n5, a simulated BMC and a fence_ipmilan
// device per host, stonith enabled, the default Permissive strategy. The
// operator keeps VMs on the VM hosts with a node attribute and a rule
// (node attribute vm-host=true on n4 and n5; location -INFINITY where
// "not_defined vm-host"). A shared-storage NeverStop VM g1 on a client,
// each fault PL_VM_ROUNDS times (default 5), timed (min/median/max):
//   - its qemu SIGKILLed: Running again on the same client (a new qemu);
//   - its client in maintenance: live-migrated to the other client (same
//     guest boot; ping loss measured);
//   - its client crashed: Unknown until fence_ipmilan has rebooted it,
//     then Running on the other client (after the fence ended), never on
//     a server; the crashed host boots again and rejoins.
//
// The watcher asks every libvirtd every 100 ms: never two running copies.
func TestVMOnClientHosts(t *testing.T) {
	n := NewNet(t, 5)
	w := n.Watch()
	c := NewCluster(t, n, "server", "server", "server", "client", "client")
	var st struct {
		Nodes []struct{ Name, Role string }
	}
	if err := json.Unmarshal([]byte(c.Must("status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	clients := []string{}
	for _, nd := range st.Nodes {
		if nd.Role == "client" {
			clients = append(clients, nd.Name)
		}
	}
	if !slices.Equal(clients, []string{"n4", "n5"}) {
		t.Fatalf("clients %v (nodes %+v), want n4 and n5", clients, st.Nodes)
	}
	c.AddIPMIDevices(bmcPassword)
	for _, h := range n.Hosts {
		c.MustSetUp("constraint", "add", "location", "ipmi-"+h.Node+"-elsewhere", "ipmi-"+h.Node, h.Node, "-INFINITY")
	}
	for _, node := range clients {
		c.MustSetUp("node", "attribute", node, "vm-host=true")
	}
	g1 := n.NewGuest(1, "shared", nil)
	c.createVM(g1, "shared", "NeverStop")
	c.Must("constraint", "add", "location", "g1-on-vm-hosts", "g1", "--rule", "not_defined vm-host", "-INFINITY")
	v := c.WaitVM("g1", "Running", "", 180*time.Second)
	if !slices.Contains(clients, v.Host) {
		t.Fatalf("g1 runs on %s, not on a client", v.Host)
	}
	host := n.hostOf(v.Host)
	other := func(h *Host) *Host { // the other client's host
		for _, o := range n.Hosts {
			if o != h && slices.Contains(clients, o.Node) {
				return o
			}
		}
		return nil
	}

	// The qemu killed, rounds(t) times.
	var restarts []time.Duration
	for range rounds(t) {
		pid := host.QemuPID("g1")
		syscall.Kill(pid, syscall.SIGKILL)
		killed := time.Now()
		c.Wait("g1 Running again on "+host.Node, 180*time.Second, func(st *Status) bool {
			v := st.VM("g1")
			p := host.QemuPID("g1")
			return v.State == "Running" && v.Host == host.Node && p != 0 && p != pid
		})
		restarts = append(restarts, time.Since(killed))
		t.Logf("g1's qemu killed on client %s: Running there again after %s", host.Node, restarts[len(restarts)-1].Round(time.Millisecond))
		if _, err := n.WaitPing(g1.IP, 180*time.Second); err != nil {
			t.Fatal(err)
		}
	}

	// Maintenance of g1's client, rounds(t) times: live-migrated to the
	// other client, the guest running on (same boot).
	var migrations []time.Duration
	var losses []int
	for range rounds(t) {
		_, boot0, err := n.WaitUptime(g1.IP, 60*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		pinger := n.Ping(g1.IP)
		c.Must("node", "maintenance", host.Node)
		began := time.Now()
		to := other(host)
		c.Wait("g1 Running on "+to.Node, 180*time.Second, func(st *Status) bool {
			v := st.VM("g1")
			return v.State == "Running" && v.Host == to.Node && to.QemuPID("g1") != 0
		})
		took := time.Since(began)
		time.Sleep(time.Second)
		ps := pinger.Stop()
		if _, boot1, err := n.Uptime(g1.IP); err != nil || boot1 != boot0 {
			t.Fatalf("g1 did not keep running through the migration: boot %s -> %s (%v)", boot0, boot1, err)
		}
		c.Must("node", "unmaintenance", host.Node)
		migrations, losses = append(migrations, took), append(losses, ps.LossMS())
		t.Logf("maintenance of client %s: g1 live-migrated to %s in %s, same boot; ping every 10 ms: %d ms lost", host.Node, to.Node,
			took.Round(time.Millisecond), ps.LossMS())
		host = to
	}

	// g1's client crashed, rounds(t) times: fenced, recovered on the other.
	var recoveries, fences []time.Duration
	for i := range rounds(t) {
		if i > 0 {
			if _, err := n.WaitPing(g1.IP, 180*time.Second); err != nil {
				t.Fatal(err)
			}
		}
		host.Crash()
		crashed := time.Now()
		c.WaitVM("g1", "Unknown", host.Node, 60*time.Second)
		v = c.Wait("g1 Running on another host", 180*time.Second, func(st *Status) bool {
			v := st.VM("g1")
			return v.State == "Running" && v.Host != host.Node && n.hostOf(v.Host).QemuPID("g1") != 0
		}).VM("g1")
		recovered := time.Since(crashed)
		if !slices.Contains(clients, v.Host) {
			t.Errorf("g1 recovered on %s, not on a client", v.Host)
		}
		f := c.lastFence(host.Node, crashed, 30*time.Second)
		if f.Result != "success" {
			t.Errorf("fence of %s: %+v", host.Node, f)
		}
		if after := w.StartedAfter("g1", n.hostOf(v.Host).Name); !after.IsZero() && after.Before(f.End) {
			t.Errorf("g1 started on %s at %s, before the fence of %s ended at %s", v.Host, after.Format("15:04:05.000"), host.Node, f.End.Format("15:04:05.000"))
		}
		recoveries, fences = append(recoveries, recovered), append(fences, f.End.Sub(crashed))
		t.Logf("client %s crashed: fenced after %s, g1 Running on client %s after %s", host.Node,
			f.End.Sub(crashed).Round(time.Millisecond), v.Host, recovered.Round(time.Millisecond))
		c.bootHost(host)
		host = n.hostOf(v.Host)
	}
	slices.Sort(losses)
	t.Logf("FIGURES on client hosts, %d rounds each: qemu killed -> Running again: %s; maintenance -> live-migrated: %s (ping lost min %d median %d max %d ms); "+
		"host crashed -> fenced: %s, -> Running on the other client: %s", rounds(t), spread(restarts), spread(migrations),
		losses[0], losses[len(losses)/2], losses[len(losses)-1], spread(fences), spread(recoveries))
}
