package builtin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/paceline/paceline/internal/agents"
)

// process supervises one command. Parameters:
//
//	command       the program: an absolute path or a name found in PATH (required)
//	args          its arguments: a JSON array of strings (["-m", "http.server"]),
//	              or words separated by white space; never given to a shell
//	dir           working directory (default /)
//	log           file receiving stdout and stderr, appended
//	              (default RunDir/process-ID.log)
//	stop_timeout  how long stop waits after SIGTERM before SIGKILL (a Go
//	              duration; default half the stop timeout)
//
// start spawns the command in its own process group with a minimal
// environment (PATH only) and records "PID STARTTIME" in
// RunDir/process-ID.pid; monitor checks that this very process (same pid
// and start time, not a zombie) lives; stop sends SIGTERM to the whole
// group, then SIGKILL.
func (c *Class) process(ctx context.Context, req *agents.Request) agents.Result {
	pidfile := c.path("process", req.ResourceID, ".pid")
	switch req.Op {
	case "start":
		if running(pidfile) {
			return ok()
		}
		return c.spawn(ctx, req, pidfile)
	case "stop":
		return stopGroup(ctx, req, pidfile)
	case "monitor":
		if running(pidfile) {
			return ok()
		}
		return rc(agents.RCNotRunning, "")
	case "validate-all":
		if _, _, err := commandLine(req.Params); err != nil {
			return rc(agents.RCNotConfigured, "%v", err)
		}
		return ok()
	case "meta-data":
		return agents.Result{RC: agents.RCOK, Status: agents.StatusDone, Output: processMetadata}
	}
	return agents.Result{RC: agents.RCUnimplemented, Status: agents.StatusNotSupported, ExitReason: "process has no action " + req.Op}
}

// commandLine returns the program and its arguments.
func commandLine(p map[string]string) (string, []string, error) {
	if p["command"] == "" {
		return "", nil, errors.New("parameter command is required")
	}
	path, err := exec.LookPath(p["command"])
	if err != nil {
		return "", nil, fmt.Errorf("command: %w", err)
	}
	args := strings.TrimSpace(p["args"])
	if strings.HasPrefix(args, "[") {
		var list []string
		if err := json.Unmarshal([]byte(args), &list); err != nil {
			return "", nil, fmt.Errorf("args is not a JSON array of strings: %w", err)
		}
		return path, list, nil
	}
	return path, strings.Fields(args), nil
}

func (c *Class) spawn(ctx context.Context, req *agents.Request, pidfile string) agents.Result {
	path, args, err := commandLine(req.Params)
	if err != nil {
		return rc(agents.RCNotConfigured, "%v", err)
	}
	logPath := req.Params["log"]
	if logPath == "" {
		logPath = c.path("process", req.ResourceID, ".log")
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return rc(agents.RCUnknownError, "open log: %v", err)
	}
	defer logf.Close()
	dir := req.Params["dir"]
	if dir == "" {
		dir = "/"
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return rc(agents.RCUnknownError, "start %s: %v", path, err)
	}
	go cmd.Wait() // reap it; monitor reads /proc, not this
	pid := cmd.Process.Pid
	st, err := startTime(pid)
	if err == nil {
		err = writeFile(pidfile, fmt.Sprintf("%d %d\n", pid, st))
	}
	if err != nil {
		syscall.Kill(-pid, syscall.SIGKILL)
		return rc(agents.RCUnknownError, "record pid: %v", err)
	}
	sleep(ctx, c.cfg.StartGrace)
	if !running(pidfile) {
		os.Remove(pidfile)
		return rc(agents.RCUnknownError, "%s exited at once (see %s)", path, logPath)
	}
	return ok()
}

func stopGroup(ctx context.Context, req *agents.Request, pidfile string) agents.Result {
	pid, _, err := readPidfile(pidfile)
	if errors.Is(err, os.ErrNotExist) {
		return ok()
	}
	if err != nil {
		return rc(agents.RCUnknownError, "%v", err)
	}
	grace := req.EffectiveTimeout() / 2
	if s := req.Params["stop_timeout"]; s != "" {
		if grace, err = time.ParseDuration(s); err != nil {
			return rc(agents.RCNotConfigured, "stop_timeout %q is not a duration", s)
		}
	}
	if running(pidfile) {
		syscall.Kill(-pid, syscall.SIGTERM)
		deadline := time.Now().Add(grace)
		for running(pidfile) && time.Now().Before(deadline) && ctx.Err() == nil {
			sleep(ctx, 10*time.Millisecond)
		}
	}
	// Whatever is left of the group, the leader included, is killed: a
	// stopped resource has no processes.
	syscall.Kill(-pid, syscall.SIGKILL)
	for running(pidfile) && ctx.Err() == nil {
		sleep(ctx, 10*time.Millisecond)
	}
	if running(pidfile) {
		return rc(agents.RCUnknownError, "process %d survived SIGKILL", pid)
	}
	os.Remove(pidfile)
	return ok()
}

// running reports whether the process recorded in pidfile lives.
func running(pidfile string) bool {
	pid, st, err := readPidfile(pidfile)
	if err != nil {
		return false
	}
	now, err := startTime(pid)
	return err == nil && now == st
}

func readPidfile(path string) (pid int, start uint64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	if _, err := fmt.Sscan(string(b), &pid, &start); err != nil || pid <= 0 {
		return 0, 0, fmt.Errorf("bad pid file %s: %q", path, b)
	}
	return pid, start, nil
}

// errZombie is returned by startTime for a process that has exited.
var errZombie = errors.New("process exited")

// startTime returns the start time of pid (field 22 of /proc/PID/stat,
// in clock ticks since boot), which tells a process from a later one that
// reused its pid.
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad stat for %d", pid)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 20 {
		return 0, fmt.Errorf("bad stat for %d", pid)
	}
	if f[0] == "Z" || f[0] == "X" {
		return 0, errZombie
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// writeFile replaces path atomically.
func writeFile(path, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

const processMetadata = `<?xml version="1.0"?>
<resource-agent name="process" version="1.0">
<version>1.1</version>
<shortdesc lang="en">Supervises a command</shortdesc>
<parameters>
<parameter name="command" required="1"><shortdesc lang="en">Program (absolute path or name in PATH)</shortdesc><content type="string"/></parameter>
<parameter name="args"><shortdesc lang="en">Arguments: JSON array of strings, or words</shortdesc><content type="string"/></parameter>
<parameter name="dir"><shortdesc lang="en">Working directory</shortdesc><content type="string" default="/"/></parameter>
<parameter name="log"><shortdesc lang="en">Log file for stdout and stderr</shortdesc><content type="string"/></parameter>
<parameter name="stop_timeout"><shortdesc lang="en">SIGTERM to SIGKILL delay</shortdesc><content type="string"/></parameter>
</parameters>
<actions>
<action name="start" timeout="20s"/><action name="stop" timeout="20s"/>
<action name="monitor" timeout="20s" interval="10s" depth="0"/>
<action name="meta-data" timeout="5s"/><action name="validate-all" timeout="20s"/>
</actions>
</resource-agent>
`
