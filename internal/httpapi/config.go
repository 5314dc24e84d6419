package httpapi

import (
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/sched"
	"github.com/paceline/paceline/internal/store"
	"github.com/paceline/paceline/internal/vmha"
)

func wantsYAML(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part))
		if mt == "application/yaml" || mt == "application/x-yaml" || mt == "text/yaml" {
			return true
		}
	}
	return false
}

// getConfig answers the configuration with secret parameters masked;
// ?secrets=true shows them, to admins only.
func (s *Server) getConfig(w http.ResponseWriter, r *http.Request, p pki.Principal) error {
	cfg := s.cfg.Backend.Config()
	if r.URL.Query().Get("secrets") == "true" {
		if !p.Role.Permits(pki.RoleAdmin) {
			return errorf(http.StatusForbidden, "%s has role %s; showing secret parameters needs %s", who(p), p.Role, pki.RoleAdmin)
		}
		s.cfg.Logger.Info("api secrets shown", "token", p.TokenID, "remote", r.RemoteAddr)
	} else {
		cfg.MaskSecrets()
	}
	setEpoch(w, cfg.Epoch)
	if !wantsYAML(r) {
		writeJSON(w, http.StatusOK, cfg)
		return nil
	}
	b, err := api.EncodeConfigYAML(cfg)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(b)
	return err
}

// applyConfig replaces the configuration, compare-and-set on the body's
// epoch (or on the current one with ?force=true).
func (s *Server) applyConfig(w http.ResponseWriter, r *http.Request, p pki.Principal) error {
	var cfg *model.Config
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/yaml", "application/x-yaml", "text/yaml":
		b, err := readBody(r)
		if err != nil {
			return err
		}
		if cfg, err = api.DecodeConfigYAMLLimits(b, api.DefaultLimits()); err != nil {
			return errorf(http.StatusBadRequest, "bad request body: %v", err)
		}
	case "application/json", "":
		cfg = &model.Config{}
		if err := decodeJSON(r, cfg); err != nil {
			return err
		}
	default:
		return errorf(http.StatusUnsupportedMediaType, "content type %q: want application/json or application/yaml", mt)
	}
	cfg.NormalizeRoles()
	cur := s.cfg.Backend.Config()
	expected := cfg.Epoch
	switch {
	case r.URL.Query().Get("force") == "true":
		expected = cur.Epoch
	case expected == 0:
		return errorf(http.StatusBadRequest, "the configuration has no epoch: apply an exported configuration, or force it")
	case expected < cur.Epoch:
		// Stale: this node has a newer configuration, so the leader has
		// too and the proposal would fail. Say so before the role check,
		// which compares with the current configuration and would refuse
		// an operator's stale change with 403 rather than 409.
		return errorf(http.StatusConflict, "%v: expected %d, current %d", store.ErrEpochMismatch, expected, cur.Epoch)
	}
	if err := cfg.KeepSecrets(cur); err != nil {
		return errorf(http.StatusBadRequest, "%v", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if !operationalChange(cur, cfg) {
		if err := needAdmin(p, r, "operators may change only target-role, is-managed, the cli-prefer/cli-ban constraints and node attributes"); err != nil {
			return err
		}
	}
	if err := validConfig(cfg); err != nil {
		return err
	}
	if r.URL.Query().Get("dry_run") == "true" {
		return s.dryRun(w, cur, cfg)
	}
	res, err := s.propose(r.Context(), store.NewConfigPut(expected, *cfg, store.Change{
		Author: author(p), Message: "config apply", At: s.cfg.Now().UnixMilli()}))
	if err != nil {
		return err
	}
	setEpoch(w, res.Epoch)
	writeJSON(w, http.StatusOK, api.ConfigResult{Epoch: res.Epoch, Changed: res.Changed})
	return nil
}

// dryRun answers what applying cfg over cur would change: the
// configuration's differences and the transition the scheduler would plan
// on the current status. Nothing is proposed.
func (s *Server) dryRun(w http.ResponseWriter, cur, cfg *model.Config) error {
	leader, quorum := s.cfg.Backend.Leader()
	st := &model.Status{HaveQuorum: quorum, DC: leader}
	for _, m := range s.cfg.Backend.Members() {
		st.Nodes = append(st.Nodes, m.NodeStatus())
	}
	out := api.DryRun{Epoch: cur.Epoch, Changes: model.DiffConfigs(cur, cfg), Transition: []string{}}
	if out.Changes == nil {
		out.Changes = []model.ConfigChange{}
	}
	// As the controller plans it: with the VMs' HA semantics translated.
	if tr, err := vmha.Translate(vmha.Input{Config: cfg, Status: st, Now: s.cfg.Now()}); err == nil {
		cfg, st = tr.Config, tr.Status
	}
	res, err := sched.Schedule(sched.Input{Config: cfg, Status: st, Now: s.cfg.Now()})
	if err != nil {
		return errorf(http.StatusBadRequest, "the scheduler cannot plan this configuration: %v", err)
	}
	for _, c := range res.Changes {
		out.Transition = append(out.Transition, c.String())
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// maxJoinTTL caps a join token's lifetime.
const maxJoinTTL = 7 * 24 * time.Hour

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p pki.Principal) error {
	var req api.TokenRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Kind == api.TokenAPI {
		return s.createAPIToken(w, r, p, req)
	}
	if req.Kind != api.TokenJoin || req.Role != "" {
		return errorf(http.StatusBadRequest, "token kind %q: want %q (with a role) or %q (without)", req.Kind, api.TokenAPI, api.TokenJoin)
	}
	ttl := time.Hour
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d <= 0 || d > maxJoinTTL {
			return errorf(http.StatusBadRequest, "ttl %q: want a duration between 1s and %v", req.TTL, maxJoinTTL)
		}
		ttl = d
	}
	if s.cfg.Join == nil {
		return errorf(http.StatusNotImplemented, "this node does not issue join tokens")
	}
	tok, exp, err := s.cfg.Join.Issue(s.cfg.Now(), ttl)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, api.TokenResponse{Token: tok, Expires: exp.UTC()})
	return nil
}
