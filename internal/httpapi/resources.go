package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/fence"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// casAttempts is how often a read-modify-write retries after losing a
// compare-and-set race to another writer.
const casAttempts = 3

// update applies fn to the current configuration, validates the result
// and proposes it expecting the epoch it read, retrying when another write
// won meanwhile. fn returns an *httpError for the client's mistakes.
func (s *Server) update(ctx context.Context, p pki.Principal, msg string, fn func(*model.Config) error) (store.Result, error) {
	var res store.Result
	var err error
	for range casAttempts {
		cfg := s.cfg.Backend.Config()
		if err := fn(cfg); err != nil {
			return store.Result{}, err
		}
		cfg.NormalizeRoles()
		if err := validConfig(cfg); err != nil {
			return store.Result{}, err
		}
		res, err = s.propose(ctx, store.NewConfigPut(cfg.Epoch, *cfg, store.Change{
			Author: author(p), Message: msg, At: s.cfg.Now().UnixMilli()}))
		if err == nil || !errors.Is(res.Err, store.ErrEpochMismatch) {
			break
		}
		s.catchUp(ctx, res.Epoch)
	}
	return res, err
}

// catchUp waits (at most a second) until this node's copy of the
// configuration has reached epoch: a follower that lost a compare-and-set
// because its copy lagged the leader's retries on the newer copy.
func (s *Server) catchUp(ctx context.Context, epoch uint64) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var idx uint64
	for s.cfg.Backend.Config().Epoch < epoch {
		var err error
		if idx, err = s.cfg.Backend.Wait(ctx, idx); err != nil {
			return
		}
	}
}

// invalid turns model validation problems into one 400.
func invalid(err error) error {
	if err == nil {
		return nil
	}
	msgs := strings.Split(err.Error(), "\n")
	return errorf(http.StatusBadRequest, "invalid configuration: %s", strings.Join(msgs, "; "))
}

func findTop(cfg *model.Config, id string) int {
	return slices.IndexFunc(cfg.Resources, func(r model.Resource) bool { return r.ID == id })
}

func (s *Server) listResources(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	rs := s.cfg.Backend.Config().Resources
	if rs == nil {
		rs = []model.Resource{}
	}
	for i := range rs {
		rs[i].MaskSecrets()
	}
	writeJSON(w, http.StatusOK, rs)
	return nil
}

func (s *Server) getResource(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	cfg := s.cfg.Backend.Config()
	i := findTop(cfg, r.PathValue("id"))
	if i < 0 {
		return errorf(http.StatusNotFound, "no resource %q", r.PathValue("id"))
	}
	cfg.Resources[i].MaskSecrets()
	writeJSON(w, http.StatusOK, cfg.Resources[i])
	return nil
}

func (s *Server) updateResource(w http.ResponseWriter, r *http.Request, p pki.Principal) error {
	id := r.PathValue("id")
	var req api.ResourceRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.ID != "" && req.ID != id {
		return errorf(http.StatusBadRequest, "body id %q differs from path id %q (renaming is not supported)", req.ID, id)
	}
	req.ID = id
	prim, err := req.Primitive()
	if err != nil {
		return errorf(http.StatusBadRequest, "resource %q: %v", id, err)
	}
	if err := s.checkAgent(r, &prim); err != nil {
		return err
	}
	var out model.Resource
	res, err := s.update(r.Context(), p, "update resource "+id, func(cfg *model.Config) error {
		i := findTop(cfg, id)
		if i < 0 {
			return errorf(http.StatusNotFound, "no resource %q", id)
		}
		cur := &cfg.Resources[i]
		if cur.Kind != model.KindPrimitive {
			return errorf(http.StatusBadRequest, "resource %q is a %s; only primitives can be updated this way", id, cur.Kind)
		}
		if err := prim.KeepSecrets(cur); err != nil {
			return errorf(http.StatusBadRequest, "%v", err)
		}
		cur.Class, cur.Provider, cur.Type = prim.Class, prim.Provider, prim.Type
		cur.Params, cur.Meta, cur.Ops = prim.Params, prim.Meta, prim.Ops
		// The answer is a deep copy: masking must not reach the
		// configuration being proposed.
		if err := copyJSON(&out, cur); err != nil {
			return err
		}
		out.MaskSecrets()
		return nil
	})
	if err != nil {
		return err
	}
	setEpoch(w, res.Epoch)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// deleteResource removes a resource (see removeResource) and every
// constraint that names what went.
func (s *Server) deleteResource(w http.ResponseWriter, r *http.Request, p pki.Principal) error {
	id := r.PathValue("id")
	res, err := s.update(r.Context(), p, "delete resource "+id, func(cfg *model.Config) error {
		if model.FindResource(cfg.Resources, id) == nil {
			return errorf(http.StatusNotFound, "no resource %q", id)
		}
		removed := removeResource(cfg, id)
		dropConstraints(cfg, func(names []string) bool {
			return slices.ContainsFunc(names, func(n string) bool { return removed[n] })
		})
		return nil
	})
	if err != nil {
		return err
	}
	setEpoch(w, res.Epoch)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// removeResource deletes a resource at any depth, as pcs does: a clone's
// child takes its clone along, a group's last member its group; it
// returns every id that went (for the constraints that name them).
func removeResource(cfg *model.Config, id string) map[string]bool {
	removed := map[string]bool{}
	var mark func(r *model.Resource)
	mark = func(r *model.Resource) {
		removed[r.ID] = true
		for i := range r.Children {
			mark(&r.Children[i])
		}
	}
	for {
		parent := model.ParentOf(cfg.Resources, id)
		if parent == nil {
			i := findTop(cfg, id)
			mark(&cfg.Resources[i])
			cfg.Resources = slices.Delete(cfg.Resources, i, i+1)
			return removed
		}
		if parent.Kind == model.KindGroup && len(parent.Children) > 1 {
			i := slices.IndexFunc(parent.Children, func(c model.Resource) bool { return c.ID == id })
			mark(&parent.Children[i])
			parent.Children = slices.Delete(parent.Children, i, i+1)
			return removed
		}
		id = parent.ID // a clone's child, a group's last member: the parent goes
	}
}

func setNames(sets []model.ResourceSet) []string {
	var n []string
	for _, s := range sets {
		n = append(n, s.Resources...)
	}
	return n
}

// dropConstraints removes every constraint for which match(the resource
// ids it names) is true.
func dropConstraints(cfg *model.Config, match func([]string) bool) {
	cfg.Locations = slices.DeleteFunc(cfg.Locations, func(c model.Location) bool {
		return match(append([]string{c.Resource}, setNames(c.Sets)...))
	})
	cfg.Colocations = slices.DeleteFunc(cfg.Colocations, func(c model.Colocation) bool {
		return match(append([]string{c.Resource, c.With}, setNames(c.Sets)...))
	})
	cfg.Orders = slices.DeleteFunc(cfg.Orders, func(c model.Order) bool {
		return match(append([]string{c.First, c.Then}, setNames(c.Sets)...))
	})
	cfg.Tickets = slices.DeleteFunc(cfg.Tickets, func(c model.TicketConstraint) bool {
		return match(append([]string{c.Resource}, setNames(c.Sets)...))
	})
}

func (s *Server) addConstraint(w http.ResponseWriter, r *http.Request, p pki.Principal) error {
	var c api.Constraint
	if err := decodeJSON(r, &c); err != nil {
		return err
	}
	n := 0
	for _, set := range []bool{c.Location != nil, c.Colocation != nil, c.Order != nil} {
		if set {
			n++
		}
	}
	var id string
	switch {
	case n != 1:
		return errorf(http.StatusBadRequest, "constraint: want exactly one of location, colocation, order; got %d", n)
	case c.Kind == api.ConstraintLocation && c.Location != nil:
		id = c.Location.ID
	case c.Kind == api.ConstraintColocation && c.Colocation != nil:
		id = c.Colocation.ID
	case c.Kind == api.ConstraintOrder && c.Order != nil:
		id = c.Order.ID
	default:
		return errorf(http.StatusBadRequest, "constraint: kind %q does not match its payload (location, colocation, order)", c.Kind)
	}
	if id == "" {
		return errorf(http.StatusBadRequest, "constraint id is empty")
	}
	if !operationalConstraint(c) {
		if err := needAdmin(p, r, "operators may add only the location constraints cli-prefer-* and cli-ban-* (move, ban)"); err != nil {
			return err
		}
	}
	res, err := s.update(r.Context(), p, "add constraint "+id, func(cfg *model.Config) error {
		if constraintExists(cfg, id) {
			return errorf(http.StatusConflict, "constraint %q exists", id)
		}
		switch {
		case c.Location != nil:
			cfg.Locations = append(cfg.Locations, *c.Location)
		case c.Colocation != nil:
			cfg.Colocations = append(cfg.Colocations, *c.Colocation)
		default:
			cfg.Orders = append(cfg.Orders, *c.Order)
		}
		return nil
	})
	if err != nil {
		return err
	}
	setEpoch(w, res.Epoch)
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func constraintExists(cfg *model.Config, id string) bool {
	return slices.ContainsFunc(cfg.Locations, func(c model.Location) bool { return c.ID == id }) ||
		slices.ContainsFunc(cfg.Colocations, func(c model.Colocation) bool { return c.ID == id }) ||
		slices.ContainsFunc(cfg.Orders, func(c model.Order) bool { return c.ID == id }) ||
		slices.ContainsFunc(cfg.Tickets, func(c model.TicketConstraint) bool { return c.ID == id })
}

func (s *Server) removeConstraint(w http.ResponseWriter, r *http.Request, p pki.Principal) error {
	id := r.PathValue("id")
	if !operationalConstraintID(id) {
		if err := needAdmin(p, r, "operators may remove only the constraints cli-prefer-* and cli-ban-* (clear)"); err != nil {
			return err
		}
	}
	res, err := s.update(r.Context(), p, "remove constraint "+id, func(cfg *model.Config) error {
		if !constraintExists(cfg, id) {
			return errorf(http.StatusNotFound, "no constraint %q", id)
		}
		cfg.Locations = slices.DeleteFunc(cfg.Locations, func(c model.Location) bool { return c.ID == id })
		cfg.Colocations = slices.DeleteFunc(cfg.Colocations, func(c model.Colocation) bool { return c.ID == id })
		cfg.Orders = slices.DeleteFunc(cfg.Orders, func(c model.Order) bool { return c.ID == id })
		cfg.Tickets = slices.DeleteFunc(cfg.Tickets, func(c model.TicketConstraint) bool { return c.ID == id })
		return nil
	})
	if err != nil {
		return err
	}
	setEpoch(w, res.Epoch)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listProperties(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	props := s.cfg.Backend.Config().Properties
	if props == nil {
		props = map[string]string{}
	}
	writeJSON(w, http.StatusOK, props)
	return nil
}

func (s *Server) getProperty(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	name := r.PathValue("name")
	v, ok := s.cfg.Backend.Config().Properties[name]
	if !ok {
		return errorf(http.StatusNotFound, "property %q is not set", name)
	}
	writeJSON(w, http.StatusOK, api.Property{Name: name, Value: v})
	return nil
}

// setProperty sets a property; an empty value removes it. The name must
// be a known cluster option and the value of its type (model.CheckProperty)
// unless ?force=true.
func (s *Server) setProperty(w http.ResponseWriter, r *http.Request, p pki.Principal) error {
	name := r.PathValue("name")
	var prop api.Property
	if err := decodeJSON(r, &prop); err != nil {
		return err
	}
	if prop.Name != "" && prop.Name != name {
		return errorf(http.StatusBadRequest, "body name %q differs from path name %q", prop.Name, name)
	}
	if r.URL.Query().Get("force") != "true" {
		if err := model.CheckProperty(name, prop.Value); err != nil {
			return errorf(http.StatusBadRequest, "%v", err)
		}
	}
	if name == "two-node" && model.ParseClusterOptions(map[string]string{name: prop.Value}).TwoNode {
		if err := fence.TwoNodeDeclare(store.Roles(s.cfg.Backend.Members())); err != nil {
			return errorf(http.StatusConflict, "%s", strings.TrimPrefix(err.Error(), "fence: "))
		}
	}
	res, err := s.update(r.Context(), p, "set property "+name, func(cfg *model.Config) error {
		if prop.Value == "" {
			delete(cfg.Properties, name)
			return nil
		}
		if cfg.Properties == nil {
			cfg.Properties = map[string]string{}
		}
		cfg.Properties[name] = prop.Value
		return nil
	})
	if err != nil {
		return err
	}
	setEpoch(w, res.Epoch)
	writeJSON(w, http.StatusOK, api.Property{Name: name, Value: prop.Value})
	return nil
}

// copyJSON deep-copies src into dst through their JSON form.
func copyJSON(dst, src any) error {
	b, err := json.Marshal(src)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}
