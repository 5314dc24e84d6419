package httpapi

import (
	"net/http"
	"slices"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

func (s *Server) listNodes(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	nodes := []api.Node{}
	for _, m := range s.cfg.Backend.Members() {
		nodes = append(nodes, api.Node{Name: m.Name, Role: string(m.Role), Address: m.Address,
			State: string(m.Display()), Attributes: m.Attributes})
	}
	writeJSON(w, http.StatusOK, nodes)
	return nil
}

// setNodeAttributes sets a member's transient attributes; an empty value
// deletes the attribute. With ?private=true they are its private
// attributes (attrd_updater --private: shared, but never read by the
// scheduler, and their change plans nothing).
func (s *Server) setNodeAttributes(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	name := r.PathValue("name")
	var attrs map[string]string
	if err := decodeJSON(r, &attrs); err != nil {
		return err
	}
	if len(attrs) == 0 {
		return errorf(http.StatusBadRequest, "no attributes given")
	}
	if !slices.ContainsFunc(s.cfg.Backend.Members(), func(m store.Member) bool { return m.Name == name }) {
		return errorf(http.StatusNotFound, "no node %q", name)
	}
	epoch := s.cfg.Backend.Config().Epoch
	set := map[string]string{}
	var del []string
	for k, v := range attrs {
		if k == "" {
			return errorf(http.StatusBadRequest, "empty attribute name")
		}
		if v == "" {
			del = append(del, k)
		} else {
			set[k] = v
		}
	}
	slices.Sort(del)
	setCmd, delCmd := store.NewNodeAttrSet, store.NewNodeAttrDelete
	switch r.URL.Query().Get("private") {
	case "", "false":
	case "true":
		setCmd, delCmd = store.NewPrivateAttrSet, store.NewPrivateAttrDelete
	default:
		return errorf(http.StatusBadRequest, "private=%q: want true or false", r.URL.Query().Get("private"))
	}
	if len(set) > 0 {
		res, err := s.propose(r.Context(), setCmd(name, set))
		if err != nil {
			return err
		}
		epoch = res.Epoch
	}
	if len(del) > 0 {
		res, err := s.propose(r.Context(), delCmd(name, del...))
		if err != nil {
			return err
		}
		epoch = res.Epoch
	}
	setEpoch(w, epoch)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// cleanupResource forgets a resource's fail counts and operation history
// (on one node with ?node=NAME, otherwise on every member), as
// "crm_resource --cleanup" does, so the scheduler probes it again.
func (s *Server) cleanupResource(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	id := r.PathValue("id")
	node := r.URL.Query().Get("node")
	cfg := s.cfg.Backend.Config()
	if !slices.ContainsFunc(allResources(cfg.Resources), func(res *model.Resource) bool { return res.ID == id }) {
		return errorf(http.StatusNotFound, "no resource %q", id)
	}
	if node != "" && !slices.ContainsFunc(s.cfg.Backend.Members(), func(m store.Member) bool { return m.Name == node }) {
		return errorf(http.StatusNotFound, "no node %q", node)
	}
	res, err := s.propose(r.Context(), store.NewFailCountClear(store.FailCountClear{Node: node, Resource: id, History: true}))
	if err != nil {
		return err
	}
	setEpoch(w, res.Epoch)
	writeJSON(w, http.StatusOK, api.CleanupResult{Changed: res.Changed})
	return nil
}

// allResources lists every resource at any depth, parents first.
func allResources(rs []model.Resource) []*model.Resource {
	var out []*model.Resource
	for i := range rs {
		out = append(out, &rs[i])
		out = append(out, allResources(rs[i].Children)...)
	}
	return out
}
