package e2e

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// reach tries a TCP connection from h to port 9 of to: a refused
// connection (no listener) means the packets flow; a timeout means they
// are dropped.
func reach(t *testing.T, h, to *Host) bool {
	t.Helper()
	_, err := h.Exec("timeout", "1", "bash", "-c", "exec 3<>/dev/tcp/"+to.Addr+"/9")
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 124 {
		return false
	}
	return true
}

// procState is the state letter of /proc/PID/stat (R, S, T, ...).
func procState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return f[0]
}

// The harness's own faults do what they say, and the monitor sees two
// holders of an address when there are two.
func TestHarness(t *testing.T) {
	n := NewNet(t, 3)
	h1, h2, h3 := n.Hosts[0], n.Hosts[1], n.Hosts[2]
	if !reach(t, h1, h2) || !reach(t, n.Client, h3) {
		t.Fatal("hosts cannot reach each other on the bridge")
	}

	n.Partition([]*Host{h1}, []*Host{h2, h3}, false)
	if reach(t, h1, h2) || reach(t, h3, h1) {
		t.Error("partition: h1 and the others still reach each other")
	}
	if !reach(t, h2, h3) || !reach(t, n.Client, h1) {
		t.Error("partition: traffic outside it is dropped")
	}
	n.Heal()
	if !reach(t, h1, h2) {
		t.Error("heal: h1 still cut off")
	}

	h3.LinkDown()
	if reach(t, h1, h3) {
		t.Error("link down: h3 still reachable")
	}
	h3.LinkUp()

	p := h1.Start("sleeper", "sleep", "60")
	time.Sleep(100 * time.Millisecond)
	h1.StopAgent()
	time.Sleep(100 * time.Millisecond)
	// The group's leader is `ip netns exec`, which execs sleep.
	if s := procState(p.Cmd.Process.Pid); s != "T" {
		t.Errorf("after StopAgent the process is in state %q, want T", s)
	}
	h1.ContAgent()
	time.Sleep(100 * time.Millisecond)
	if s := procState(p.Cmd.Process.Pid); s == "T" || s == "" {
		t.Errorf("after ContAgent the process is in state %q", s)
	}
	h1.KillAgent()
	if !p.Exited() {
		t.Error("KillAgent: still running")
	}

	const vip = "10.77.0.100"
	m := Watch(vip, n.Hosts)
	defer m.Stop()
	time.Sleep(50 * time.Millisecond)
	add := func(h *Host) { n.must("ip", "-n", h.NS, "addr", "add", vip+"/24", "dev", h.Link) }
	add(h1)
	time.Sleep(200 * time.Millisecond)
	add(h2)
	dualFrom := time.Now()
	time.Sleep(300 * time.Millisecond)
	h1.Crash() // a reset host loses the VIP
	// The crash itself takes time (more on a loaded machine): the two
	// held the address from h2's add until the crash returned.
	dual := time.Since(dualFrom)
	time.Sleep(200 * time.Millisecond)
	m.Stop()
	t.Log(m)
	if ok, _ := Holds(h1, vip); ok {
		t.Error("Crash left the VIP on h1")
	}
	if d := m.DualTime(); d < 200*time.Millisecond || d > dual+150*time.Millisecond {
		t.Errorf("dual-holder time %v, want 200ms to %v (the crash returned %v after h2's add)", d, dual+150*time.Millisecond, dual)
	}
	var got []string
	for _, c := range m.Timeline() {
		got = append(got, strings.Join(c.Holders, "+"))
	}
	if want := "h1,h1+h2,h2"; strings.Join(got, ",") != want {
		t.Errorf("timeline %v, want %s", got, want)
	}
	// A loaded machine may delay one sample; the mean shows the rate.
	if g := m.MeanGap(); g > 20*time.Millisecond {
		t.Errorf("a host was sampled every %v on average, want at least every 20ms", g)
	}
}
