package vm

import (
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/agents"
	"github.com/paceline/paceline/internal/agents/builtin"
	"github.com/paceline/paceline/test/testenv"
)

var vmType = agents.Type{Class: "builtin", Name: "vm"}

func newBuiltin(t *testing.T) *builtin.Class {
	t.Helper()
	c, err := builtin.New(builtin.Config{RunDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func vmParams(g *Guest, h *Host, storage string) map[string]string {
	return map[string]string{"domain": g.Name, "xml": g.XMLPath, "storage": storage, "uri": h.URI,
		"shutdown_timeout": "20s"}
}

func must(t *testing.T, res agents.Result, want agents.RC, what string) {
	t.Helper()
	if res.Status != agents.StatusDone || res.RC != want {
		t.Fatalf("%s: %v rc %d %v (%s), want rc %d", what, res.Status, res.RC, res.RC, res.ExitReason, want)
	}
}

// TestVMLifecycle: builtin:vm starts a guest that answers ping, monitor
// sees it, a SIGKILL of its qemu is reported by the next monitor as not
// running (7), a start brings it back and stop leaves nothing defined.
func TestVMLifecycle(t *testing.T) {
	n := NewNet(t, 1)
	h := n.Hosts[0]
	w := n.Watch()
	c := newBuiltin(t)
	g := n.NewGuest(1, "shared", nil)
	p := vmParams(g, h, "shared")

	must(t, h.Run(c, vmType, "vm1", "monitor", p, nil, 10*time.Second), agents.RCNotRunning, "probe before start")
	start := time.Now()
	must(t, h.Run(c, vmType, "vm1", "start", p, nil, 60*time.Second), agents.RCOK, "start")
	started := time.Since(start)
	boot, err := n.WaitPing(g.IP, 180*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("start returned after %s; guest answered ping %s after start (boot to ping %s)",
		started.Round(time.Millisecond), (started + boot).Round(time.Millisecond), boot.Round(time.Millisecond))
	var mons []time.Duration
	for range 5 {
		res := h.Run(c, vmType, "vm1", "monitor", p, nil, 10*time.Second)
		must(t, res, agents.RCOK, "monitor")
		mons = append(mons, res.Duration)
	}
	t.Logf("monitor of a running guest (a new libvirtd connection each): %s", spread(mons))
	if got := w.Where(g.Name); !slices.Equal(got, []string{"h1"}) {
		t.Logf("watcher's last sample: %v (it samples every 100 ms)", got)
	}

	// Kill qemu and start again: once, or $PL_VM_ROUNDS times.
	rounds := testenv.Count(t, "PL_VM_ROUNDS", 1)
	boots := []time.Duration{started + boot}
	var detects []time.Duration
	for range rounds {
		pid := h.QemuPID(g.Name)
		if pid == 0 {
			t.Fatal("no qemu process for g1 in h1's namespace")
		}
		syscall.Kill(pid, syscall.SIGKILL)
		killed := time.Now()
		var res agents.Result
		for time.Since(killed) < 10*time.Second {
			res = h.Run(c, vmType, "vm1", "monitor", p, nil, 10*time.Second)
			if res.RC == agents.RCNotRunning {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		must(t, res, agents.RCNotRunning, "monitor after kill -9 of qemu")
		detects = append(detects, time.Since(killed))
		t.Logf("qemu killed: monitor said %q after %s", res.ExitReason, time.Since(killed).Round(time.Millisecond))
		if !strings.Contains(res.ExitReason, "shut off") {
			t.Errorf("monitor's reason %q does not say the domain is shut off", res.ExitReason)
		}
		start := time.Now()
		must(t, h.Run(c, vmType, "vm1", "start", p, nil, 60*time.Second), agents.RCOK, "start after the kill")
		if _, err := n.WaitPing(g.IP, 180*time.Second); err != nil {
			t.Fatal(err)
		}
		boots = append(boots, time.Since(start))
	}
	t.Logf("%d starts, start to ping: %s; %d kills of qemu, kill to monitor rc 7 (polled every 50 ms): %s",
		len(boots), spread(boots), len(detects), spread(detects))
	stop := time.Now()
	res := h.Run(c, vmType, "vm1", "stop", p, nil, 30*time.Second)
	must(t, res, agents.RCOK, "stop")
	if strings.Contains(res.Output, "destroyed") {
		t.Errorf("stop destroyed the guest instead of shutting it down: %s", res.Output)
	}
	t.Logf("stop (graceful: the guest powers off on ACPI's power button) took %s", time.Since(stop).Round(time.Millisecond))
	must(t, h.Run(c, vmType, "vm1", "monitor", p, nil, 10*time.Second), agents.RCNotRunning, "monitor after stop")
	if pid := h.QemuPID(g.Name); pid != 0 {
		t.Errorf("qemu %d still runs after stop", pid)
	}
	lv, err := h.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer lv.Disconnect()
	if _, err := lv.DomainLookupByName(g.Name); err == nil {
		t.Error("g1 is still defined on h1 after stop")
	}
	must(t, h.Run(c, vmType, "vm1", "stop", p, nil, 30*time.Second), agents.RCOK, "second stop")
}

// TestVMLibvirtdDown: when the libvirtd a tcp uri names is gone, monitor
// and stop fail with one line naming the unreachable libvirtd (never "not
// running", which would get the guest started elsewhere while it still
// runs here: through a tcp uri the agent cannot look at the guest's qemu
// process); the guest keeps running, and a libvirtd started again finds
// it and monitor says so. With the default qemu:///system the agent looks
// at the qemu process instead (TestVMLibvirtdUnreachableInCluster).
func TestVMLibvirtdDown(t *testing.T) {
	n := NewNet(t, 1)
	h := n.Hosts[0]
	n.Watch()
	c := newBuiltin(t)
	g := n.NewGuest(1, "shared", nil)
	p := vmParams(g, h, "shared")
	must(t, h.Run(c, vmType, "vm1", "start", p, nil, 60*time.Second), agents.RCOK, "start")
	if _, err := n.WaitPing(g.IP, 180*time.Second); err != nil {
		t.Fatal(err)
	}
	_, boot0, err := n.WaitUptime(g.IP, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}

	h.KillLibvirtd()
	for _, op := range []string{"monitor", "stop", "start"} {
		res := h.Run(c, vmType, "vm1", op, p, nil, 10*time.Second)
		must(t, res, agents.RCUnknownError, op+" without libvirtd")
		if !strings.Contains(res.ExitReason, "libvirtd unreachable at "+h.URI) || strings.Contains(res.ExitReason, "\n") {
			t.Errorf("%s without libvirtd: reason %q, want one line naming the unreachable libvirtd", op, res.ExitReason)
		}
		t.Logf("%s without libvirtd: rc %d: %s", op, res.RC, res.ExitReason)
	}
	if _, err := n.WaitPing(g.IP, 5*time.Second); err != nil {
		t.Fatalf("the guest died with libvirtd: %v", err)
	}

	h.RestartLibvirtd()
	must(t, h.Run(c, vmType, "vm1", "monitor", p, nil, 10*time.Second), agents.RCOK, "monitor after libvirtd's restart")
	if _, boot1, err := n.Uptime(g.IP); err != nil || boot1 != boot0 {
		t.Fatalf("after libvirtd's restart: boot %s, was %s (%v)", boot1, boot0, err)
	}
	must(t, h.Run(c, vmType, "vm1", "stop", p, nil, 30*time.Second), agents.RCOK, "stop")
	must(t, h.Run(c, vmType, "vm1", "monitor", p, nil, 10*time.Second), agents.RCNotRunning, "monitor after stop")
}
