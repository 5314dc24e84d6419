// Package builtin implements the agents that live inside the paceline
// binary (class "builtin"): dummy, a stand-in that only records whether it
// runs (like ocf:pacemaker:Dummy, plus promote/demote); process, which
// supervises a command; vip, a virtual IP address (like
// ocf:heartbeat:IPaddr2); ping, which keeps a node attribute counting
// the reachable targets (like ocf:pacemaker:ping); vm, a libvirt
// domain run through libvirtd's RPC protocol (like
// ocf:heartbeat:VirtualDomain, with live migration); and postgresql, a
// promotable PostgreSQL with streaming replication.
//
// State lives in files under Config.RunDir, so an agent restart (not a
// reboot) keeps it, as HA_RSCTMP does for OCF agents.
package builtin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/paceline/paceline/internal/agents"
)

// Config configures the builtin class.
type Config struct {
	// RunDir holds the agents' state (dummy state files, process pid
	// files and default logs). Required; created with mode 0700.
	RunDir string
	// StartGrace is how long process waits after spawning its command
	// before checking that it is still alive. Default 100ms.
	StartGrace time.Duration
	// Attrs publishes the node attributes ping maintains (the daemon
	// wires it to the cluster store). Optional: when nil, ping still
	// checks its targets and reports the value in its output, but
	// publishes nothing.
	Attrs NodeAttrs
	// Peers lists the cluster's members and their attributes
	// (builtin:postgresql finds its primary there). Optional: without it
	// an instance knows no peer (a single-node setup).
	Peers Peers
}

// NodeAttrs sets attributes of the local node in the cluster status, as
// attrd_updater does. SetNodeAttr is called from agent operations (any
// goroutine, concurrently for different resources) and may block up to
// the operation's context. An error fails ping's start; monitor reports it
// in its output and retries on the next monitor; stop reports it and
// succeeds (a failed stop would get the node fenced). Values are decimal
// strings; ping's stop sets "0" (it does not delete the attribute).
type NodeAttrs interface {
	SetNodeAttr(ctx context.Context, name, value string) error
}

// NodeAttrsSetter is optional behaviour of a NodeAttrs: several attributes
// set in one replicated write (builtin:postgresql publishes up to ten at
// a time, and a promotion waits for them).
type NodeAttrsSetter interface {
	SetNodeAttrs(ctx context.Context, attrs map[string]string) error
}

// ErrNoRunDir is returned by New when Config.RunDir is empty or relative.
var ErrNoRunDir = errors.New("builtin: RunDir must be an absolute path")

// Class runs the builtin agents. It is safe for concurrent use across
// resources; the executor runs one operation at a time per resource.
type Class struct {
	cfg Config

	mu        sync.Mutex
	published map[string]string   // node attributes this process has set, by name
	syncMarks map[string]syncMark // builtin:postgresql primaries' synchronous standby, by pgdata
}

// syncMark is what this process knows of the synchronous standby of the
// primary in pgdata (zero: nothing yet).
func (c *Class) syncMark(pgdata string) syncMark {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.syncMarks[pgdata]
}

func (c *Class) setSyncMark(pgdata string, m syncMark) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.syncMarks == nil {
		c.syncMarks = map[string]syncMark{}
	}
	c.syncMarks[pgdata] = m
}

// New returns the builtin class.
func New(cfg Config) (*Class, error) {
	if cfg.RunDir == "" || !filepath.IsAbs(cfg.RunDir) {
		return nil, ErrNoRunDir
	}
	if cfg.StartGrace == 0 {
		cfg.StartGrace = 100 * time.Millisecond
	}
	if err := os.MkdirAll(cfg.RunDir, 0o700); err != nil {
		return nil, fmt.Errorf("builtin: %w", err)
	}
	return &Class{cfg: cfg}, nil
}

// Run performs req with builtin:req.Agent.Name.
func (c *Class) Run(ctx context.Context, req agents.Request) agents.Result {
	start := time.Now()
	ctx, cancel := agents.Deadline(ctx, &req)
	defer cancel()
	var res agents.Result
	if !instancePattern.MatchString(req.ResourceID) {
		res = agents.Failed(agents.RCInvalidParam, agents.StatusErrorFatal, "invalid resource id %q", req.ResourceID)
	} else {
		switch req.Agent.Name {
		case "dummy":
			res = c.dummy(ctx, &req)
		case "process":
			res = c.process(ctx, &req)
		case "vip":
			res = c.vip(ctx, &req)
		case "ping":
			res = c.ping(ctx, &req)
		case "vm":
			res = c.vm(ctx, &req)
		case "postgresql":
			res = c.postgresql(ctx, &req)
		default:
			res = agents.Failed(agents.RCNotInstalled, agents.StatusNotInstalled, "no builtin agent %q", req.Agent.Name)
		}
	}
	if st := agents.Interrupted(ctx); st != agents.StatusDone && res.Status == agents.StatusDone {
		res.RC, res.Status = agents.RCUnknownError, st
		res.ExitReason = fmt.Sprintf("%s %s interrupted: %s", req.Agent, req.Op, st)
	}
	res.Duration = time.Since(start)
	return res
}

// instancePattern is what a resource id may look like to become part of a
// file name (clone instances are "id:N").
var instancePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.:-]*$`)

func (c *Class) path(kind, id, ext string) string {
	return filepath.Join(c.cfg.RunDir, kind+"-"+id+ext)
}

func ok() agents.Result { return agents.Result{RC: agents.RCOK, Status: agents.StatusDone} }

func rc(code agents.RC, format string, args ...any) agents.Result {
	return agents.Result{RC: code, Status: agents.StatusDone, ExitReason: fmt.Sprintf(format, args...)}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// publish sets node attributes, skipping values already published by this
// agent process (every set is a replicated write); with a NodeAttrsSetter
// the changed ones go in one write. Without Config.Attrs it does nothing.
func (c *Class) publish(ctx context.Context, kv map[string]string) error {
	if c.cfg.Attrs == nil {
		return nil
	}
	changed := map[string]string{}
	c.mu.Lock()
	for k, v := range kv {
		if old, ok := c.published[k]; !ok || old != v {
			changed[k] = v
		}
	}
	c.mu.Unlock()
	if len(changed) == 0 {
		return nil
	}
	done := func(k, v string) {
		c.mu.Lock()
		if c.published == nil {
			c.published = map[string]string{}
		}
		c.published[k] = v
		c.mu.Unlock()
	}
	if b, ok := c.cfg.Attrs.(NodeAttrsSetter); ok {
		err := b.SetNodeAttrs(ctx, changed)
		if err == nil {
			for k, v := range changed {
				done(k, v)
			}
		}
		return err
	}
	var errs []error
	for k, v := range changed {
		if err := c.cfg.Attrs.SetNodeAttr(ctx, k, v); err != nil {
			errs = append(errs, err)
		} else {
			done(k, v)
		}
	}
	return errors.Join(errs...)
}
