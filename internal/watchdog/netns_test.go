package watchdog

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSimResetsANetworkNamespace is the real thing (root only): a host
// that is network namespace pl-wd-test, with a process and an address, is
// fed for a while, then not; after the timeout its process is dead and its
// address gone, while the test process itself (outside) lives on.
func TestSimResetsANetworkNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8)")
	}
	const ns = "pl-wd-test"
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	exec.Command("ip", "netns", "del", ns).Run() // a leftover from an aborted run
	run("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	// This kernel has no dummy links: a veth pair, both ends inside.
	run("-n", ns, "link", "add", "pl-wda", "type", "veth", "peer", "name", "pl-wdb")
	run("-n", ns, "addr", "add", "10.251.0.1/24", "dev", "pl-wda")
	run("-n", ns, "link", "set", "pl-wda", "up")
	run("-n", ns, "link", "set", "pl-wdb", "up")

	sleep := exec.Command("ip", "netns", "exec", ns, "sleep", "1000")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = sleep.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default: // still alive: end it (only the process this test started)
			sleep.Process.Kill()
			<-exited
		}
	})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	socket := filepath.Join(t.TempDir(), "wd.sock")
	go func() {
		done <- RunSim(ctx, SimConfig{Socket: socket, Netns: ns, Timeout: 300 * time.Millisecond, Logf: t.Logf})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunSim: %v", err)
		}
	})

	var s *Sim
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var err error
		if s, err = DialSim(socket); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("simulator not listening: %v", err)
		}
	}
	defer s.CloseArmed()

	// Fed every 100 ms for a second: the host lives.
	for i := 0; i < 10; i++ {
		if err := s.Feed(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case <-exited:
		t.Fatalf("the process died while the watchdog was fed: %v", waitErr)
	default:
	}
	if !hasAddr(t, ns, "pl-wda", "10.251.0.1") {
		t.Fatal("the address is gone while the watchdog was fed")
	}

	// Starved: reset within the timeout (plus slack for a loaded machine).
	select {
	case <-exited:
		if ws, ok := sleep.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("the process ended with %v, want SIGKILL", waitErr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the process in the namespace is still alive after the watchdog expired")
	}
	for deadline := time.Now().Add(5 * time.Second); hasAddr(t, ns, "pl-wda", "10.251.0.1"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the address is still there after the watchdog expired")
		}
	}
	if out, err := exec.Command("ip", "netns", "pids", ns).Output(); err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("processes left in %s: %q (%v)", ns, out, err)
	}
}

func hasAddr(t *testing.T, ns, dev, addr string) bool {
	t.Helper()
	for try := 0; ; try++ {
		out, err := exec.Command("ip", "-n", ns, "-o", "addr", "show", "dev", dev).CombinedOutput()
		// "ip -n" enters the namespace: a reset under way kills it with
		// every other process there. Ask again.
		var ee *exec.ExitError
		if errors.As(err, &ee) && try < 5 {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
				continue
			}
		}
		if err != nil {
			t.Fatalf("ip addr show: %v: %s", err, out)
		}
		return strings.Contains(string(out), addr+"/")
	}
}
