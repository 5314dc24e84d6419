package vm

import (
	"os"
	"os/exec"
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
	Need(t)
	if _, err := os.Stat(virtualDomainPath); err != nil {
		t.Skipf("vm: %s is missing (apt-get install resource-agents)", virtualDomainPath)
	}
	if _, err := exec.LookPath("virsh"); err != nil {
		t.Skip("vm: virsh is missing (apt-get install libvirt-clients)")
	}
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
