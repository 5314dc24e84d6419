package vm

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/agents"
	"github.com/paceline/paceline/internal/agents/ocf"
)

const virtualDomainPath = "/usr/lib/ocf/resource.d/heartbeat/VirtualDomain"

// TestVirtualDomain: the unmodified ocf:heartbeat:VirtualDomain of
// Debian's resource-agents, run through internal/agents/ocf, starts the
// guest on h1, live-migrates it to h2 (the guest keeps running) and stops
// it; the watcher never sees it running on two hosts.
func TestVirtualDomain(t *testing.T) {
	needVirtualDomain(t)
	n := NewNet(t, 2)
	h1, h2 := n.Hosts[0], n.Hosts[1]
	n.Watch()
	cfg := ocf.DefaultConfig()
	cfg.RunDir = t.TempDir()
	c, err := ocf.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	typ := agents.Type{Class: "ocf", Provider: "heartbeat", Name: "VirtualDomain"}
	g := n.NewGuest(3, "shared", nil)
	params := func(h *Host) map[string]string {
		return map[string]string{"config": g.XMLPath, "hypervisor": h.URI, "remoteuri": "qemu+tcp://%n/system"}
	}

	must(t, h1.Run(c, typ, "vd", "monitor", params(h1), nil, 20*time.Second), agents.RCNotRunning, "VirtualDomain probe on h1")
	start := time.Now()
	must(t, h1.Run(c, typ, "vd", "start", params(h1), nil, 60*time.Second), agents.RCOK, "VirtualDomain start on h1")
	started := time.Since(start)
	boot, err := n.WaitPing(g.IP, 180*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("VirtualDomain start took %s, the guest answered ping %s later", started.Round(time.Millisecond), boot.Round(time.Millisecond))
	must(t, h1.Run(c, typ, "vd", "monitor", params(h1), nil, 20*time.Second), agents.RCOK, "VirtualDomain monitor on h1")

	migrate(t, n, c, typ, "vd", g, h1, h2, params)

	// VirtualDomain waits for a graceful shutdown until 5 s before the
	// stop's timeout (the busybox guest has no ACPI handler), then destroys.
	stop := time.Now()
	must(t, h2.Run(c, typ, "vd", "stop", params(h2), nil, 12*time.Second), agents.RCOK, "VirtualDomain stop on h2")
	t.Logf("VirtualDomain stop took %s", time.Since(stop).Round(time.Millisecond))
	must(t, h2.Run(c, typ, "vd", "monitor", params(h2), nil, 20*time.Second), agents.RCNotRunning, "VirtualDomain monitor after stop")
	for _, h := range n.Hosts {
		if pid := h.QemuPID(g.Name); pid != 0 {
			t.Errorf("qemu %d still runs %s on %s", pid, g.Name, h.Name)
		}
	}
}

// needVirtualDomain skips the test unless resource-agents' VirtualDomain
// and virsh are installed.
func needVirtualDomain(t *testing.T) {
	t.Helper()
	Need(t)
	if _, err := os.Stat(virtualDomainPath); err != nil {
		t.Skipf("vm: %s is missing (apt-get install resource-agents)", virtualDomainPath)
	}
	if _, err := exec.LookPath("virsh"); err != nil {
		t.Skip("vm: virsh is missing (apt-get install libvirt-clients)")
	}
}

// TestVirtualDomainIsAVM runs ocf:heartbeat:VirtualDomain (unmodified) as
// a cluster resource on three hosts, with the words a Pacemaker user
// writes (config, hypervisor, migration_transport; meta allow-migrate)
// and ha-level=NeverStop:
//   - `paceline vm list` shows it Running on its node, NeverStop, shared;
//   - its qemu killed: Running again on the same host (ha-level honoured);
//   - its host in maintenance: it live-migrates (same boot, the guest's
//     uptime counting), and vm list shows it Running on the new node;
//   - `vm ha vd None`, qemu killed: it stays Stopped.
//
// The watcher asks every libvirtd every 100 ms: never two running copies.
func TestVirtualDomainIsAVM(t *testing.T) {
	needVirtualDomain(t)
	n := NewNet(t, 3)
	w := n.Watch()
	c := NewCluster(t, n)
	g := n.NewGuest(4, "shared", nil)
	c.Must("resource", "create", "vd", "ocf:heartbeat:VirtualDomain", "config="+g.XMLPath, "hypervisor=qemu:///system",
		"migration_transport=tcp", "--meta", "allow-migrate=true", "ha-level=NeverStop",
		"--op", "monitor", "interval=2s", "timeout=30s", "--op", "start", "timeout=120s", "--op", "stop", "timeout=60s",
		"--op", "migrate_to", "timeout=120s", "--op", "migrate_from", "timeout=60s")
	v := c.WaitVM("vd", "Running", "", 180*time.Second)
	if v.HALevel != "NeverStop" || v.Storage != "shared" {
		t.Errorf("vd in status --json: %+v, want NeverStop and shared", v)
	}
	if _, err := n.WaitPing(g.IP, 180*time.Second); err != nil {
		t.Fatal(err)
	}
	list := c.Must("vm", "list")
	if !strings.Contains(list, "vd") || !strings.Contains(list, "Running") || !strings.Contains(list, v.Host) {
		t.Errorf("vm list does not show vd Running on %s:\n%s", v.Host, list)
	}
	t.Logf("vm list:\n%s", list)

	// Its qemu killed: NeverStop restarts it on the same host.
	host := n.hostOf(v.Host)
	pid := host.QemuPID(g.Name)
	if pid == 0 {
		t.Fatalf("no qemu runs %s on %s", g.Name, host.Name)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	killed := time.Now()
	c.Wait("vd Running again with a new qemu", 120*time.Second, func(st *Status) bool {
		v := st.VM("vd")
		p := host.QemuPID(g.Name)
		return v.State == "Running" && v.Host == host.Node && p != 0 && p != pid
	})
	t.Logf("VirtualDomain vd's qemu killed: Running again on %s after %s", host.Node, time.Since(killed).Round(time.Millisecond))

	// Maintenance of its host: it live-migrates.
	if _, err := n.WaitPing(g.IP, 180*time.Second); err != nil {
		t.Fatal(err)
	}
	up0, boot0, err := n.WaitUptime(g.IP, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pinger := n.Ping(g.IP)
	c.Must("node", "maintenance", host.Node)
	began := time.Now()
	v = c.Wait("vd Running on another host", 180*time.Second, func(st *Status) bool {
		v := st.VM("vd")
		return v.State == "Running" && v.Host != host.Node
	}).VM("vd")
	took := time.Since(began)
	time.Sleep(time.Second)
	ps := pinger.Stop()
	up1, boot1, err := n.Uptime(g.IP)
	if err != nil || boot1 != boot0 || up1 <= up0 {
		t.Fatalf("vd did not keep running through the migration: boot %s -> %s, uptime %.1f -> %.1f (%v)", boot0, boot1, up0, up1, err)
	}
	if on := n.qemuAnywhere(g.Name); !slices.Equal(on, []string{v.Host}) {
		t.Errorf("vd's qemu on %v after the migration, want only %s", on, v.Host)
	}
	if list := c.Must("vm", "list"); !strings.Contains(list, v.Host) {
		t.Errorf("vm list does not show vd on %s:\n%s", v.Host, list)
	}
	t.Logf("maintenance of %s: VirtualDomain vd live-migrated to %s in %s (uptime %.1f -> %.1f s, same boot); ping every 10 ms: %d lost (%d ms), longest gap %s",
		host.Node, v.Host, took.Round(time.Millisecond), up0, up1, ps.Sent-ps.Received, ps.LossMS(), ps.MaxGap.Round(time.Millisecond))
	c.Must("node", "unmaintenance", host.Node)

	// ha-level None: a kill of its qemu leaves it stopped.
	c.Must("vm", "ha", "vd", "None")
	host = n.hostOf(v.Host)
	syscall.Kill(host.QemuPID(g.Name), syscall.SIGKILL)
	s := c.WaitVM("vd", "Stopped", "", 60*time.Second)
	time.Sleep(6 * time.Second) // three monitor intervals: nothing starts it
	if on := n.qemuAnywhere(g.Name); len(on) != 0 {
		t.Errorf("vd (ha-level None) runs again on %v", on)
	}
	t.Logf("vm ha vd None, its qemu killed: %s (%s), still stopped 6 s later", s.State, s.Reason)
	samples, bad := w.Stop()
	t.Logf("watcher: %d samples of every libvirtd, %d with a domain running on two hosts", samples, len(bad))
}
