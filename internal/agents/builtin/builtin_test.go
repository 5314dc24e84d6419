package builtin

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/agents"
)

func newClass(t *testing.T) *Class {
	t.Helper()
	c, err := New(Config{RunDir: t.TempDir(), StartGrace: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func run(t *testing.T, c *Class, typ, id, op string, params map[string]string) agents.Result {
	t.Helper()
	return c.Run(context.Background(), agents.Request{ResourceID: id, Agent: agents.Type{Class: "builtin", Name: typ},
		Op: op, Params: params, Timeout: 5 * time.Second})
}

func expect(t *testing.T, res agents.Result, want agents.RC, what string) {
	t.Helper()
	if res.Status != agents.StatusDone || res.RC != want {
		t.Fatalf("%s: got %v rc %v (%s), want rc %v", what, res.Status, res.RC, res.ExitReason, want)
	}
}

func TestDummyLifecycle(t *testing.T) {
	c := newClass(t)
	steps := []struct {
		op   string
		want agents.RC
	}{
		{"monitor", agents.RCNotRunning}, {"start", agents.RCOK}, {"monitor", agents.RCOK},
		{"start", agents.RCOK}, {"promote", agents.RCOK}, {"monitor", agents.RCRunningPromoted},
		{"notify", agents.RCOK}, {"demote", agents.RCOK}, {"monitor", agents.RCOK},
		{"migrate_to", agents.RCOK}, {"monitor", agents.RCNotRunning}, {"migrate_from", agents.RCOK},
		{"monitor", agents.RCOK}, {"stop", agents.RCOK}, {"monitor", agents.RCNotRunning},
		{"stop", agents.RCOK}, {"promote", agents.RCUnknownError},
	}
	for i, s := range steps {
		expect(t, run(t, c, "dummy", "d1", s.op, nil), s.want, strconv.Itoa(i)+" "+s.op)
	}
	// Another instance is independent; state survives a new Class.
	expect(t, run(t, c, "dummy", "d2", "start", nil), agents.RCOK, "d2 start")
	c2, _ := New(c.cfg)
	expect(t, run(t, c2, "dummy", "d2", "monitor", nil), agents.RCOK, "d2 monitor after restart")
	expect(t, run(t, c2, "dummy", "d1", "monitor", nil), agents.RCNotRunning, "d1 monitor after restart")
	if res := run(t, c, "dummy", "d1", "frobnicate", nil); res.Status != agents.StatusNotSupported {
		t.Fatalf("unknown action: %v", res.Status)
	}
	if res := run(t, c, "dummy", "../x", "start", nil); res.Status == agents.StatusDone {
		t.Fatal("a resource id with a path separator was accepted")
	}
}

func TestDummyTimeout(t *testing.T) {
	c := newClass(t)
	res := c.Run(context.Background(), agents.Request{ResourceID: "d", Agent: agents.Type{Class: "builtin", Name: "dummy"},
		Op: "start", Params: map[string]string{"op_sleep": "10s"}, Timeout: 100 * time.Millisecond})
	if res.Status != agents.StatusTimedOut {
		t.Fatalf("got %v", res.Status)
	}
	expect(t, run(t, c, "dummy", "d", "monitor", nil), agents.RCNotRunning, "a timed-out start did nothing")
}

func pidOf(t *testing.T, c *Class, id string) int {
	t.Helper()
	pid, _, err := readPidfile(c.path("process", id, ".pid"))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestProcessLifecycle(t *testing.T) {
	c := newClass(t)
	params := map[string]string{"command": "sleep", "args": "60"}
	expect(t, run(t, c, "process", "p", "monitor", params), agents.RCNotRunning, "probe")
	expect(t, run(t, c, "process", "p", "start", params), agents.RCOK, "start")
	expect(t, run(t, c, "process", "p", "monitor", params), agents.RCOK, "monitor")
	pid := pidOf(t, c, "p")
	if pgid, _ := syscall.Getpgid(pid); pgid != pid {
		t.Fatalf("process group %d, want its own (%d)", pgid, pid)
	}
	expect(t, run(t, c, "process", "p", "start", params), agents.RCOK, "start again")
	if pidOf(t, c, "p") != pid {
		t.Fatal("a second start spawned a second process")
	}
	// It dies behind our back: monitor notices.
	syscall.Kill(pid, syscall.SIGKILL)
	deadline := time.Now().Add(2 * time.Second)
	for run(t, c, "process", "p", "monitor", params).RC != agents.RCNotRunning {
		if time.Now().After(deadline) {
			t.Fatal("monitor did not notice the process died")
		}
		time.Sleep(10 * time.Millisecond)
	}
	expect(t, run(t, c, "process", "p", "start", params), agents.RCOK, "restart")
	expect(t, run(t, c, "process", "p", "stop", params), agents.RCOK, "stop")
	expect(t, run(t, c, "process", "p", "monitor", params), agents.RCNotRunning, "monitor after stop")
	expect(t, run(t, c, "process", "p", "stop", params), agents.RCOK, "stop when stopped")
}

// Stop escalates to SIGKILL for the whole group when SIGTERM is ignored;
// arguments reach the command literally.
func TestProcessStopKillsGroup(t *testing.T) {
	c := newClass(t)
	dir := t.TempDir()
	evil := "; rm -rf " + dir + " $(id)"
	script := `trap "" TERM; printf '%s' "$1" > "$2/arg"; sleep 60 & echo $! > "$2/child"; wait`
	params := map[string]string{"command": "/bin/sh", "args": `["-c", ` + strconv.Quote(script) + `, "sh", ` + strconv.Quote(evil) + `, ` + strconv.Quote(dir) + `]`,
		"stop_timeout": "200ms", "log": filepath.Join(dir, "log")}
	expect(t, run(t, c, "process", "p", "start", params), agents.RCOK, "start")
	var child int
	for deadline := time.Now().Add(2 * time.Second); child == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(filepath.Join(dir, "child"))
		child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "arg")); string(got) != evil {
		t.Fatalf("command saw %q, want %q", got, evil)
	}
	start := time.Now()
	expect(t, run(t, c, "process", "p", "stop", params), agents.RCOK, "stop")
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("stop took %v, before the SIGTERM grace", d)
	}
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := startTime(child); err != nil {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(child, syscall.SIGKILL)
			t.Fatal("the command's child survived stop")
		}
	}
}

func TestProcessBadConfig(t *testing.T) {
	c := newClass(t)
	for _, p := range []map[string]string{{}, {"command": "no-such-program-xyz"}, {"command": "sleep", "args": "[1,"}} {
		if res := run(t, c, "process", "p", "start", p); res.RC != agents.RCNotConfigured {
			t.Errorf("%v: got %v", p, res.RC)
		}
	}
	if res := run(t, c, "process", "p", "start", map[string]string{"command": "true"}); res.RC != agents.RCUnknownError {
		t.Errorf("a command that exits at once started: %v", res.RC)
	}
}

// Every listed type is one Run knows: its meta-data answers.
func TestTypesAreRunnable(t *testing.T) {
	c, err := New(Config{RunDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Types() {
		res := c.Run(context.Background(), agents.Request{ResourceID: "x", Agent: agents.Type{Class: "builtin", Name: name}, Op: "meta-data"})
		if res.RC != agents.RCOK || len(res.Output) == 0 {
			t.Errorf("builtin:%s meta-data: rc %d, %d bytes", name, res.RC, len(res.Output))
		}
	}
}
