package ocf

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/agents"
)

// testRoot makes a temporary OCF root with the given agents under
// resource.d/test/ and a Class that trusts it as an extra root (and the
// test's own uid, so the tests also run without root).
func testRoot(t *testing.T, scripts map[string]string) (*Class, string) {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "resource.d", "test")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range scripts {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c, err := New(Config{
		Root:        filepath.Join(t.TempDir(), "no-such-root"),
		ExtraRoots:  []string{root},
		TrustedUIDs: []uint32{0, uint32(os.Getuid())},
		RunDir:      t.TempDir(),
		KillGrace:   300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, root
}

func req(name, op string) agents.Request {
	return agents.Request{ResourceID: "r1", Agent: agents.Type{Class: "ocf", Provider: "test", Name: name}, Op: op, Timeout: 5 * time.Second}
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func readPids(t *testing.T, path string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, n)
	}
	return pids
}

// A timeout kills the whole process group: the agent and the grandchild it
// started in the background, and reports StatusTimedOut.
func TestTimeoutKillsProcessGroup(t *testing.T) {
	c, _ := testRoot(t, map[string]string{"Sleeper": `#!/bin/sh
sleep 60 &
echo $! $$ > "$OCF_RESKEY_pidfile"
sleep 60
`})
	pidfile := filepath.Join(t.TempDir(), "pids")
	r := req("Sleeper", "start")
	r.Timeout = 300 * time.Millisecond
	r.Params = map[string]string{"pidfile": pidfile}
	start := time.Now()
	res := c.Run(context.Background(), r)
	if res.Status != agents.StatusTimedOut || res.RC != agents.RCUnknownError {
		t.Fatalf("got status %v rc %v (%s), want timed out", res.Status, res.RC, res.ExitReason)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Run took %v after a 300ms timeout", d)
	}
	pids := readPids(t, pidfile)
	if len(pids) != 2 {
		t.Fatalf("pid file holds %v", pids)
	}
	deadline := time.Now().Add(2 * time.Second)
	for _, pid := range pids {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("process %d of the timed-out agent's group is still alive", pid)
		}
	}
}

// Cancelling the caller's context kills the agent too, reported as
// cancelled rather than timed out.
func TestCancel(t *testing.T) {
	c, _ := testRoot(t, map[string]string{"Sleeper": "#!/bin/sh\nsleep 60\n"})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	res := c.Run(ctx, req("Sleeper", "stop"))
	if res.Status != agents.StatusCancelled {
		t.Fatalf("got %v, want cancelled", res.Status)
	}
}

// Parameters reach the agent literally, through the environment only: the
// shell metacharacters are never interpreted.
func TestParametersAreLiteral(t *testing.T) {
	c, root := testRoot(t, map[string]string{"Env": `#!/bin/sh
env > "$OCF_RESKEY_out"
printf '%s' "$OCF_RESKEY_evil" > "$OCF_RESKEY_out.evil"
printf '%s\n' "$@" > "$OCF_RESKEY_out.argv"
`})
	victim := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(victim, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	evil := "; rm -rf " + victim + " $(id) `touch " + victim + ".pwned` \" ' \n|&"
	out := filepath.Join(t.TempDir(), "env")
	r := req("Env", "monitor")
	r.Interval = 10 * time.Second
	r.Timeout = 30 * time.Second
	r.Node = "n1"
	r.Params = map[string]string{"evil": evil, "out": out}
	r.Meta = map[string]string{"clone-max": "2", "notify_type": "pre"}
	res := c.Run(context.Background(), r)
	if res.Status != agents.StatusDone || res.RC != agents.RCOK {
		t.Fatalf("got %v %v: %s %s", res.Status, res.RC, res.ExitReason, res.Output)
	}
	got, err := os.ReadFile(out + ".evil")
	if err != nil || string(got) != evil {
		t.Fatalf("agent saw %q (%v), want %q", got, err, evil)
	}
	if _, err := os.Stat(victim); err != nil {
		t.Fatalf("victim file gone: %v", err)
	}
	if _, err := os.Stat(victim + ".pwned"); err == nil {
		t.Fatal("a command substitution in a parameter was executed")
	}
	argv, _ := os.ReadFile(out + ".argv")
	if string(argv) != "monitor\n" {
		t.Fatalf("argv = %q, want only the action", argv)
	}
	env, _ := os.ReadFile(out)
	for _, want := range []string{
		"OCF_ROOT=" + root, "OCF_RESOURCE_INSTANCE=r1", "OCF_RESOURCE_TYPE=Env", "OCF_RESOURCE_PROVIDER=test",
		"OCF_RESKEY_CRM_meta_timeout=30000", "OCF_RESKEY_CRM_meta_interval=10000", "OCF_RESKEY_CRM_meta_name=monitor",
		"OCF_RESKEY_CRM_meta_on_node=n1", "OCF_RESKEY_CRM_meta_clone_max=2", "OCF_RESKEY_CRM_meta_notify_type=pre",
		"HA_RSCTMP=" + c.cfg.RunDir, "HA_VARRUN=" + c.cfg.RunDir, "OCF_RA_VERSION_MAJOR=1", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	} {
		if !strings.Contains(string(env), want+"\n") {
			t.Errorf("environment lacks %s", want)
		}
	}
}

// Output is bounded and marked as truncated; exit reasons are parsed.
func TestOutputBoundAndExitReason(t *testing.T) {
	c, _ := testRoot(t, map[string]string{"Chatty": `#!/bin/sh
echo "ocf-exit-reason:first" >&2
head -c 200000 /dev/zero | tr '\0' a
echo
echo "ocf-exit-reason:disk on fire" >&2
exit 1
`})
	res := c.Run(context.Background(), req("Chatty", "start"))
	if res.RC != agents.RCUnknownError || res.Status != agents.StatusDone {
		t.Fatalf("got %v %v", res.Status, res.RC)
	}
	if len(res.Output) > agents.MaxOutput+200 || !strings.Contains(res.Output, "output truncated") {
		t.Fatalf("output of %d bytes not bounded: ...%q", len(res.Output), res.Output[len(res.Output)-100:])
	}
	if res.ExitReason != "first" { // the later line was past the bound
		t.Fatalf("exit reason %q", res.ExitReason)
	}
}

// Exit codes are mapped as Pacemaker does.
func TestExitCodes(t *testing.T) {
	c, _ := testRoot(t, map[string]string{"Exit": "#!/bin/sh\nexit $OCF_RESKEY_rc\n"})
	for code, want := range map[int]agents.RC{0: 0, 7: 7, 8: 8, 6: 6, 42: 1, 190: 190, 191: 191} {
		r := req("Exit", "monitor")
		r.Params = map[string]string{"rc": strconv.Itoa(code)}
		if res := c.Run(context.Background(), r); res.RC != want || res.Status != agents.StatusDone {
			t.Errorf("exit %d: got %v %v, want %v", code, res.Status, res.RC, want)
		}
	}
}

// An agent that leaves a daemon holding its output open does not hang.
func TestDaemonHoldingOutput(t *testing.T) {
	c, _ := testRoot(t, map[string]string{"Daemon": `#!/bin/sh
setsid sleep 30 &
echo $! > "$OCF_RESKEY_pidfile"
exit 0
`})
	pidfile := filepath.Join(t.TempDir(), "pid")
	r := req("Daemon", "start")
	r.Params = map[string]string{"pidfile": pidfile}
	res := c.Run(context.Background(), r)
	for _, pid := range readPids(t, pidfile) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if res.RC != agents.RCOK || res.Status != agents.StatusDone || res.Duration > 3*time.Second {
		t.Fatalf("got %v %v after %v", res.Status, res.RC, res.Duration)
	}
}

// Agents outside the root, writable by others, or missing are refused
// without running.
func TestRefusesInsecureAgents(t *testing.T) {
	c, root := testRoot(t, map[string]string{"Ok": "#!/bin/sh\nexit 0\n", "Writable": "#!/bin/sh\nexit 0\n"})
	dir := filepath.Join(root, "resource.d", "test")
	if err := os.Chmod(filepath.Join(dir, "Writable"), 0o777); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "Outside")
	if err := os.WriteFile(outside, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "Link")); err != nil {
		t.Fatal(err)
	}
	if res := c.Run(context.Background(), req("Ok", "start")); res.RC != agents.RCOK {
		t.Fatalf("Ok: %v %s", res.RC, res.ExitReason)
	}
	for _, name := range []string{"Writable", "Link"} {
		res := c.Run(context.Background(), req(name, "start"))
		if res.RC != agents.RCInsufficientPriv || res.Status != agents.StatusErrorHard || !strings.Contains(res.ExitReason, "refusing") {
			t.Errorf("%s: got %v %v %q, want refused", name, res.Status, res.RC, res.ExitReason)
		}
	}
	for _, name := range []string{"Missing", "../test/Ok", ".."} {
		res := c.Run(context.Background(), req(name, "start"))
		if res.RC != agents.RCNotInstalled || res.Status != agents.StatusNotInstalled {
			t.Errorf("%s: got %v %v %q, want not installed", name, res.Status, res.RC, res.ExitReason)
		}
	}
	if os.Getuid() != 0 {
		strict, _ := New(Config{Root: root})
		if res := strict.Run(context.Background(), req("Ok", "start")); res.RC != agents.RCInsufficientPriv {
			t.Errorf("an agent not owned by root ran: %v", res.RC)
		}
	}
}

// An agent in a directory that group or others may write is refused (they
// could replace it between the check and the exec), and runs again once
// the directory is tightened.
func TestRefusesAgentInWritableDirectory(t *testing.T) {
	c, root := testRoot(t, map[string]string{"Ok": "#!/bin/sh\nexit 0\n"})
	for _, dir := range []string{filepath.Join(root, "resource.d", "test"), filepath.Join(root, "resource.d"), root} {
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		res := c.Run(context.Background(), req("Ok", "start"))
		if res.RC != agents.RCInsufficientPriv || !strings.Contains(res.ExitReason, "directory "+dir+" is writable") {
			t.Errorf("%s 0777: got %v %q, want refused naming the directory", dir, res.RC, res.ExitReason)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if res := c.Run(context.Background(), req("Ok", "start")); res.RC != agents.RCOK {
			t.Errorf("%s 0755: got %v %q, want ok", dir, res.RC, res.ExitReason)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	_, err := New(Config{Root: "relative", RunDir: "also"})
	if !errors.Is(err, ErrRelativeDir) {
		t.Fatalf("got %v", err)
	}
}

// HA_RSCTMP exists when the agent runs, as Dummy's "touch $state" needs,
// even when nothing created it before.
func TestRunDirCreated(t *testing.T) {
	c, _ := testRoot(t, map[string]string{"Touch": "#!/bin/sh\ntouch \"$HA_RSCTMP/$OCF_RESOURCE_INSTANCE.state\"\n"})
	c.cfg.RunDir = filepath.Join(t.TempDir(), "run", "ocf")
	if res := c.Run(context.Background(), req("Touch", "start")); res.RC != agents.RCOK {
		t.Fatalf("start: %v %v %q", res.Status, res.RC, res.Output)
	}
	if _, err := os.Stat(filepath.Join(c.cfg.RunDir, "r1.state")); err != nil {
		t.Error(err)
	}
}
