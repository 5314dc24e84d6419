package vm

import (
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestVMLibvirtdUnreachableInCluster: a three-host cluster runs a
// shared-storage NeverStop VM g1; its host's libvirtd is hung (SIGSTOP)
// and later stopped (SIGKILL) while g1's qemu runs on:
//   - g1 turns Unknown with the reason (libvirtd unreachable, its qemu's
//     pid), never Stopped, and for 20 s is neither restarted nor started
//     elsewhere: every 100 ms only its host runs a qemu for it, the same
//     pid;
//   - libvirtd woken (SIGCONT), or started again: g1 is Running on the
//     same host with the same qemu (pid and guest boot unchanged): a
//     NeverStop VM is never destroyed because its libvirtd went away.
//
// The watcher (every libvirtd every 100 ms) stalls on the hung libvirtd;
// the qemu processes are checked instead meanwhile.
func TestVMLibvirtdUnreachableInCluster(t *testing.T) {
	n := NewNet(t, 3)
	n.Watch()
	c := NewCluster(t, n)
	g1 := n.NewGuest(1, "shared", nil)
	c.createVM(g1, "shared", "NeverStop")
	v := c.WaitVM("g1", "Running", "", 180*time.Second)
	host := n.hostOf(v.Host)
	if _, err := n.WaitPing(g1.IP, 180*time.Second); err != nil {
		t.Fatal(err)
	}
	_, boot0, err := n.WaitUptime(g1.IP, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pid0 := host.QemuPID("g1")
	if pid0 == 0 {
		t.Fatalf("no qemu runs g1 on %s", host.Name)
	}

	// only checks, every 100 ms for d, that g1's one qemu is pid0 on host
	// and status never shows g1 elsewhere or Stopped.
	only := func(what string, d time.Duration) {
		t.Helper()
		polls := 0
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			if on := n.qemuAnywhere("g1"); !slices.Equal(on, []string{host.Node}) || host.QemuPID("g1") != pid0 {
				t.Fatalf("%s: g1's qemu on %v (pid %d on %s, was %d)", what, on, host.QemuPID("g1"), host.Name, pid0)
			}
			if polls++; polls%10 == 0 {
				if st, err := c.Status(); err == nil {
					if v := st.VM("g1"); v.Host != host.Node || (v.State != "Unknown" && v.State != "Running") {
						t.Fatalf("%s: status shows g1 %s on %q (%s)", what, v.State, v.Host, v.Reason)
					}
				}
			}
		}
	}
	back := func(what string) {
		t.Helper()
		start := time.Now()
		c.WaitVM("g1", "Running", host.Node, 60*time.Second)
		if pid := host.QemuPID("g1"); pid != pid0 {
			t.Fatalf("%s: g1's qemu is pid %d, was %d: it was restarted", what, pid, pid0)
		}
		if _, boot, err := n.Uptime(g1.IP); err != nil || boot != boot0 {
			t.Fatalf("%s: g1 booted at %s, was %s (%v)", what, boot, boot0, err)
		}
		t.Logf("%s: g1 Running on %s again after %s, same qemu (pid %d) and boot", what, host.Node, time.Since(start).Round(time.Millisecond), pid0)
	}
	unknown := func(what string) {
		t.Helper()
		start := time.Now()
		u := c.WaitVM("g1", "Unknown", host.Node, 60*time.Second)
		if !strings.Contains(u.Reason, "libvirtd unreachable") || !strings.Contains(u.Reason, "still runs") {
			t.Errorf("%s: g1 Unknown with reason %q, want the unreachable libvirtd and the running qemu", what, u.Reason)
		}
		t.Logf("%s: g1 Unknown after %s: %s", what, time.Since(start).Round(time.Millisecond), u.Reason)
	}

	host.SignalLibvirtd(syscall.SIGSTOP)
	unknown("libvirtd hung (SIGSTOP)")
	only("libvirtd hung", 20*time.Second)
	host.SignalLibvirtd(syscall.SIGCONT)
	back("libvirtd woken (SIGCONT)")

	host.KillLibvirtd()
	unknown("libvirtd gone (SIGKILL)")
	only("libvirtd gone", 20*time.Second)
	host.RestartLibvirtd()
	back("libvirtd started again")
}
