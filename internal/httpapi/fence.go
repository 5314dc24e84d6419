package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/fence"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// FenceHistorian is the optional Backend behaviour behind GET
// /v1/fence/history: the replicated fence history of a target ("": every
// target), oldest first (store.Store.FenceHistory).
type FenceHistorian interface {
	FenceHistory(target string) []store.FenceEntry
}

// NodeFencer is the optional Backend behaviour behind POST
// /v1/nodes/{name}/fence: fence target now through this node's fencer and
// return what was recorded, blocking until the operation ended. It fails
// with an error wrapping ErrFenceSelf when target is this node.
type NodeFencer interface {
	FenceNode(ctx context.Context, target, action, origin string) (store.FenceRecord, error)
}

// ErrFenceSelf: a node does not fence itself; another node must.
var ErrFenceSelf = errors.New("httpapi: a node does not fence itself")

var _ FenceHistorian = (*MemBackend)(nil)

// FenceHistory implements FenceHistorian.
func (m *MemBackend) FenceHistory(target string) []store.FenceEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.FenceHistory(target)
}

// validConfig checks a configuration before it is proposed: the model's
// rules, then (when those hold) its fence devices and levels as the fencer
// reads them (fence.TopologyFromConfig: device attributes, targets that
// are not nodes, levels naming missing devices). 400 with every problem.
func validConfig(cfg *model.Config) error {
	if err := invalid(cfg.Validate()); err != nil {
		return err
	}
	if len(cfg.FenceDevices()) == 0 && len(cfg.FencingLevels) == 0 {
		return nil
	}
	_, err := fence.TopologyFromConfig(cfg, cfg.FencingLevels)
	return invalid(err)
}

func toAPIFenceEntries(es []store.FenceEntry) []api.FenceEntry {
	out := make([]api.FenceEntry, 0, len(es))
	for _, e := range es {
		out = append(out, api.FenceEntry{Seq: e.Seq, Op: e.Op, Target: e.Target, Action: e.Action, AgentAction: e.AgentAction,
			Device: e.Device, Level: e.Level, Attempt: e.Attempt, Origin: e.Origin, Executor: e.Executor,
			Result: e.Result, Reason: e.Reason, Start: time.UnixMilli(e.Start).UTC(), End: time.UnixMilli(e.End).UTC()})
	}
	return out
}

func (s *Server) getFenceHistory(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	fh, ok := s.cfg.Backend.(FenceHistorian)
	if !ok {
		return errorf(http.StatusNotImplemented, "this server keeps no fence history")
	}
	target := r.URL.Query().Get("target")
	if target != "" && !isMember(s.cfg.Backend.Members(), target) {
		return errorf(http.StatusNotFound, "no node %q", target)
	}
	writeJSON(w, http.StatusOK, toAPIFenceEntries(fh.FenceHistory(target)))
	return nil
}

func isMember(ms []store.Member, name string) bool {
	return slices.ContainsFunc(ms, func(m store.Member) bool { return m.Name == name })
}

func (s *Server) getFenceLevels(w http.ResponseWriter, _ *http.Request, _ pki.Principal) error {
	out := []api.FenceLevel{}
	for _, l := range s.cfg.Backend.Config().FencingLevels {
		out = append(out, api.FenceLevel{Target: l.Target, Index: l.Index, Devices: l.Devices})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Target != out[j].Target {
			return out[i].Target < out[j].Target
		}
		return out[i].Index < out[j].Index
	})
	writeJSON(w, http.StatusOK, out)
	return nil
}

// addFenceLevel answers POST /v1/fence/levels (admin): the level is added
// to the configuration (a new epoch), checked as every configuration is
// (a level of a node that does not exist, naming a device that is not
// configured, an index already used or out of 1..9: 400, nothing
// changed).
func (s *Server) addFenceLevel(w http.ResponseWriter, r *http.Request, p pki.Principal) error {
	var l api.FenceLevel
	if err := decodeJSON(r, &l); err != nil {
		return err
	}
	res, err := s.update(r.Context(), p, fmt.Sprintf("fence level add %s %d %s", l.Target, l.Index, strings.Join(l.Devices, ",")),
		func(cfg *model.Config) error {
			for _, x := range cfg.FencingLevels {
				if x.Target == l.Target && x.Index == l.Index {
					return errorf(http.StatusConflict, "%s already has level %d (%s): remove it first", l.Target, l.Index, strings.Join(x.Devices, ","))
				}
			}
			cfg.FencingLevels = append(cfg.FencingLevels, model.FencingLevel{Target: l.Target, Index: l.Index, Devices: l.Devices})
			return nil
		})
	if err != nil {
		return err
	}
	setEpoch(w, res.Epoch)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) removeFenceLevel(w http.ResponseWriter, r *http.Request, p pki.Principal) error {
	target := r.PathValue("target")
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil {
		return errorf(http.StatusBadRequest, "level %q is not a number", r.PathValue("index"))
	}
	res, err := s.update(r.Context(), p, fmt.Sprintf("fence level remove %s %d", target, index), func(cfg *model.Config) error {
		n := len(cfg.FencingLevels)
		cfg.FencingLevels = slices.DeleteFunc(cfg.FencingLevels, func(l model.FencingLevel) bool { return l.Target == target && l.Index == index })
		if len(cfg.FencingLevels) == n {
			return errorf(http.StatusNotFound, "%s has no fencing level %d", target, index)
		}
		return nil
	})
	if err != nil {
		return err
	}
	setEpoch(w, res.Epoch)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) getFenceDevices(w http.ResponseWriter, _ *http.Request, _ pki.Principal) error {
	cfg := s.cfg.Backend.Config()
	started := map[string][]string{}
	for _, m := range s.cfg.Backend.Members() {
		for _, rh := range m.Resources {
			if activeOn(rh) {
				started[rh.ID] = append(started[rh.ID], m.Name)
			}
		}
	}
	out := []api.FenceDevice{}
	for _, r := range cfg.FenceDevices() {
		params := map[string]string{}
		for _, nv := range r.Params {
			params[nv.Name] = nv.Value
		}
		d := api.FenceDevice{ID: r.ID, Agent: "stonith:" + r.Type, Nodes: started[r.ID]}
		if dev, err := fence.ParseDevice(r.ID, r.Type, params); err == nil {
			d.Targets = append(d.Targets, dev.HostList...)
			for h := range dev.HostMap {
				if !slices.Contains(d.Targets, h) {
					d.Targets = append(d.Targets, h)
				}
			}
			sort.Strings(d.Targets)
			if c, set := dev.ConfiguredHostCheck(); set || len(d.Targets) > 0 {
				d.HostCheck = c.String()
			}
		}
		for _, l := range cfg.FencingLevels {
			if slices.Contains(l.Devices, r.ID) {
				d.Levels = append(d.Levels, fmt.Sprintf("%s/%d", l.Target, l.Index))
			}
		}
		out = append(out, d)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// activeOn reports whether a resource's last recorded operation left it
// running (a successful start or monitor that found it running).
func activeOn(rh model.ResourceHistory) bool {
	for i := len(rh.Ops) - 1; i >= 0; i-- {
		o := rh.Ops[i]
		if o.Operation == "stop" {
			return false
		}
		if (o.Operation == "start" || o.Operation == "monitor") && o.RC == 0 && o.OpStatus == 0 {
			return true
		}
	}
	return false
}

// fenceNode answers POST /v1/nodes/{name}/fence (admin): this node fences
// the named node through its devices and answers when the operation
// ended: 200 with the attempts when a device confirmed it, 502 with them
// when every device failed; a node asked to fence itself answers 503 with
// api.HeaderRetryElsewhere (the client asks another node).
func (s *Server) fenceNode(w http.ResponseWriter, r *http.Request, p pki.Principal) error {
	name := r.PathValue("name")
	var req api.FenceRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
	}
	if req.Action != "" && req.Action != "off" && req.Action != "reboot" {
		return errorf(http.StatusBadRequest, "fence action %q: want off or reboot", req.Action)
	}
	if !isMember(s.cfg.Backend.Members(), name) {
		return errorf(http.StatusNotFound, "no node %q", name)
	}
	nf, ok := s.cfg.Backend.(NodeFencer)
	if !ok {
		return errorf(http.StatusNotImplemented, "this server cannot fence nodes")
	}
	rec, err := nf.FenceNode(r.Context(), name, req.Action, author(p))
	if errors.Is(err, ErrFenceSelf) {
		w.Header().Set(api.HeaderRetryElsewhere, "1")
		return errorf(http.StatusServiceUnavailable, "%s does not fence itself: ask another node", name)
	}
	out := api.FenceResult{Target: name, Fenced: rec.Fenced != nil, Entries: toAPIFenceEntries(rec.Entries)}
	if rec.Fenced != nil {
		out.By = rec.Fenced.By
	}
	if err != nil {
		out.Reason = err.Error()
		if rec.Fenced == nil {
			return errorf(http.StatusBadGateway, "fence %s: %v", name, err)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// confirmDown answers POST /v1/nodes/{name}/confirm-down (admin): the
// operator says the node is off (stonith_admin --confirm). A node that
// renews its lease (online) is refused: it is not down.
func (s *Server) confirmDown(w http.ResponseWriter, r *http.Request, p pki.Principal) error {
	name := r.PathValue("name")
	ms := s.cfg.Backend.Members()
	i := slices.IndexFunc(ms, func(m store.Member) bool { return m.Name == name })
	if i < 0 {
		return errorf(http.StatusNotFound, "no node %q", name)
	}
	if ms[i].State == store.StateOnline {
		return errorf(http.StatusConflict, "%s is online (it renews its lease): it is not down; `paceline node fence %s` fences it", name, name)
	}
	cmd := store.NewConfirmDown(name, author(p), s.cfg.Now().UnixMilli())
	res, err := s.propose(r.Context(), cmd)
	if err != nil {
		return err
	}
	setEpoch(w, res.Epoch)
	rec := *cmd.FenceRecord
	writeJSON(w, http.StatusOK, api.FenceResult{Target: name, Fenced: true, By: rec.Fenced.By, Entries: toAPIFenceEntries(rec.Entries)})
	return nil
}

// markDeviceSecrets makes a fence device's parameters that are named like
// secrets (password, passwd_script ...: the audit log's rule) secret
// parameters: masked wherever the configuration is shown.
func (s *Server) markDeviceSecrets(prim *model.Resource) {
	if prim.Class != "stonith" {
		return
	}
	for i := range prim.Params {
		if s.cfg.IsSecret(prim.Params[i].Name) {
			prim.Params[i].Secret = true
		}
	}
}
