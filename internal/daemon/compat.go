package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/paceline/paceline/internal/compat"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/store"
)

// Where the Pacemaker helper commands live in the data directory (see
// package compat): the links agents find first in PATH, and the socket
// they reach this agent at.
const (
	compatLinkDir = "bin"
	compatSocket  = "compat.sock"
)

// startCompat installs the helper links in DATA_DIR/bin, serves the local
// endpoint on DATA_DIR/compat.sock until stop is called and returns the
// environment OCF agents run with. A failure to install the links or
// open the socket is returned: without them Debian's agents would find
// Pacemaker's tools or none.
func startCompat(c Config, b *Backend, logf func(string, ...any)) (env []string, stop func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("compat: own executable: %w", err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return nil, nil, fmt.Errorf("compat: own executable: %w", err)
	}
	dir, sock := filepath.Join(c.DataDir, compatLinkDir), filepath.Join(c.DataDir, compatSocket)
	if err := compat.InstallLinks(dir, exe); err != nil {
		return nil, nil, err
	}
	ln, err := compat.Listen(sock)
	if err != nil {
		return nil, nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	go func() {
		if err := compat.Serve(ctx, ln, compatHandler{b: b, node: c.Name}, logf); err != nil {
			logf("compat endpoint %s stopped: %v", sock, err)
		}
	}()
	return compat.AgentEnv(dir, sock, c.Name), stop, nil
}

// compatHandler answers the helper commands from the replicated store:
// transient attributes are the members' attributes (NodeAttrSet/Delete),
// permanent ones the configuration's node entries and cluster options its
// properties (compare-and-set configuration changes). Writes go to the
// leader through the Backend.
type compatHandler struct {
	b    *Backend
	node string
}

var _ compat.Handler = compatHandler{}

func (h compatHandler) Info(context.Context) (compat.Info, error) {
	_, quorum := h.b.Leader()
	info := compat.Info{Local: h.node, Quorum: quorum}
	for i, m := range h.b.Members() { // in name order
		info.Members = append(info.Members, compat.Member{ID: i + 1, Name: m.Name, Online: m.State == store.StateOnline})
	}
	return info, nil
}

func (h compatHandler) member(name string) (store.Member, error) {
	for _, m := range h.b.Members() {
		if m.Name == name {
			return m, nil
		}
	}
	return store.Member{}, fmt.Errorf("%w: %s", compat.ErrNoNode, name)
}

func (h compatHandler) Get(_ context.Context, scope compat.Scope, node, name string) (string, error) {
	var v string
	var ok bool
	switch scope {
	case compat.ScopeStatus:
		m, err := h.member(node)
		if err != nil {
			return "", err
		}
		v, ok = m.Attributes[name]
	case compat.ScopeNodes:
		if _, err := h.member(node); err != nil {
			return "", err
		}
		cfg := h.b.Config()
		if i := slices.IndexFunc(cfg.Nodes, func(n model.Node) bool { return n.Name == node }); i >= 0 {
			v, ok = cfg.Nodes[i].Attributes[name]
		}
	case compat.ScopeConfig:
		v, ok = h.b.Config().Properties[name]
	}
	if !ok {
		return "", compat.ErrNotFound
	}
	return v, nil
}

func (h compatHandler) Set(ctx context.Context, scope compat.Scope, node, name, value string) error {
	return h.write(ctx, scope, node, name, &value)
}

func (h compatHandler) Delete(ctx context.Context, scope compat.Scope, node, name string) error {
	return h.write(ctx, scope, node, name, nil)
}

// write sets (value != nil) or deletes name.
func (h compatHandler) write(ctx context.Context, scope compat.Scope, node, name string, value *string) error {
	if scope != compat.ScopeConfig {
		if _, err := h.member(node); err != nil {
			return err
		}
	}
	if scope == compat.ScopeStatus {
		cmd := store.NewNodeAttrDelete(node, name)
		if value != nil {
			cmd = store.NewNodeAttrSet(node, map[string]string{name: *value})
		}
		return propose(ctx, h.b, cmd)
	}
	what := fmt.Sprintf("cluster option %s", name)
	if scope == compat.ScopeNodes {
		what = fmt.Sprintf("node %s attribute %s", node, name)
	}
	msg := "delete " + what
	if value != nil {
		msg = fmt.Sprintf("set %s=%s", what, *value)
	}
	return h.updateConfig(ctx, msg, func(cfg *model.Config) bool {
		attrs := &cfg.Properties
		if scope == compat.ScopeNodes {
			i := slices.IndexFunc(cfg.Nodes, func(n model.Node) bool { return n.Name == node })
			if i < 0 {
				cfg.Nodes = append(cfg.Nodes, model.Node{Name: node})
				i = len(cfg.Nodes) - 1
			}
			attrs = &cfg.Nodes[i].Attributes
		}
		old, had := (*attrs)[name]
		if value == nil {
			delete(*attrs, name)
			return had
		}
		if *attrs == nil {
			*attrs = map[string]string{}
		}
		(*attrs)[name] = *value
		return !had || old != *value
	})
}

// updateConfig applies change to the current configuration and proposes
// it expecting the epoch it read, retrying when another write won; change
// returns false when there is nothing to do.
func (h compatHandler) updateConfig(ctx context.Context, msg string, change func(*model.Config) bool) error {
	var err error
	for range 5 {
		cfg := h.b.Config()
		if !change(cfg) {
			return nil
		}
		if verr := cfg.Validate(); verr != nil {
			return fmt.Errorf("invalid configuration: %w", verr)
		}
		res, perr := h.b.Propose(ctx, store.NewConfigPut(cfg.Epoch, *cfg, store.Change{
			Author: "node:" + h.node, Message: msg + " (Pacemaker helper command)", At: time.Now().UnixMilli()}))
		switch {
		case perr != nil:
			return fmt.Errorf("change not committed: %w", perr)
		case !errors.Is(res.Err, store.ErrEpochMismatch):
			return res.Err
		}
		err = res.Err
		// This node's copy lags the leader's: wait (at most a second) until
		// it has the epoch that won, then retry on it.
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		for idx := uint64(0); h.b.Config().Epoch < res.Epoch; {
			if idx, perr = h.b.Wait(wctx, idx); perr != nil {
				break
			}
		}
		cancel()
	}
	return err
}

// propose commits cmd and returns the transport's or the store's error.
func propose(ctx context.Context, b *Backend, cmd store.Command) error {
	res, err := b.Propose(ctx, cmd)
	if err != nil {
		return fmt.Errorf("change not committed: %w", err)
	}
	return res.Err
}
