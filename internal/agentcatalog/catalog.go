// Package agentcatalog lists the resource agents installed on this node
// and reads their meta-data, for "paceline resource agents", "resource
// describe" and the API's check of a resource against its agent's
// parameters and actions (model.AgentMeta.Check).
//
// OCF agents are found as Pacemaker finds them, in ROOT/resource.d/
// PROVIDER/TYPE under each OCF root; other classes list the names they are
// given. Meta-data comes from running the agent's meta-data action through
// the same class runner the executor uses (no shell, a short timeout), and
// is kept for CacheTTL.
package agentcatalog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/paceline/paceline/internal/agents"
	"github.com/paceline/paceline/internal/model"
)

// Runner runs one operation of one agent class (executor.Agent: the ocf
// and builtin classes satisfy it).
type Runner interface {
	Run(ctx context.Context, req agents.Request) agents.Result
}

// Config says where the agents are.
type Config struct {
	// Classes maps a class name ("ocf", "builtin") to its runner, as the
	// executor's Agents. A class not listed has no agents.
	Classes map[string]Runner
	// OCFRoots are the OCF roots (/usr/lib/ocf): agents are
	// ROOT/resource.d/PROVIDER/TYPE, earlier roots first.
	OCFRoots []string
	// Names lists the agent types of classes that are not found on disk
	// ("builtin": dummy, process, vip, ping).
	Names map[string][]string
	// MetaDataTimeout bounds one meta-data action. Default 10s.
	MetaDataTimeout time.Duration
	// CacheTTL is how long meta-data is kept. Default 1m.
	CacheTTL time.Duration
}

// Catalog is the node's agent catalogue. It is safe for concurrent use.
type Catalog struct {
	cfg   Config
	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	meta *model.AgentMeta
	at   time.Time
}

// New returns a catalogue over cfg (zero durations take their defaults).
func New(cfg Config) *Catalog {
	if cfg.MetaDataTimeout == 0 {
		cfg.MetaDataTimeout = 10 * time.Second
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = time.Minute
	}
	return &Catalog{cfg: cfg, cache: map[string]cached{}}
}

// List returns the installed agents ("ocf:heartbeat:IPaddr2",
// "builtin:vip"), sorted; class and provider narrow it when not empty.
func (c *Catalog) List(ctx context.Context, class, provider string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	if _, ok := c.cfg.Classes["ocf"]; ok && (class == "" || class == "ocf") {
		for _, root := range c.cfg.OCFRoots {
			provs, _ := os.ReadDir(filepath.Join(root, "resource.d"))
			for _, p := range provs {
				if provider != "" && p.Name() != provider {
					continue
				}
				types, _ := os.ReadDir(filepath.Join(root, "resource.d", p.Name()))
				for _, t := range types {
					if isAgentFile(filepath.Join(root, "resource.d", p.Name(), t.Name())) {
						add("ocf:" + p.Name() + ":" + t.Name())
					}
				}
			}
		}
	}
	for cl, names := range c.cfg.Names {
		if _, ok := c.cfg.Classes[cl]; !ok || (class != "" && class != cl) || provider != "" {
			continue
		}
		for _, n := range names {
			add(cl + ":" + n)
		}
	}
	sort.Strings(out)
	return out, ctx.Err()
}

// isAgentFile reports whether path is an executable regular file (a
// symbolic link to one counts).
func isAgentFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// Meta returns an installed agent's meta-data, or an error wrapping
// model.ErrUnknownAgent (with the closest installed agent) or
// model.ErrBadMetaData.
func (c *Catalog) Meta(ctx context.Context, agent string) (*model.AgentMeta, error) {
	c.mu.Lock()
	if e, ok := c.cache[agent]; ok && time.Since(e.at) < c.cfg.CacheTTL {
		c.mu.Unlock()
		return e.meta, nil
	}
	c.mu.Unlock()
	t, err := parseAgent(agent)
	if err != nil {
		return nil, err
	}
	installed, err := c.List(ctx, "", "")
	if err != nil {
		return nil, err
	}
	run := c.cfg.Classes[t.Class]
	if run == nil || !slices.Contains(installed, agent) {
		return nil, c.unknown(agent, installed)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.MetaDataTimeout)
	defer cancel()
	res := run.Run(ctx, agents.Request{ResourceID: "meta-data", Agent: t, Op: "meta-data", Timeout: c.cfg.MetaDataTimeout})
	if res.Status != agents.StatusDone || res.RC != agents.RCOK {
		return nil, fmt.Errorf("%w of %s: meta-data action: rc %d, status %v %s", model.ErrBadMetaData, agent, res.RC, res.Status, res.ExitReason)
	}
	m, err := model.ParseAgentMeta(agent, []byte(res.Output))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.cache[agent] = cached{meta: m, at: time.Now()}
	c.mu.Unlock()
	return m, nil
}

// unknown is the error for an agent that is not installed, with the
// closest one that is.
func (c *Catalog) unknown(agent string, installed []string) error {
	if m := model.Closest(agent, installed); m != "" {
		return fmt.Errorf("%w %s (did you mean %s?)", model.ErrUnknownAgent, agent, m)
	}
	class, _, _ := strings.Cut(agent, ":")
	if _, ok := c.cfg.Classes[class]; !ok {
		var classes []string
		for cl := range c.cfg.Classes {
			classes = append(classes, cl)
		}
		sort.Strings(classes)
		return fmt.Errorf("%w %s: class %q is not available here (classes: %s)", model.ErrUnknownAgent, agent, class,
			strings.Join(classes, ", "))
	}
	return fmt.Errorf("%w %s ('paceline resource agents %s' lists them)", model.ErrUnknownAgent, agent, class)
}

// parseAgent reads "class:provider:type" or "class:type".
func parseAgent(agent string) (agents.Type, error) {
	parts := strings.Split(agent, ":")
	switch {
	case len(parts) == 2 && parts[0] != "" && parts[1] != "":
		return agents.Type{Class: parts[0], Name: parts[1]}, nil
	case len(parts) == 3 && parts[0] != "" && parts[1] != "" && parts[2] != "":
		return agents.Type{Class: parts[0], Provider: parts[1], Name: parts[2]}, nil
	}
	return agents.Type{}, fmt.Errorf("%w %q: want class:type or class:provider:type", model.ErrUnknownAgent, agent)
}
