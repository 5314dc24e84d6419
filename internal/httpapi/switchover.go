package httpapi

// The switchover of a promotable clone (POST /v1/resources/{id}/switchover,
// `paceline resource switchover ID [NODE]`): a planned move of the
// promoted role. planSwitchover is the pure part (who is promoted, which
// node may take over, would the scheduler do it); Server.Switchover is
// the shell that adds the temporary constraint, waits for the cluster to
// settle and removes the constraint.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/sched"
	"github.com/paceline/paceline/internal/store"
)

// ErrSwitchover is wrapped by every refusal of a switchover (test with
// errors.Is; the message says why).
var ErrSwitchover = errors.New("httpapi: switchover")

// switchoverPrefix starts the id of the temporary constraint.
const switchoverPrefix = "cli-switchover-"

// switchoverPlan is what a switchover will do.
type switchoverPlan struct {
	Clone     string // the promotable clone's id
	Primitive string // its primitive (what status lists)
	From, To  string
	// Constraint makes the scheduler promote To: location, role
	// Promoted, score INFINITY.
	Constraint model.Location
}

// refuse is a switchover refusal answering status.
func refuse(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...), wrapped: ErrSwitchover}
}

// planSwitchover decides a switchover of id (the clone or its primitive)
// to target (empty: the eligible node with the highest promotion score)
// from the configuration, the members and the status derived from them at
// now. It is pure. It refuses (ErrSwitchover, one line saying why) when
// the resource is not promotable, is not promoted exactly once, the
// target is not an online node running an unpromoted instance with a
// usable promotion score, or the scheduler would not promote it.
func planSwitchover(cfg *model.Config, members []store.Member, st api.Status, id, target string, now time.Time) (switchoverPlan, error) {
	var pl switchoverPlan
	r := model.FindResource(cfg.Resources, id)
	if r == nil {
		return pl, refuse(http.StatusNotFound, "no resource %q", id)
	}
	clone := r
	for clone != nil && !(clone.Kind == model.KindClone && isTrue(clone.Meta["promotable"])) {
		clone = model.ParentOf(cfg.Resources, clone.ID)
	}
	if clone == nil {
		return pl, refuse(http.StatusBadRequest, "resource %q is not a promotable clone nor in one: only those have a promoted role to switch over", id)
	}
	prims := primitives(clone.Children, clone.ID)
	if len(prims) == 0 {
		return pl, refuse(http.StatusBadRequest, "promotable clone %q has no primitive", clone.ID)
	}
	pl.Clone, pl.Primitive = clone.ID, prims[0].res.ID
	var rs *api.ResourceStatus
	for i := range st.Resources {
		if st.Resources[i].ID == pl.Primitive {
			rs = &st.Resources[i]
		}
	}
	roles := map[string]string{} // node -> role of the instance there
	var promoted []string
	if rs != nil {
		for _, in := range rs.Instances {
			roles[in.Node] = in.Role
			if in.Role == api.RolePromoted {
				promoted = append(promoted, in.Node)
			}
		}
	}
	switch len(promoted) {
	case 0:
		return pl, refuse(http.StatusConflict, "%s is not promoted on any node: nothing to switch over", clone.ID)
	case 1:
		pl.From = promoted[0]
	default:
		return pl, refuse(http.StatusConflict, "%s is promoted on %d nodes (%s): a switchover moves the only promoted role",
			clone.ID, len(promoted), strings.Join(promoted, ", "))
	}
	byName := map[string]*store.Member{}
	for i := range members {
		byName[members[i].Name] = &members[i]
	}
	// eligible says why node n cannot be promoted now ("" when it can)
	// and its promotion score.
	eligible := func(n string) (string, model.Score) {
		m := byName[n]
		if m == nil {
			return "it is not a cluster member", 0
		}
		if d := m.Display(); d != store.StateOnline {
			return "it is " + string(d), 0
		}
		if roles[n] != api.RoleUnpromoted {
			return fmt.Sprintf("no unpromoted instance of %s runs there (%s)", pl.Primitive, orStopped(roles[n])), 0
		}
		v, ok := m.Attributes["master-"+pl.Primitive]
		if !ok {
			v, ok = m.Attributes["promotion-"+pl.Primitive]
		}
		if !ok {
			return fmt.Sprintf("its instance of %s has published no promotion score", pl.Primitive), 0
		}
		sc, err := model.ParseScore(v)
		if err != nil || sc < 0 {
			return fmt.Sprintf("its promotion score for %s is %s%s", pl.Primitive, v, replicationHint(m.Attributes, pl.Primitive)), 0
		}
		return "", sc
	}
	if target != "" {
		if target == pl.From {
			return pl, refuse(http.StatusConflict, "%s is already promoted on %s", clone.ID, target)
		}
		if byName[target] == nil {
			return pl, refuse(http.StatusNotFound, "node %q is not a cluster member", target)
		}
		if why, _ := eligible(target); why != "" {
			return pl, refuse(http.StatusConflict, "%s cannot be promoted on %s: %s", clone.ID, target, why)
		}
		pl.To = target
	} else {
		var whys []string
		best := model.Score(-1)
		for _, m := range members {
			if m.Name == pl.From || m.Role == store.RoleWitness {
				continue
			}
			why, sc := eligible(m.Name)
			if why != "" {
				whys = append(whys, m.Name+": "+why)
				continue
			}
			if sc > best || (sc == best && m.Name < pl.To) {
				best, pl.To = sc, m.Name
			}
		}
		if pl.To == "" {
			if len(whys) == 0 {
				whys = []string{"no other node"}
			}
			return pl, refuse(http.StatusConflict, "no node can take over the promoted role of %s from %s (%s)", clone.ID, pl.From, strings.Join(whys, "; "))
		}
	}
	pl.Constraint = model.Location{ID: switchoverPrefix + clone.ID, Resource: clone.ID, Node: pl.To, Score: model.Infinity, Role: model.RolePromoted}
	// Would the scheduler promote the target with the constraint? Other
	// constraints (a move's cli-prefer, a ban) may keep it from doing so.
	cand := *cfg
	cand.Locations = append(slices.Clone(cfg.Locations), pl.Constraint)
	res, err := sched.Schedule(sched.Input{Config: &cand, Status: modelStatus(members, st.Quorum, st.Leader), Now: now,
		Explain: []string{clone.ID}})
	if err != nil {
		return pl, fmt.Errorf("schedule: %w", err)
	}
	if !slices.ContainsFunc(res.Changes, func(c sched.Change) bool {
		return model.BaseID(c.Resource) == pl.Primitive && c.To == pl.To && c.ToRole == api.RolePromoted
	}) {
		var keep []string
		for _, l := range cfg.Locations {
			if (l.Resource == clone.ID || l.Resource == pl.Primitive) && l.Node != pl.To && l.Score > 0 ||
				(l.Resource == clone.ID || l.Resource == pl.Primitive) && l.Node == pl.To && l.Score < 0 {
				keep = append(keep, l.ID)
			}
		}
		hint := ""
		if len(keep) > 0 {
			hint = " (location constraints " + strings.Join(keep, ", ") + " hold it; 'paceline resource clear " + clone.ID + "' removes a move or ban)"
		} else if e := res.Explain[clone.ID]; e != nil {
			var notes []string
			for _, x := range append([]*sched.Explanation{e}, e.Children...) {
				for _, n := range x.Notes {
					if !slices.Contains(notes, n) {
						notes = append(notes, n)
					}
				}
			}
			if len(notes) > 0 {
				hint = " (" + strings.Join(notes, "; ") + ")"
			}
		}
		return pl, refuse(http.StatusConflict, "the scheduler would not promote %s on %s%s", clone.ID, pl.To, hint)
	}
	return pl, nil
}

func orStopped(role string) string {
	if role == "" {
		return "none is active there"
	}
	return "it is " + role
}

// replicationHint adds what builtin:postgresql published about the node's
// replication (pgsql-RSC-sync, -lag), which says why it may not be
// promoted.
func replicationHint(attrs map[string]string, prim string) string {
	var parts []string
	if v := attrs["pgsql-"+prim+"-sync"]; v != "" {
		parts = append(parts, "sync state "+v)
	}
	if v := attrs["pgsql-"+prim+"-lag"]; v != "" {
		parts = append(parts, "lag "+v+" bytes")
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// modelStatus is the scheduler's status input from the members.
func modelStatus(members []store.Member, quorum bool, leader string) *model.Status {
	ms := &model.Status{HaveQuorum: quorum, DC: leader}
	for i := range members {
		ms.Nodes = append(ms.Nodes, members[i].NodeStatus())
	}
	return ms
}

// switchoverDone reports whether the switchover of pl has finished: the
// primitive promoted on To only, and the scheduler (with the constraint
// still in cfg) plans no change for the clone's instances nor for what is
// colocated with it. failed is set when the target cannot be promoted
// any more: its instance failed, or the node is gone.
func switchoverDone(pl switchoverPlan, cfg *model.Config, members []store.Member, st api.Status, now time.Time) (done bool, failed string) {
	var promoted []string
	for _, rs := range st.Resources {
		if rs.ID != pl.Primitive {
			continue
		}
		for _, in := range rs.Instances {
			switch {
			case in.Node == pl.To && in.Role == api.RoleFailed:
				return false, fmt.Sprintf("the instance of %s on %s failed", pl.Primitive, pl.To)
			case in.Role == api.RolePromoted && in.Node != pl.To && in.Node != pl.From:
				// The scheduler promoted a third node (the target could
				// not be promoted when it chose): do not wait for another
				// round of demotion and promotion.
				return false, fmt.Sprintf("%s was promoted instead (%s could not be promoted when the scheduler chose)", in.Node, pl.To)
			case in.Role == api.RolePromoted:
				promoted = append(promoted, in.Node)
			}
		}
	}
	for _, n := range st.Nodes {
		if n.Name == pl.To && n.State != string(store.StateOnline) {
			return false, "node " + pl.To + " is " + n.State
		}
	}
	if len(promoted) != 1 || promoted[0] != pl.To {
		return false, ""
	}
	dependents := map[string]bool{pl.Clone: true, pl.Primitive: true}
	for _, c := range cfg.Colocations {
		if dependents[c.With] {
			dependents[c.Resource] = true
			for _, p := range primitives(resourceTree(cfg, c.Resource), "") {
				dependents[p.res.ID] = true
			}
		}
	}
	res, err := sched.Schedule(sched.Input{Config: cfg, Status: modelStatus(members, st.Quorum, st.Leader), Now: now})
	if err != nil {
		return false, ""
	}
	for _, c := range res.Changes {
		if dependents[model.BaseID(c.Resource)] {
			return false, ""
		}
	}
	return true, ""
}

// resourceTree is the resource id as a one-element list (nil when unknown).
func resourceTree(cfg *model.Config, id string) []model.Resource {
	if r := model.FindResource(cfg.Resources, id); r != nil {
		return []model.Resource{*r}
	}
	return nil
}

// switchover answers POST /v1/resources/{id}/switchover (operator).
func (s *Server) switchover(w http.ResponseWriter, r *http.Request, p pki.Principal) error {
	var req api.SwitchoverRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
	}
	res, err := s.Switchover(r.Context(), p, r.PathValue("id"), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// Switchover moves the promoted role of the promotable clone id (or the
// clone of the primitive id) to req.Node, or to the eligible node with the
// highest promotion score: it checks that the switchover is possible
// (planSwitchover), adds the location constraint cli-switchover-CLONE
// (role Promoted, INFINITY on the target), waits until the target is the
// only promoted instance and what is colocated with the promoted role has
// followed, and removes the constraint again, also when it fails or time
// runs out. The scheduler demotes the old primary before it promotes the
// target; an agent that can (builtin:postgresql) makes the promotion wait
// until the target has everything the demoted primary wrote.
//
// p is the caller (already authorised as operator), recorded as the
// author of the constraint changes. It blocks for at most req.Wait
// (default api.DefaultSwitchoverWait) or until ctx is done. The web UI
// calls it as the API handler does. Refusals wrap ErrSwitchover.
func (s *Server) Switchover(ctx context.Context, p pki.Principal, id string, req api.SwitchoverRequest) (api.SwitchoverResult, error) {
	began := s.cfg.Now()
	waitFor := req.Wait
	if waitFor == "" {
		waitFor = api.DefaultSwitchoverWait
	}
	limit, err := time.ParseDuration(waitFor)
	if err != nil || limit <= 0 {
		return api.SwitchoverResult{}, errorf(http.StatusBadRequest, "wait %q is not a positive duration (\"2m\")", req.Wait)
	}
	leader, quorum := s.cfg.Backend.Leader()
	if !quorum {
		return api.SwitchoverResult{}, errorf(http.StatusServiceUnavailable, "no quorum: a switchover needs a quorate cluster")
	}
	cfg, members := s.cfg.Backend.Config(), s.cfg.Backend.Members()
	now := s.cfg.Now()
	pl, err := planSwitchover(cfg, members, BuildStatusWithoutVMs(cfg, members, leader, quorum, now), id, req.Node, now)
	if err != nil {
		return api.SwitchoverResult{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	added, err := s.update(ctx, p, "switchover "+pl.Clone+" to "+pl.To, func(cfg *model.Config) error {
		if constraintExists(cfg, pl.Constraint.ID) {
			return refuse(http.StatusConflict, "a switchover of %s is in progress (constraint %s exists; 'paceline resource clear %s' removes one left over)",
				pl.Clone, pl.Constraint.ID, pl.Clone)
		}
		cfg.Locations = append(cfg.Locations, pl.Constraint)
		return nil
	})
	if err != nil {
		return api.SwitchoverResult{}, err
	}
	// Whatever happens next, the temporary constraint goes.
	defer func() {
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ProposeTimeout)
		defer rcancel()
		s.update(rctx, p, "switchover "+pl.Clone+" done: remove "+pl.Constraint.ID, func(cfg *model.Config) error {
			cfg.Locations = slices.DeleteFunc(cfg.Locations, func(l model.Location) bool { return l.ID == pl.Constraint.ID })
			return nil
		})
	}()
	var idx uint64
	for {
		cfg, members := s.cfg.Backend.Config(), s.cfg.Backend.Members()
		// This node's copy may not have the constraint yet (a follower
		// applies the leader's commit a little later): judge from the
		// epoch that added it on.
		if cfg.Epoch >= added.Epoch && !constraintExists(cfg, pl.Constraint.ID) {
			return api.SwitchoverResult{}, refuse(http.StatusConflict, "constraint %s was removed while %s was switching over to %s", pl.Constraint.ID, pl.Clone, pl.To)
		}
		leader, quorum := s.cfg.Backend.Leader()
		now := s.cfg.Now()
		done, failed := false, ""
		if cfg.Epoch >= added.Epoch {
			done, failed = switchoverDone(pl, cfg, members, BuildStatusWithoutVMs(cfg, members, leader, quorum, now), now)
		}
		if failed != "" {
			return api.SwitchoverResult{}, refuse(http.StatusConflict, "switchover of %s to %s failed: %s (constraint %s removed; see 'paceline status')",
				pl.Clone, pl.To, failed, pl.Constraint.ID)
		}
		if done {
			return api.SwitchoverResult{Resource: pl.Clone, From: pl.From, To: pl.To, Constraint: pl.Constraint.ID,
				Milliseconds: s.cfg.Now().Sub(began).Milliseconds()}, nil
		}
		// Wake on every change, and at least every half second (time
		// passes for the scheduler too).
		wctx, wcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		// (A timeout of the half second is no error: look again.)
		idx, _ = s.cfg.Backend.Wait(wctx, idx)
		wcancel()
		if ctx.Err() != nil {
			return api.SwitchoverResult{}, errorf(http.StatusGatewayTimeout, "switchover of %s to %s not done within %v (constraint %s removed; see 'paceline status')",
				pl.Clone, pl.To, limit, pl.Constraint.ID)
		}
	}
}
