// Package stonith runs fence agents (the ClusterLabs fence-agents
// programs, fence_*) unmodified, as Pacemaker's fencer does.
//
// An agent stonith:fence_NAME is the program DIR/fence_NAME (default DIR
// /usr/sbin). It runs with no arguments at all and reads its arguments as
// "key=value" lines on standard input: "action=ACTION" first, then the
// device's parameters in name order (the fencer adds the target's
// port/plug and nodename). Passwords and every other parameter therefore
// never appear on a command line nor pass through a shell. Parameters whose
// name begins with "pcmk_" are the fencer's own device attributes and are
// not passed on, as in Pacemaker. A value containing a newline or NUL is
// refused (it would smuggle a second line).
//
// Before running, the program's path must resolve inside DIR to a regular
// file owned by a trusted user (root) and not writable by group or others
// (agents.CheckTrusted). The agent runs in its own process group; at its
// timeout the whole group (the agent and the ipmitool or ssh it started)
// gets SIGKILL and the result is StatusTimedOut. stdout and stderr are
// captured together up to Config.MaxOutput bytes.
//
// Exit codes are fence-agents': 0 success; for "status", 2 means the
// target is powered off (RCNotRunning) and 0 on; every other code is a
// failure (RCUnknownError) whose ExitReason is the agent's last "ERROR" or
// "Failed:" line.
//
// As a resource (the executor's operations), a device follows Pacemaker's
// executor: "start" runs the agent's monitor action and registers the
// device, "stop" unregisters it without running anything, a "monitor" of a
// registered device runs action=monitor, and a monitor (probe) of a device
// that is not registered answers RCNotRunning without running the agent.
// "meta-data" and "validate-all" run the agent's actions of those names.
// Every other operation (off, on, reboot, status, list) is a fence action
// the fencer asks for and runs as it is named.
package stonith

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/paceline/paceline/internal/agents"
)

// ClassName is the agent class of fence devices ("stonith:fence_ipmilan").
const ClassName = "stonith"

// Config configures the stonith class.
type Config struct {
	// Dir holds the fence agent programs. Default /usr/sbin.
	Dir string
	// TrustedUIDs are the owners an agent program may have. Default [0]
	// (root only).
	TrustedUIDs []uint32
	// Env is the environment of every agent ("NAME=value"). Default
	// PATH=/usr/sbin:/usr/bin:/sbin:/bin only: the daemon's own
	// environment is never passed on.
	Env []string
	// MaxOutput bounds the captured stdout+stderr in bytes. Default
	// agents.MaxOutput (64 KiB).
	MaxOutput int
	// KillGrace is how long to wait for the output pipes after the agent
	// exited or was killed. Default 2s.
	KillGrace time.Duration
}

// DefaultConfig returns the configuration of a Debian fence-agents
// installation.
func DefaultConfig() Config {
	return Config{
		Dir:         "/usr/sbin",
		TrustedUIDs: []uint32{0},
		Env:         []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
		MaxOutput:   agents.MaxOutput,
		KillGrace:   2 * time.Second,
	}
}

// Errors of Validate and of parameter checks.
var (
	ErrRelativeDir = errors.New("stonith: agent directory is not absolute")
	ErrBadParam    = errors.New("stonith: parameter cannot be passed on stdin")
)

// Validate reports every problem of c at once.
func (c *Config) Validate() error {
	var errs []error
	if !filepath.IsAbs(c.Dir) {
		errs = append(errs, fmt.Errorf("%w: %q", ErrRelativeDir, c.Dir))
	}
	if c.MaxOutput < 0 {
		errs = append(errs, fmt.Errorf("stonith: MaxOutput %d is negative", c.MaxOutput))
	}
	return errors.Join(errs...)
}

// Class runs fence agents. It is safe for concurrent use.
type Class struct {
	cfg Config

	mu         sync.Mutex
	registered map[string]bool // resource IDs of started devices
}

// New returns the stonith class; zero fields of cfg take their defaults.
func New(cfg Config) (*Class, error) {
	def := DefaultConfig()
	if cfg.Dir == "" {
		cfg.Dir = def.Dir
	}
	if cfg.TrustedUIDs == nil {
		cfg.TrustedUIDs = def.TrustedUIDs
	}
	if cfg.Env == nil {
		cfg.Env = def.Env
	}
	if cfg.MaxOutput == 0 {
		cfg.MaxOutput = def.MaxOutput
	}
	if cfg.KillGrace == 0 {
		cfg.KillGrace = def.KillGrace
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Class{cfg: cfg, registered: map[string]bool{}}, nil
}

// Run performs req with the fence agent req.Agent.Name. It blocks until
// the agent exits, the timeout kills it, or ctx ends.
func (c *Class) Run(ctx context.Context, req agents.Request) agents.Result {
	start := time.Now()
	res := c.run(ctx, &req)
	res.Duration = time.Since(start)
	return res
}

func (c *Class) run(ctx context.Context, req *agents.Request) agents.Result {
	switch req.Op {
	case "":
		return agents.Failed(agents.RCInvalidParam, agents.StatusInvalid, "no action given")
	case "start":
		r := c.exec(ctx, req, "monitor")
		if r.Status == agents.StatusDone && r.RC == agents.RCOK {
			c.setRegistered(req.ResourceID, true)
		}
		return r
	case "stop":
		c.setRegistered(req.ResourceID, false)
		return agents.Result{RC: agents.RCOK, Status: agents.StatusDone}
	case "monitor":
		if !c.isRegistered(req.ResourceID) {
			return agents.Result{RC: agents.RCNotRunning, Status: agents.StatusDone}
		}
		return c.exec(ctx, req, "monitor")
	case "meta-data":
		return c.exec(ctx, req, "metadata")
	}
	return c.exec(ctx, req, req.Op)
}

func (c *Class) setRegistered(id string, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if on {
		c.registered[id] = true
	} else {
		delete(c.registered, id)
	}
}

func (c *Class) isRegistered(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.registered[id]
}

// namePattern is what a fence agent's name looks like.
var namePattern = regexp.MustCompile(`^fence_[A-Za-z0-9_.+-]+$`)

// path returns the checked path of the agent name, or the result saying
// why it cannot run.
func (c *Class) path(name string) (string, agents.Result, bool) {
	if !namePattern.MatchString(name) {
		return "", agents.Failed(agents.RCNotInstalled, agents.StatusNotInstalled,
			"invalid fence agent name %q (want fence_NAME)", name), false
	}
	p := filepath.Join(c.cfg.Dir, name)
	if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		return "", agents.Failed(agents.RCNotInstalled, agents.StatusNotInstalled,
			"fence agent %s not found in %s", name, c.cfg.Dir), false
	}
	if err := agents.CheckTrusted(c.cfg.Dir, p, c.cfg.TrustedUIDs); err != nil {
		return "", agents.Failed(agents.RCInsufficientPriv, agents.StatusErrorHard,
			"refusing to run %s: %v", name, err), false
	}
	return p, agents.Result{}, true
}

// Stdin returns the standard input a fence agent gets for action and
// params: "action=ACTION" and then one "name=value" line per parameter in
// name order, leaving out the fencer's pcmk_* attributes. It fails with
// ErrBadParam when a name or value cannot be one line.
func Stdin(action string, params map[string]string) (string, error) {
	var b strings.Builder
	b.WriteString("action=" + action + "\n")
	names := make([]string, 0, len(params))
	for k := range params {
		if k == "action" || strings.HasPrefix(k, "pcmk_") {
			continue
		}
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := params[k]
		if k == "" || strings.ContainsAny(k, "=\n\r\x00") {
			return "", fmt.Errorf("%w: name %q", ErrBadParam, k)
		}
		if strings.ContainsAny(v, "\n\r\x00") {
			return "", fmt.Errorf("%w: %s contains a line break or NUL", ErrBadParam, k)
		}
		b.WriteString(k + "=" + v + "\n")
	}
	return b.String(), nil
}

// exec runs the agent with the given fence-agents action.
func (c *Class) exec(ctx context.Context, req *agents.Request, action string) agents.Result {
	path, res, ok := c.path(req.Agent.Name)
	if !ok {
		return res
	}
	stdin, err := Stdin(action, req.Params)
	if err != nil {
		return agents.Failed(agents.RCInvalidParam, agents.StatusErrorFatal, "%s: %v", req.Agent.Name, err)
	}
	runCtx, cancel := agents.Deadline(ctx, req)
	defer cancel()
	exit := agents.Program{Path: path, Env: c.cfg.Env, Stdin: strings.NewReader(stdin),
		MaxOutput: c.cfg.MaxOutput, KillGrace: c.cfg.KillGrace}.Run(runCtx)

	r := agents.Result{Output: exit.Output}
	switch {
	case exit.Interrupted == agents.StatusTimedOut:
		r.RC, r.Status = agents.RCUnknownError, agents.StatusTimedOut
		r.ExitReason = fmt.Sprintf("%s %s did not finish within %v; its process group was killed",
			req.Agent.Name, action, req.EffectiveTimeout().Round(time.Millisecond))
	case exit.Interrupted != agents.StatusDone:
		r.RC, r.Status = agents.RCUnknownError, exit.Interrupted
	case exit.Err != nil:
		r.RC, r.Status = agents.RCUnknownError, agents.StatusError
		r.ExitReason = fmt.Sprintf("%s %s: %v", req.Agent.Name, action, exit.Err)
	case exit.Code == 0:
		r.RC, r.Status = agents.RCOK, agents.StatusDone
	case exit.Code == 2 && action == "status":
		r.RC, r.Status = agents.RCNotRunning, agents.StatusDone
	default:
		r.RC, r.Status = agents.RCUnknownError, agents.StatusDone
		r.ExitReason = fmt.Sprintf("%s %s failed (exit code %d)", req.Agent.Name, action, exit.Code)
		if why := failureLine(exit.Output); why != "" {
			r.ExitReason += ": " + why
		}
	}
	return r
}

// logStamp is the time stamp fence-agents' logging puts before a line.
var logStamp = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ `)

// maxReason bounds an ExitReason taken from an agent's output.
const maxReason = 200

// failureLine returns the agent's last line that explains a failure
// ("Failed: ...", "ERROR:...", "...error..."), or its last non-empty line,
// cut to maxReason bytes.
func failureLine(out string) string {
	var last, failed string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(logStamp.ReplaceAllString(line, ""))
		if line == "" || strings.HasPrefix(line, "[paceline: output truncated") {
			continue
		}
		last = line
		l := strings.ToLower(line)
		if strings.HasPrefix(l, "failed") || strings.Contains(l, "error") {
			failed = line
		}
	}
	if failed == "" {
		failed = last
	}
	if len(failed) > maxReason {
		failed = failed[:maxReason] + "..."
	}
	return failed
}

// Types returns the fence agents installed in the class's directory (the
// names a device's agent may have: fence_ipmilan, ...), sorted: every
// fence_NAME there that is an executable regular file (or a link to one).
func (c *Class) Types() []string {
	ents, err := os.ReadDir(c.cfg.Dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if !namePattern.MatchString(e.Name()) {
			continue
		}
		if fi, err := os.Stat(filepath.Join(c.cfg.Dir, e.Name())); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}
