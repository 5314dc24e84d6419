package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/compat"
	"github.com/paceline/paceline/internal/httpapi"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// Where the Pacemaker helper commands live in the data directory (see
// package compat): the links agents find first in PATH, and the socket
// they reach this agent at.
const (
	compatLinkDir = "bin"
	compatSocket  = "compat.sock"
)

// compatRole is the role of the local socket's callers in the API. Serve
// lets in only root and the agent's own user, on this node: they may make
// the operational changes OCF agents make (transient and permanent node
// attributes), not change what executes. Cluster options need admin, so
// crm_attribute --type crm_config is refused (exit 4) and the operator is
// pointed at `paceline property set` with an admin token.
const compatRole = pki.RoleOperator

// localAPI serves an API request as an in-process principal: the agent's
// *httpapi.Server. ServeLocal blocks until the request is answered.
type localAPI interface {
	ServeLocal(w http.ResponseWriter, r *http.Request, p pki.Principal)
}

var _ localAPI = (*httpapi.Server)(nil)

// startCompat installs the helper links in DATA_DIR/bin, serves the local
// endpoint on DATA_DIR/compat.sock until stop is called and returns the
// environment OCF agents run with. The endpoint reads b and writes
// through srv (the agent's API). A failure to install the links or open
// the socket is returned: without them Debian's agents would find
// Pacemaker's tools or none.
func startCompat(c Config, b *Backend, srv localAPI, logf func(string, ...any)) (env []string, stop func(), err error) {
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
	h := compatHandler{b: b, api: srv, node: c.Name, source: "unix:" + sock}
	ctx, stop := context.WithCancel(context.Background())
	go func() {
		if err := compat.Serve(ctx, ln, h, logf); err != nil {
			logf("compat endpoint %s stopped: %v", sock, err)
		}
	}()
	return compat.AgentEnv(dir, sock, c.Name), stop, nil
}

// compatHandler answers the helper commands. Transient attributes are the
// members' attributes, permanent ones the configuration's node entries
// and cluster options its properties.
//
// Reads (Info, Get) are direct reads of this node's copy of the
// replicated state: nothing a viewer could not see, asked by root or the
// agent's user on this node, who can read the data directory anyway (and
// the API does not audit reads either).
//
// Writes are API requests served through api.ServeLocal as the local
// principal "local:uid=UID@NODE" of role compatRole, so they pass the
// same role check and land in the same audit log as the CLI's: PUT
// /v1/nodes/NODE/attributes for transient attributes, a compare-and-set
// POST /v1/config for permanent ones, PUT /v1/properties/NAME for cluster
// options (refused: they need admin). The API forwards them to the
// leader.
type compatHandler struct {
	b      *Backend
	api    localAPI
	node   string
	source string // the audit entries' source: "unix:DATA_DIR/compat.sock"
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
	case compat.ScopePrivate:
		m, err := h.member(node)
		if err != nil {
			return "", err
		}
		v, ok = m.Private[name]
	case compat.ScopeConfig:
		v, ok = h.b.Config().Properties[name]
	case compat.ScopeMeta:
		return resourceMeta(h.b.Config(), node, name)
	}
	if !ok {
		return "", compat.ErrNotFound
	}
	return v, nil
}

// resourceMeta is resource rsc's meta-attribute name: its own, or else
// the nearest enclosing group's or clone's (Pacemaker's inheritance).
func resourceMeta(cfg *model.Config, rsc, name string) (string, error) {
	if model.FindResource(cfg.Resources, rsc) == nil {
		return "", fmt.Errorf("%w: resource %s", compat.ErrNoNode, rsc)
	}
	for id := rsc; id != ""; {
		r := model.FindResource(cfg.Resources, id)
		if v, ok := r.Meta[name]; ok {
			return v, nil
		}
		id = ""
		if p := model.ParentOf(cfg.Resources, r.ID); p != nil {
			id = p.ID
		}
	}
	return "", compat.ErrNotFound
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
	// The API's rule for attributes and properties: an empty value
	// deletes.
	v := ""
	if value != nil {
		v = *value
	}
	switch scope {
	case compat.ScopeStatus:
		_, err := h.serve(ctx, http.MethodPut, "/v1/nodes/"+url.PathEscape(node)+"/attributes", map[string]string{name: v})
		return err
	case compat.ScopePrivate:
		_, err := h.serve(ctx, http.MethodPut, "/v1/nodes/"+url.PathEscape(node)+"/attributes?private=true", map[string]string{name: v})
		return err
	case compat.ScopeConfig:
		if _, option := model.LookupProperty(name); option {
			_, err := h.serve(ctx, http.MethodPut, "/v1/properties/"+url.PathEscape(name), api.Property{Value: v})
			return err
		}
		// No cluster option: an agent's data (ocf:heartbeat:mysql's
		// NAME_REPL_INFO), which operators may change.
		return h.updateConfig(ctx, func(cfg *model.Config) bool {
			old, had := cfg.Properties[name]
			if value == nil {
				delete(cfg.Properties, name)
				return had
			}
			if cfg.Properties == nil {
				cfg.Properties = map[string]string{}
			}
			cfg.Properties[name] = *value
			return !had || old != *value
		})
	}
	return h.updateConfig(ctx, func(cfg *model.Config) bool {
		i := slices.IndexFunc(cfg.Nodes, func(n model.Node) bool { return n.Name == node })
		if i < 0 {
			cfg.Nodes = append(cfg.Nodes, model.Node{Name: node})
			i = len(cfg.Nodes) - 1
		}
		attrs := &cfg.Nodes[i].Attributes
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

// casAttempts bounds updateConfig's compare-and-set retries.
const casAttempts = 5

// updateConfig applies change to this node's copy of the configuration
// and posts the result to POST /v1/config expecting the epoch it read;
// when another write won (409: the API's answer to an epoch mismatch) it
// waits for a newer copy and retries. change returns false when there is
// nothing to do. The API validates the result and checks that it is an
// operator's change (only node attributes differ).
func (h compatHandler) updateConfig(ctx context.Context, change func(*model.Config) bool) error {
	var err error
	for range casAttempts {
		cfg := h.b.Config()
		if !change(cfg) {
			return nil
		}
		var status int
		if status, err = h.serve(ctx, http.MethodPost, "/v1/config", cfg); status != http.StatusConflict {
			return err
		}
		// This node's copy lags the leader's: wait (at most a second) until
		// it is newer than the epoch that lost, then retry on it.
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		for idx := uint64(0); h.b.Config().Epoch <= cfg.Epoch; {
			var werr error
			if idx, werr = h.b.Wait(wctx, idx); werr != nil {
				break
			}
		}
		cancel()
	}
	return err
}

// principal is the API principal of the request in ctx: the socket's
// caller by uid (compat.PeerUID) on this node.
func (h compatHandler) principal(ctx context.Context) pki.Principal {
	who := "unknown"
	if uid, ok := compat.PeerUID(ctx); ok {
		who = fmt.Sprint(uid)
	}
	return httpapi.LocalPrincipal("uid="+who+"@"+h.node, compatRole)
}

// serve sends one API request with body as JSON through api.ServeLocal
// and returns the status it answered and, for an error status, an error
// with the API's message: wrapping compat.ErrPermission for a 403.
func (h compatHandler) serve(ctx context.Context, method, path string, body any) (int, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	r, err := http.NewRequestWithContext(ctx, method, path, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	r.Header.Set("Content-Type", "application/json")
	r.RemoteAddr = h.source
	w := &localResponse{header: http.Header{}}
	h.api.ServeLocal(w, r, h.principal(ctx))
	if w.status < 300 {
		return w.status, nil
	}
	msg := strings.TrimSpace(w.body.String())
	var e api.Error
	if json.Unmarshal(w.body.Bytes(), &e) == nil && e.Message != "" {
		msg = e.Message
	}
	if w.status == http.StatusForbidden {
		return w.status, fmt.Errorf("%w: %s", compat.ErrPermission, msg)
	}
	return w.status, errors.New(msg)
}

// localResponse is the http.ResponseWriter of a ServeLocal request: the
// status and body, kept in memory.
type localResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *localResponse) Header() http.Header { return w.header }

func (w *localResponse) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *localResponse) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}
