package httpapi

import (
	"net/http"
	"slices"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	writeJSON(w, http.StatusOK, s.status())
	return nil
}

// status builds the status view from the backend.
func (s *Server) status() api.Status {
	leader, quorum := s.cfg.Backend.Leader()
	return BuildStatus(s.cfg.Backend.Config(), s.cfg.Backend.Members(), leader, quorum)
}

// BuildStatus derives the status view (see the package doc) from the
// configuration and the members. It is a pure function.
func BuildStatus(cfg *model.Config, members []store.Member, leader string, quorum bool) api.Status {
	st := api.Status{Leader: leader, Quorum: quorum, Epoch: cfg.Epoch,
		Nodes: []api.NodeStatus{}, Resources: []api.ResourceStatus{}}
	for _, m := range members {
		st.Nodes = append(st.Nodes, api.NodeStatus{Name: m.Name, State: string(m.Display()), Role: string(m.Role)})
	}
	for _, p := range primitives(cfg.Resources, false) {
		rs := api.ResourceStatus{ID: p.res.ID, Agent: p.res.Agent(), Role: api.RoleStopped, Nodes: []string{}}
		promoted, failed := false, false
		for _, m := range members {
			on, prom, fail := activeOn(&m, p.res.ID)
			if on {
				rs.Nodes = append(rs.Nodes, m.Name)
				promoted = promoted || prom
			}
			failed = failed || fail
		}
		switch {
		case promoted:
			rs.Role = api.RolePromoted
		case len(rs.Nodes) > 0 && p.promotable:
			rs.Role = api.RoleUnpromoted
		case len(rs.Nodes) > 0:
			rs.Role = api.RoleStarted
		case failed:
			rs.Role = api.RoleFailed
		}
		slices.Sort(rs.Nodes)
		st.Resources = append(st.Resources, rs)
	}
	return st
}

type primitive struct {
	res        *model.Resource
	promotable bool
}

// primitives flattens groups, clones and bundles to their primitives in
// configuration order.
func primitives(rs []model.Resource, promotable bool) []primitive {
	var out []primitive
	for i := range rs {
		r := &rs[i]
		prom := promotable || (r.Kind == model.KindClone && isTrue(r.Meta["promotable"]))
		if r.Kind == model.KindPrimitive {
			out = append(out, primitive{res: r, promotable: prom})
			continue
		}
		out = append(out, primitives(r.Children, prom)...)
	}
	return out
}

func isTrue(v string) bool {
	switch v {
	case "true", "on", "yes", "y", "1", "TRUE", "True", "ON", "On", "YES", "Yes":
		return true
	}
	return false
}

// activeOn reads a member's history of resource id (clone instances
// "id:N" count for id): whether its latest non-recurring operation left it
// active, promoted, or failed.
func activeOn(m *store.Member, id string) (active, promoted, failed bool) {
	for _, rh := range m.Resources {
		if rh.ID != id && !isInstance(rh.ID, id) {
			continue
		}
		var last *model.OpRecord
		for i := range rh.Ops {
			op := &rh.Ops[i]
			if op.Interval != 0 || op.OpStatus == -1 {
				continue
			}
			if last == nil || op.CallID > last.CallID {
				last = op
			}
		}
		if last == nil {
			continue
		}
		ok := last.OpStatus == 0 && last.RC == last.TargetRC
		if !ok && last.Operation != "monitor" {
			failed = true
			continue
		}
		switch last.Operation {
		case "start", "promote", "demote", "migrate_from", "monitor":
			if last.OpStatus == 0 && (last.RC == 0 || last.RC == 8) {
				active = true
				promoted = promoted || last.RC == 8 || (last.Operation == "promote" && last.RC == 0)
			}
		}
	}
	return active, promoted, failed
}

func isInstance(hid, id string) bool {
	if len(hid) <= len(id)+1 || hid[:len(id)] != id || hid[len(id)] != ':' {
		return false
	}
	for _, c := range hid[len(id)+1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
