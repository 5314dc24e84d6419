package stonith

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

// scriptClass returns a class whose agent directory is a fresh temporary
// directory holding the given scripts (name -> body), trusted for the
// current user.
func scriptClass(t *testing.T, scripts map[string]string) (*Class, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c, err := New(Config{Dir: dir, TrustedUIDs: []uint32{uint32(os.Getuid())}, KillGrace: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c, dir
}

func req(agent, op string, params map[string]string) agents.Request {
	return agents.Request{ResourceID: "fd", Agent: agents.Type{Class: ClassName, Name: agent}, Op: op,
		Params: params, Timeout: 10 * time.Second}
}

func TestParametersArriveOnStdinNeverOnTheCommandLine(t *testing.T) {
	c, dir := scriptClass(t, map[string]string{
		// Records its argv and stdin.
		"fence_echo": "#!/bin/sh\necho \"argc=$#\" > \"$(dirname \"$0\")/seen\"\ncat >> \"$(dirname \"$0\")/seen\"\n",
	})
	res := c.Run(context.Background(), req("fence_echo", "off", map[string]string{
		"port": "n1", "password": "s3cr;$(rm -rf x) `id`", "pcmk_host_list": "n1 n2", "ip": "10.0.0.1",
	}))
	if res.RC != agents.RCOK || res.Status != agents.StatusDone {
		t.Fatalf("off: %+v", res)
	}
	seen, err := os.ReadFile(filepath.Join(dir, "seen"))
	if err != nil {
		t.Fatal(err)
	}
	want := "argc=0\naction=off\nip=10.0.0.1\npassword=s3cr;$(rm -rf x) `id`\nport=n1\n"
	if string(seen) != want {
		t.Errorf("agent saw\n%s\nwant\n%s(pcmk_* attributes stay with the fencer)", seen, want)
	}
}

func TestAValueWithALineBreakIsRefused(t *testing.T) {
	c, _ := scriptClass(t, map[string]string{"fence_ok": "#!/bin/sh\nexit 0\n"})
	res := c.Run(context.Background(), req("fence_ok", "off", map[string]string{"passwd": "a\naction=on"}))
	if res.Status != agents.StatusErrorFatal || !strings.Contains(res.ExitReason, "passwd") {
		t.Fatalf("want a fatal error naming passwd, got %+v", res)
	}
}

func TestExitCodesMapToResults(t *testing.T) {
	c, _ := scriptClass(t, map[string]string{
		"fence_off":  "#!/bin/sh\necho 'Status: OFF'\nexit 2\n",
		"fence_fail": "#!/bin/sh\necho 'some chatter'\necho 'ERROR:root:Failed: Unable to connect/login to fencing device' >&2\necho 'trailing'\nexit 1\n",
	})
	ctx := context.Background()
	if r := c.Run(ctx, req("fence_off", "status", nil)); r.RC != agents.RCNotRunning || r.Status != agents.StatusDone {
		t.Errorf("status with exit 2: %+v, want not running (off)", r)
	}
	if r := c.Run(ctx, req("fence_off", "off", nil)); r.RC != agents.RCUnknownError {
		t.Errorf("off with exit 2: %+v, want an error (2 means off only for status)", r)
	}
	r := c.Run(ctx, req("fence_fail", "off", nil))
	if r.RC != agents.RCUnknownError || !strings.Contains(r.ExitReason, "Unable to connect/login") {
		t.Errorf("failing agent: %+v, want an error with the agent's failure line", r)
	}
}

func TestAHangingAgentIsKilledWithItsWholeProcessGroup(t *testing.T) {
	c, dir := scriptClass(t, map[string]string{
		// Starts a child that records its pid, then both sleep.
		"fence_hang": "#!/bin/sh\nsleep 300 &\necho $! > \"$(dirname \"$0\")/child\"\nsleep 300\n",
	})
	r := req("fence_hang", "off", nil)
	r.Timeout = 500 * time.Millisecond
	start := time.Now()
	res := c.Run(context.Background(), r)
	if res.Status != agents.StatusTimedOut || !strings.Contains(res.ExitReason, "process group was killed") {
		t.Fatalf("hanging agent: %+v", res)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the run took %v, want about the 500ms timeout", took)
	}
	b, err := os.ReadFile(filepath.Join(dir, "child"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(2 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("the agent's child %d still runs after the timeout", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether pid is a process that is not a zombie (a killed
// child waits as a zombie until init reaps it).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

func TestOutputIsBounded(t *testing.T) {
	c, _ := scriptClass(t, map[string]string{"fence_chatty": "#!/bin/sh\nhead -c 1000000 /dev/zero | tr '\\0' x\nexit 1\n"})
	res := c.Run(context.Background(), req("fence_chatty", "off", nil))
	if len(res.Output) > agents.MaxOutput+200 || !strings.Contains(res.Output, "output truncated") {
		t.Errorf("output of %d bytes, want at most %d plus a marker", len(res.Output), agents.MaxOutput)
	}
	if len(res.ExitReason) > 300 {
		t.Errorf("exit reason of %d bytes, want it cut", len(res.ExitReason))
	}
}

func TestUnknownAndUntrustedAgentsDoNotRun(t *testing.T) {
	c, dir := scriptClass(t, map[string]string{"fence_open": "#!/bin/sh\nexit 0\n"})
	if err := os.Chmod(filepath.Join(dir, "fence_open"), 0o777); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if r := c.Run(ctx, req("fence_missing", "off", nil)); r.Status != agents.StatusNotInstalled {
		t.Errorf("missing agent: %+v", r)
	}
	if r := c.Run(ctx, req("../bin/sh", "off", nil)); r.Status != agents.StatusNotInstalled {
		t.Errorf("path as agent name: %+v", r)
	}
	if r := c.Run(ctx, req("fence_open", "off", nil)); r.Status != agents.StatusErrorHard || r.RC != agents.RCInsufficientPriv {
		t.Errorf("world-writable agent: %+v", r)
	}
}

func TestAProbeOfAnUnstartedDeviceSaysNotRunning(t *testing.T) {
	c, _ := scriptClass(t, map[string]string{"fence_mon": "#!/bin/sh\nexit 0\n"})
	ctx := context.Background()
	if r := c.Run(ctx, req("fence_mon", "monitor", nil)); r.RC != agents.RCNotRunning {
		t.Fatalf("probe before start: %+v", r)
	}
	if r := c.Run(ctx, req("fence_mon", "start", nil)); r.RC != agents.RCOK {
		t.Fatalf("start: %+v", r)
	}
	if r := c.Run(ctx, req("fence_mon", "monitor", nil)); r.RC != agents.RCOK {
		t.Fatalf("monitor after start: %+v", r)
	}
	if r := c.Run(ctx, req("fence_mon", "stop", nil)); r.RC != agents.RCOK {
		t.Fatalf("stop: %+v", r)
	}
	if r := c.Run(ctx, req("fence_mon", "monitor", nil)); r.RC != agents.RCNotRunning {
		t.Fatalf("probe after stop: %+v", r)
	}
}

func TestGarbageMetadataIsOneClearError(t *testing.T) {
	_, err := ParseMetadata("Traceback (most recent call last):\n  File x\n")
	if !errors.Is(err, ErrBadMetadata) || !strings.Contains(err.Error(), "Traceback") {
		t.Errorf("garbage meta-data: %v", err)
	}
	_, err = ParseMetadata("<resource-agent name=\"x\"><parameters><parameter")
	if !errors.Is(err, ErrBadMetadata) {
		t.Errorf("cut meta-data: %v", err)
	}
}

func TestListOutputGivesPortsAndAliases(t *testing.T) {
	got := ParseList("/usr/sbin/fence_x:5: DeprecationWarning: 'pipes' is deprecated\nnode1,alias1\nnode2\n\n")
	if strings.Join(got, " ") != "node1 alias1 node2" {
		t.Errorf("ParseList: %q", got)
	}
}

// realAgent skips unless the fence-agents program is installed.
func realAgent(t *testing.T, name string) *Class {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/" + name); err != nil {
		t.Skipf("%s is not installed (Debian package fence-agents)", name)
	}
	c, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRealFenceDummyMetadataAndPowerCycle(t *testing.T) {
	c := realAgent(t, "fence_dummy")
	ctx := context.Background()
	res := c.Run(ctx, req("fence_dummy", "meta-data", nil))
	md, err := ParseMetadata(res.Output)
	if err != nil {
		t.Fatalf("meta-data: %v (%+v)", err, res)
	}
	if !Supports(md, "off") || !Supports(md, "monitor") || Supports(md, "list") {
		t.Errorf("meta-data actions: %v", md.Actions)
	}
	if !HasParam(md, "status_file") || HasParam(md, "port") {
		t.Errorf("meta-data parameters: %+v", md.Params)
	}
	file := filepath.Join(t.TempDir(), "power")
	params := map[string]string{"type": "file", "status_file": file, "power_timeout": "1"}
	if r := c.Run(ctx, req("fence_dummy", "off", params)); r.RC != agents.RCOK {
		t.Fatalf("off: %+v", r)
	}
	if r := c.Run(ctx, req("fence_dummy", "status", params)); r.RC != agents.RCNotRunning {
		t.Fatalf("status after off: %+v, want off", r)
	}
	if r := c.Run(ctx, req("fence_dummy", "on", params)); r.RC != agents.RCOK {
		t.Fatalf("on: %+v", r)
	}
	if r := c.Run(ctx, req("fence_dummy", "status", params)); r.RC != agents.RCOK {
		t.Fatalf("status after on: %+v, want on", r)
	}
	fail := map[string]string{"type": "fail", "plug": "nosuch", "power_timeout": "1"}
	if r := c.Run(ctx, req("fence_dummy", "off", fail)); r.RC != agents.RCUnknownError || !strings.Contains(r.ExitReason, "Failed") {
		t.Fatalf("off of a machine the device does not know: %+v", r)
	}
}
