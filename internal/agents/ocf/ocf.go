// Package ocf runs OCF resource agents (the ClusterLabs resource-agents
// scripts) unmodified, as Pacemaker's executor does.
//
// An agent ocf:PROVIDER:TYPE is the file ROOT/resource.d/PROVIDER/TYPE
// under the configured root (default /usr/lib/ocf) or one of the extra
// roots. It runs with argv [path, action] and a fresh environment: the
// base environment from Config, OCF_ROOT, OCF_RA_VERSION_MAJOR/MINOR,
// OCF_RESOURCE_INSTANCE/TYPE/PROVIDER, OCF_EXIT_REASON_PREFIX, HA_RSCTMP,
// one OCF_RESKEY_<name> per parameter and OCF_RESKEY_CRM_meta_<name> per
// meta-attribute (timeout and interval in milliseconds, name, on_node).
// Parameters travel only through the environment; no shell ever sees them.
//
// Before running, the agent's path is resolved (symlinks included) and must
// lie inside the root it was found in, be a regular file owned by a trusted
// user (root) and not writable by group or others, and every directory from
// the root down to the file must be owned by a trusted user and not
// writable by group or others (else an untrusted user could swap the file
// between the check and the exec); otherwise the operation fails with
// StatusErrorHard and RCInsufficientPriv without running anything.
//
// The agent runs in its own process group. When the operation times out the
// whole group (the script and everything it started) gets SIGKILL and the
// result is StatusTimedOut. stdout and stderr are captured together up to
// Config.MaxOutput bytes.
package ocf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paceline/paceline/internal/agents"
)

// Config configures the OCF class.
type Config struct {
	// Root is OCF_ROOT, the directory holding resource.d/PROVIDER/TYPE.
	// Default /usr/lib/ocf.
	Root string
	// ExtraRoots are further roots searched after Root, in order (for
	// site-local agents; tests use a temporary one). Each has the same
	// layout and becomes OCF_ROOT for the agents found in it.
	ExtraRoots []string
	// TrustedUIDs are the owners an agent file may have. Default [0]
	// (root only).
	TrustedUIDs []uint32
	// RunDir is HA_RSCTMP, where agents keep state that must not survive
	// a reboot; created (mode 0755) before an agent runs when missing.
	// Default /run/resource-agents.
	RunDir string
	// Env is the base environment of every agent ("NAME=value"). Default
	// PATH=/usr/sbin:/usr/bin:/sbin:/bin only: the daemon's own
	// environment (tokens, proxies) is never passed on.
	Env []string
	// MaxOutput bounds the captured stdout+stderr in bytes. Default
	// agents.MaxOutput (64 KiB).
	MaxOutput int
	// KillGrace is how long to wait for the output pipes after the agent
	// exited or was killed, so a daemon that kept them open cannot hang
	// the operation. Default 2s.
	KillGrace time.Duration
}

// DefaultConfig returns the configuration Pacemaker's layout implies.
func DefaultConfig() Config {
	return Config{
		Root:        "/usr/lib/ocf",
		TrustedUIDs: []uint32{0},
		RunDir:      "/run/resource-agents",
		Env:         []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
		MaxOutput:   agents.MaxOutput,
		KillGrace:   2 * time.Second,
	}
}

// Errors of Validate.
var (
	ErrNoRoot      = errors.New("ocf: root is empty")
	ErrRelativeDir = errors.New("ocf: directory is not absolute")
)

// Validate reports every problem of c at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Root == "" {
		errs = append(errs, ErrNoRoot)
	}
	for _, d := range append([]string{c.Root, c.RunDir}, c.ExtraRoots...) {
		if d != "" && !filepath.IsAbs(d) {
			errs = append(errs, fmt.Errorf("%w: %q", ErrRelativeDir, d))
		}
	}
	if c.MaxOutput < 0 {
		errs = append(errs, fmt.Errorf("ocf: MaxOutput %d is negative", c.MaxOutput))
	}
	return errors.Join(errs...)
}

// Class runs OCF agents. It is safe for concurrent use.
type Class struct {
	cfg Config
}

// New returns the OCF class; zero fields of cfg take their defaults.
func New(cfg Config) (*Class, error) {
	def := DefaultConfig()
	if cfg.Root == "" {
		cfg.Root = def.Root
	}
	if cfg.TrustedUIDs == nil {
		cfg.TrustedUIDs = def.TrustedUIDs
	}
	if cfg.RunDir == "" {
		cfg.RunDir = def.RunDir
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
	return &Class{cfg: cfg}, nil
}

// exitReasonPrefix marks the lines agents write to stderr to explain a
// failure (ocf_exit_reason).
const exitReasonPrefix = "ocf-exit-reason:"

// Run performs req with the agent ocf:req.Agent.Provider:req.Agent.Name.
// It blocks until the agent exits, the timeout kills it, or ctx ends.
func (c *Class) Run(ctx context.Context, req agents.Request) agents.Result {
	start := time.Now()
	res := c.run(ctx, &req)
	res.Duration = time.Since(start)
	return res
}

func (c *Class) run(ctx context.Context, req *agents.Request) agents.Result {
	if req.Op == "" {
		return agents.Failed(agents.RCInvalidParam, agents.StatusInvalid, "no action given")
	}
	root, path, res, ok := c.find(req.Agent)
	if !ok {
		return res
	}
	env, err := c.environ(root, req)
	if err != nil {
		return agents.Failed(agents.RCNotConfigured, agents.StatusErrorFatal, "%v", err)
	}
	// Agents keep their state files in HA_RSCTMP and expect it to exist
	// (Pacemaker's packaging creates /run/resource-agents at boot).
	if err := os.MkdirAll(c.cfg.RunDir, 0o755); err != nil {
		return agents.Failed(agents.RCUnknownError, agents.StatusError, "HA_RSCTMP: %v", err)
	}

	runCtx, cancel := agents.Deadline(ctx, req)
	defer cancel()
	// argv is the script and the action: nothing else, no shell.
	exit := agents.Program{Path: path, Args: []string{req.Op}, Env: env,
		MaxOutput: c.cfg.MaxOutput, KillGrace: c.cfg.KillGrace}.Run(runCtx)

	r := agents.Result{Output: exit.Output, ExitReason: exitReason(exit.Output)}
	switch {
	case exit.Interrupted != agents.StatusDone:
		r.RC, r.Status = agents.RCUnknownError, exit.Interrupted
		if exit.Interrupted == agents.StatusTimedOut {
			r.ExitReason = fmt.Sprintf("%s %s did not finish within %v; its process group was killed", req.Agent, req.Op, req.EffectiveTimeout())
		}
	case exit.Err != nil:
		// Killed by a signal someone else sent, or not started.
		r.RC, r.Status = agents.RCUnknownError, agents.StatusError
		if r.ExitReason == "" {
			r.ExitReason = "agent " + exit.Err.Error()
		}
	default:
		r.RC, r.Status = agents.OCFExitCode(exit.Code), agents.StatusDone
	}
	return r
}

// exitReason returns the text of the last "ocf-exit-reason:" line.
func exitReason(out string) string {
	reason := ""
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, exitReasonPrefix); ok {
			reason = strings.TrimSpace(rest)
		}
	}
	return reason
}

// namePattern is what a provider or type name may look like: no path
// separators, no leading dot.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.+-]*$`)

// find locates and checks the agent file. When ok is false, res says why.
func (c *Class) find(t agents.Type) (root, path string, res agents.Result, ok bool) {
	if !namePattern.MatchString(t.Provider) || !namePattern.MatchString(t.Name) {
		return "", "", agents.Failed(agents.RCNotInstalled, agents.StatusNotInstalled,
			"invalid agent name %q", t.String()), false
	}
	for _, r := range append([]string{c.cfg.Root}, c.cfg.ExtraRoots...) {
		p := filepath.Join(r, "resource.d", t.Provider, t.Name)
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		if err := c.secure(r, p); err != nil {
			return "", "", agents.Failed(agents.RCInsufficientPriv, agents.StatusErrorHard,
				"refusing to run %s: %v", t, err), false
		}
		return r, p, agents.Result{}, true
	}
	return "", "", agents.Failed(agents.RCNotInstalled, agents.StatusNotInstalled,
		"agent %s not found under %s", t, strings.Join(append([]string{c.cfg.Root}, c.cfg.ExtraRoots...), ", ")), false
}

// ErrInsecure is wrapped by the reasons an agent file is refused.
var ErrInsecure = agents.ErrInsecure

// secure checks that path resolves inside root to a trusted file
// (agents.CheckTrusted).
func (c *Class) secure(root, path string) error {
	return agents.CheckTrusted(root, path, c.cfg.TrustedUIDs)
}

// environ builds the agent's environment.
func (c *Class) environ(root string, req *agents.Request) ([]string, error) {
	vars := map[string]string{}
	for _, kv := range c.cfg.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	vars["OCF_ROOT"] = root
	vars["OCF_RA_VERSION_MAJOR"] = "1"
	vars["OCF_RA_VERSION_MINOR"] = "1"
	vars["OCF_EXIT_REASON_PREFIX"] = exitReasonPrefix
	vars["OCF_RESOURCE_INSTANCE"] = req.ResourceID
	vars["OCF_RESOURCE_TYPE"] = req.Agent.Name
	vars["OCF_RESOURCE_PROVIDER"] = req.Agent.Provider
	vars["HA_RSCTMP"] = c.cfg.RunDir
	if _, set := vars["HA_VARRUN"]; !set {
		// Agents keep pid and state files there too (Stateful's default
		// state file): several agents on one machine must not share it.
		vars["HA_VARRUN"] = c.cfg.RunDir
	}
	for k, v := range req.Params {
		if err := checkVar(k, v); err != nil {
			return nil, fmt.Errorf("parameter %w", err)
		}
		vars["OCF_RESKEY_"+k] = v
	}
	for k, v := range MetaEnv(req) {
		if err := checkVar(k, v); err != nil {
			return nil, fmt.Errorf("meta-attribute %w", err)
		}
		vars["OCF_RESKEY_CRM_meta_"+k] = v
	}
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env, nil
}

// MetaEnv returns the CRM_meta_* names (without the prefix) and values
// Pacemaker passes for req: the meta-attributes with "-" turned into "_",
// then timeout and interval in milliseconds, name and on_node.
func MetaEnv(req *agents.Request) map[string]string {
	m := map[string]string{}
	for k, v := range req.Meta {
		m[strings.ReplaceAll(k, "-", "_")] = v
	}
	m["timeout"] = strconv.FormatInt(req.EffectiveTimeout().Milliseconds(), 10)
	m["interval"] = strconv.FormatInt(req.Interval.Milliseconds(), 10)
	m["name"] = req.Op
	if req.Node != "" {
		m["on_node"] = req.Node
	}
	return m
}

// checkVar rejects what cannot be an environment entry. Any other byte,
// shell metacharacters included, passes through literally.
func checkVar(name, value string) error {
	if name == "" || strings.ContainsAny(name, "=\x00") {
		return fmt.Errorf("name %q cannot be an environment variable", name)
	}
	if strings.ContainsRune(value, 0) {
		return fmt.Errorf("%q contains a NUL byte", name)
	}
	return nil
}
