package httpapi

import (
	"maps"
	"net/http"
	"slices"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/fence"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// createResource adds a primitive: at the top level, as a member of a
// group (created when missing) or wrapped in a clone ID-clone, as
// "pcs resource create" does.
func (s *Server) createResource(w http.ResponseWriter, r *http.Request, p pki.Principal) error {
	var req api.ResourceRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.ID == "" {
		return errorf(http.StatusBadRequest, "resource id is empty")
	}
	prim, err := req.Primitive()
	if err != nil {
		return errorf(http.StatusBadRequest, "resource %q: %v", req.ID, err)
	}
	if err := prim.KeepSecrets(nil); err != nil {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	for i := range prim.Ops {
		if role, ok := model.CanonicalRole(prim.Ops[i].Role); ok {
			prim.Ops[i].Role = role
		}
	}
	if err := checkPlacement(&req); err != nil {
		return err
	}
	if err := s.checkAgent(r, &prim); err != nil {
		return err
	}
	s.markDeviceSecrets(&prim)
	res, err := s.update(r.Context(), p, "create resource "+req.ID, func(cfg *model.Config) error {
		if line := s.twoNodeGate(cfg); line != "" && !fence.GateExempt(&prim) {
			return errorf(http.StatusConflict, "%s", line)
		}
		return placeNew(cfg, &req, prim)
	})
	if err != nil {
		return err
	}
	setEpoch(w, res.Epoch)
	var out model.Resource
	if err := copyJSON(&out, &prim); err != nil {
		return err
	}
	out.MaskSecrets()
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// checkPlacement refuses contradictory group and clone fields.
func checkPlacement(req *api.ResourceRequest) error {
	switch {
	case req.Group != "" && req.Clone != nil:
		return errorf(http.StatusBadRequest, "resource %q: group and clone are exclusive (clone the group instead)", req.ID)
	case req.Before != "" && req.After != "":
		return errorf(http.StatusBadRequest, "resource %q: before and after are exclusive", req.ID)
	case (req.Before != "" || req.After != "") && req.Group == "":
		return errorf(http.StatusBadRequest, "resource %q: before and after place a group member: name the group", req.ID)
	case req.Group == req.ID:
		return errorf(http.StatusBadRequest, "resource %q: a resource cannot be its own group", req.ID)
	}
	return nil
}

// placeNew adds prim to cfg where req says; the caller validates cfg.
func placeNew(cfg *model.Config, req *api.ResourceRequest, prim model.Resource) error {
	if model.FindResource(cfg.Resources, req.ID) != nil || constraintExists(cfg, req.ID) {
		return errorf(http.StatusConflict, "resource %q exists", req.ID)
	}
	switch {
	case req.Clone != nil:
		id := api.CloneID(req.ID)
		if model.FindResource(cfg.Resources, id) != nil || constraintExists(cfg, id) {
			return errorf(http.StatusConflict, "resource %q exists", id)
		}
		meta := maps.Clone(req.Clone.Meta)
		if req.Clone.Promotable {
			if meta == nil {
				meta = map[string]string{}
			}
			meta["promotable"] = "true"
		}
		cfg.Resources = append(cfg.Resources, model.Resource{ID: id, Kind: model.KindClone, Meta: meta,
			Children: []model.Resource{prim}})
	case req.Group != "":
		g := model.FindResource(cfg.Resources, req.Group)
		if g == nil {
			if req.Before != "" || req.After != "" {
				return errorf(http.StatusNotFound, "group %q does not exist, so it has no member %q", req.Group, req.Before+req.After)
			}
			cfg.Resources = append(cfg.Resources, model.Resource{ID: req.Group, Kind: model.KindGroup,
				Children: []model.Resource{prim}})
			return nil
		}
		if g.Kind != model.KindGroup {
			return errorf(http.StatusBadRequest, "resource %q is a %s, not a group", req.Group, g.Kind)
		}
		at := len(g.Children)
		if ref := req.Before + req.After; ref != "" {
			i := slices.IndexFunc(g.Children, func(m model.Resource) bool { return m.ID == ref })
			if i < 0 {
				return errorf(http.StatusBadRequest, "group %q has no member %q", req.Group, ref)
			}
			at = i
			if req.After != "" {
				at = i + 1
			}
		}
		g.Children = slices.Insert(g.Children, at, prim)
	default:
		cfg.Resources = append(cfg.Resources, prim)
	}
	return nil
}

// twoNodeGate is what a two-node cluster lacks before it may run anything
// but fence devices and ping resources (fence.TwoNodeGate; "" when
// nothing): `resource create` of anything else answers this line.
func (s *Server) twoNodeGate(cfg *model.Config) string {
	return fence.TwoNodeGate(cfg, store.Roles(s.cfg.Backend.Members()))
}
