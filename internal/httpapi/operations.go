package httpapi

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
)

// getOperations answers the operation history of a resource on every
// node (GET /v1/resources/{id}/operations): the resource's own entries,
// its clone instances' (id:N) and, for a group or clone, its members',
// newest first. The store keeps each operation's last result and its
// last failure, as Pacemaker's status section does.
func (s *Server) getOperations(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	id := r.PathValue("id")
	cfg := s.cfg.Backend.Config()
	res := model.FindResource(cfg.Resources, id)
	ids := map[string]bool{id: true}
	if res != nil {
		var walk func(r *model.Resource)
		walk = func(r *model.Resource) {
			ids[r.ID] = true
			for i := range r.Children {
				walk(&r.Children[i])
			}
		}
		walk(res)
	}
	ops := []api.Operation{}
	found := res != nil
	for _, m := range s.cfg.Backend.Members() {
		for _, rh := range m.Resources {
			base, _, _ := strings.Cut(rh.ID, ":")
			if !ids[rh.ID] && !ids[base] {
				continue
			}
			found = true
			for _, op := range rh.Ops {
				o := api.Operation{Resource: rh.ID, Node: m.Name, Operation: op.Operation, Interval: op.Interval,
					CallID: op.CallID, ExitCode: op.RC, Expected: op.TargetRC, Status: model.OpStatusName(op.OpStatus),
					ExitReason: op.ExitReason, Duration: op.ExecTime, MigrateSource: op.MigrateSource, MigrateTarget: op.MigrateTarget}
				if op.LastRun != 0 {
					o.At = time.Unix(op.LastRun, 0).UTC()
				}
				ops = append(ops, o)
			}
		}
	}
	if !found {
		return errorf(http.StatusNotFound, "no resource %q", id)
	}
	slices.SortStableFunc(ops, func(a, b api.Operation) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return cmp.Or(strings.Compare(a.Node, b.Node), b.CallID-a.CallID)
	})
	writeJSON(w, http.StatusOK, ops)
	return nil
}
