package builtin

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/agents"
)

// attrStore is a NodeAttrs that really keeps the attributes and records
// every call; fail makes the next calls fail.
type attrStore struct {
	mu     sync.Mutex
	values map[string]string
	calls  []string // "name=value"
	fail   error
}

var _ NodeAttrs = (*attrStore)(nil)

func (s *attrStore) SetNodeAttr(_ context.Context, name, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	if s.values == nil {
		s.values = map[string]string{}
	}
	s.values[name] = value
	s.calls = append(s.calls, name+"="+value)
	return nil
}

func (s *attrStore) history() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.calls, " ")
}

func (s *attrStore) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

func pingClass(t *testing.T) (*Class, *attrStore) {
	t.Helper()
	s := &attrStore{}
	c, err := New(Config{RunDir: t.TempDir(), Attrs: s})
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

// listen opens a TCP listener on loopback that accepts and closes
// connections until the test ends or it is closed.
func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l
}

// closedPort returns a loopback address nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestPingTCP(t *testing.T) {
	c, s := pingClass(t)
	up := listen(t, "127.0.0.1:0").Addr().String()
	down := closedPort(t)
	p := map[string]string{"host_list": up + " " + down, "multiplier": "100", "name": "net_ok", "timeout": "1s"}
	expect(t, run(t, c, "ping", "p", "validate-all", p), agents.RCOK, "validate-all")
	expect(t, run(t, c, "ping", "p", "monitor", p), agents.RCNotRunning, "probe")
	res := run(t, c, "ping", "p", "start", p)
	expect(t, res, agents.RCOK, "start")
	if got := s.history(); got != "net_ok=100" {
		t.Fatalf("start published %q, want net_ok=100 (one of two reachable, times 100)\n%s", got, res.Output)
	}
	if !strings.Contains(res.Output, down+": ") || !strings.Contains(res.Output, up+": reachable") {
		t.Fatalf("output does not explain each target:\n%s", res.Output)
	}
	expect(t, run(t, c, "ping", "p", "start", p), agents.RCOK, "second start")
	expect(t, run(t, c, "ping", "p", "monitor", p), agents.RCOK, "monitor")
	if got := s.history(); got != "net_ok=100" {
		t.Fatalf("unchanged value republished: %q", got)
	}
	expect(t, run(t, c, "ping", "p", "stop", p), agents.RCOK, "stop")
	expect(t, run(t, c, "ping", "p", "monitor", p), agents.RCNotRunning, "monitor after stop")
	expect(t, run(t, c, "ping", "p", "stop", p), agents.RCOK, "second stop")
	if got := s.history(); got != "net_ok=100 net_ok=0" {
		t.Fatalf("stop: history %q, want the attribute reset to 0 once", got)
	}

	// Only unreachable targets: 0, with the default name.
	q := map[string]string{"host_list": down, "timeout": "500ms"}
	expect(t, run(t, c, "ping", "q", "start", q), agents.RCOK, "start q")
	if got := s.values["pingd"]; got != "0" {
		t.Fatalf("pingd = %q, want 0", got)
	}
}

func TestPingDampen(t *testing.T) {
	c, s := pingClass(t)
	l := listen(t, "127.0.0.1:0")
	addr := l.Addr().String()
	const dampen = 400 * time.Millisecond
	p := map[string]string{"host_list": addr, "dampen": "400ms", "timeout": "500ms"}
	expect(t, run(t, c, "ping", "p", "start", p), agents.RCOK, "start")
	if got := s.history(); got != "pingd=1" {
		t.Fatalf("start: %q", got)
	}

	// A short outage: seen by one monitor, over before dampen: nothing published.
	l.Close()
	res := run(t, c, "ping", "p", "monitor", p)
	expect(t, res, agents.RCOK, "monitor during outage")
	if !strings.Contains(res.Output, "pending") {
		t.Fatalf("monitor output does not show the pending value:\n%s", res.Output)
	}
	listen(t, addr)
	expect(t, run(t, c, "ping", "p", "monitor", p), agents.RCOK, "monitor after outage")
	time.Sleep(dampen + 50*time.Millisecond)
	expect(t, run(t, c, "ping", "p", "monitor", p), agents.RCOK, "monitor later")
	if got := s.history(); got != "pingd=1" {
		t.Fatalf("a flap shorter than dampen was published: %q", got)
	}

	// A lasting outage: published once it has held for dampen.
	c2, s2 := pingClass(t)
	l2 := listen(t, "127.0.0.1:0")
	p2 := map[string]string{"host_list": l2.Addr().String(), "dampen": "400ms", "timeout": "500ms", "multiplier": "5"}
	expect(t, run(t, c2, "ping", "p", "start", p2), agents.RCOK, "start")
	l2.Close()
	start := time.Now()
	expect(t, run(t, c2, "ping", "p", "monitor", p2), agents.RCOK, "first monitor of the outage")
	for time.Since(start) < dampen-100*time.Millisecond {
		expect(t, run(t, c2, "ping", "p", "monitor", p2), agents.RCOK, "monitor within dampen")
		if got := s2.history(); got != "pingd=5" {
			t.Fatalf("published before dampen elapsed (%v): %q", time.Since(start), got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(dampen - time.Since(start) + 20*time.Millisecond)
	expect(t, run(t, c2, "ping", "p", "monitor", p2), agents.RCOK, "monitor after dampen")
	if got := s2.history(); got != "pingd=5 pingd=0" {
		t.Fatalf("after dampen: %q, want pingd=0 published", got)
	}

	// A failed publication is retried by the next monitor.
	listen(t, l2.Addr().String())
	s2.setFail(errors.New("store unavailable"))
	p2["dampen"] = "0"
	res = run(t, c2, "ping", "p", "monitor", p2)
	expect(t, res, agents.RCOK, "monitor with a failing store")
	if !strings.Contains(res.Output, "store unavailable") {
		t.Fatalf("publication error not reported:\n%s", res.Output)
	}
	s2.setFail(nil)
	expect(t, run(t, c2, "ping", "p", "monitor", p2), agents.RCOK, "monitor after the store recovered")
	if got := s2.history(); got != "pingd=5 pingd=0 pingd=5" {
		t.Fatalf("not retried: %q", got)
	}
}

func TestPingWithoutAttrs(t *testing.T) {
	c := newClass(t)
	p := map[string]string{"host_list": listen(t, "127.0.0.1:0").Addr().String()}
	res := run(t, c, "ping", "p", "start", p)
	expect(t, res, agents.RCOK, "start")
	if !strings.Contains(res.Output, "pingd=1") || !strings.Contains(res.Output, "not published") {
		t.Fatalf("output: %q", res.Output)
	}
	expect(t, run(t, c, "ping", "p", "monitor", p), agents.RCOK, "monitor")
	expect(t, run(t, c, "ping", "p", "stop", p), agents.RCOK, "stop")
}

func TestPingParameters(t *testing.T) {
	c, _ := pingClass(t)
	for _, tc := range []struct {
		params map[string]string
		reason string
	}{
		{map[string]string{}, "host_list is required"},
		{map[string]string{"host_list": "a", "multiplier": "-1"}, "multiplier"},
		{map[string]string{"host_list": "a", "dampen": "soon"}, "dampen"},
		{map[string]string{"host_list": "a", "timeout": "0"}, "timeout"},
		{map[string]string{"host_list": "a", "name": "bad name"}, "not an attribute name"},
	} {
		for _, op := range []string{"validate-all", "start"} {
			res := run(t, c, "ping", "p", op, tc.params)
			expect(t, res, agents.RCNotConfigured, op+" "+tc.reason)
			if !strings.Contains(res.ExitReason, tc.reason) {
				t.Fatalf("%s %v: exit reason %q, want %q", op, tc.params, res.ExitReason, tc.reason)
			}
		}
	}
	if res := run(t, c, "ping", "p", "meta-data", nil); !strings.Contains(res.Output, `<resource-agent name="ping"`) {
		t.Fatalf("meta-data: %q", res.Output)
	}
}

// TestPingICMPInNamespace pings from pl-vipA: 10.77.9.2 and fd77::2
// answer, nothing has 10.77.9.77. ping checks on goroutines of their own,
// so the whole process must be in the namespace: the test binary runs
// TestPingICMPHelper there through "ip netns exec".
func TestPingICMPInNamespace(t *testing.T) {
	vipNet(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", nsA, os.Args[0], "-test.run=^TestPingICMPHelper$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "PACELINE_PING_HELPER=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestPingICMPHelper") {
		t.Fatalf("helper in %s: %v\n%s", nsA, err, out)
	}
}

// TestPingICMPHelper is TestPingICMPInNamespace's part inside pl-vipA.
func TestPingICMPHelper(t *testing.T) {
	if os.Getenv("PACELINE_PING_HELPER") != "1" {
		t.Skip("runs only inside TestPingICMPInNamespace")
	}
	c, s := pingClass(t)
	p := map[string]string{"host_list": "10.77.9.2 10.77.9.77 fd77::2", "timeout": "2s", "multiplier": "10"}
	res := run(t, c, "ping", "icmp", "start", p)
	expect(t, res, agents.RCOK, "start")
	if got := s.history(); got != "pingd=20" {
		t.Fatalf("published %q, want pingd=20 (two of three answer)\n%s", got, res.Output)
	}
	if !strings.Contains(res.Output, "10.77.9.77: no echo reply") {
		t.Fatalf("output:\n%s", res.Output)
	}
	expect(t, run(t, c, "ping", "icmp", "stop", p), agents.RCOK, "stop")
}
