package httpapi

import (
	"net/http"
	"strings"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/metrics"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// getMetrics serves GET /metrics (viewer): the Prometheus text format of
// Config.Metrics, 404 when the server has none.
func (s *Server) getMetrics(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	if s.cfg.Metrics == nil {
		return errorf(http.StatusNotFound, "this server exports no metrics")
	}
	s.cfg.Metrics.ServeHTTP(w, r)
	return nil
}

// MetricsState is the snapshot the scrape-time gauges are computed from
// (metrics.State): self is this node's name. Resource activity and roles
// are derived as GET /v1/status derives them (activeOn), per node; fail
// counts sum the node's "fail-count-RSC#op_interval" attributes (and the
// older per-resource "fail-count-RSC"), clone instances counted for their
// clone's primitive, for every node where the resource has an operation
// history (probes included) or a count. It is a pure function.
func MetricsState(cfg *model.Config, members []store.Member, leader string, quorum bool, self string) metrics.State {
	st := metrics.State{Quorum: quorum, IsLeader: self != "" && leader == self, Epoch: cfg.Epoch}
	for _, m := range members {
		st.Nodes = append(st.Nodes, metrics.NodeUp{Name: m.Name, Up: m.State == store.StateOnline})
	}
	for _, p := range primitives(cfg.Resources, false) {
		for i := range members {
			m := &members[i]
			if on, prom, _ := activeOn(m, p.res.ID); on {
				role := api.RoleStarted
				switch {
				case prom:
					role = api.RolePromoted
				case p.promotable:
					role = api.RoleUnpromoted
				}
				st.Active = append(st.Active, metrics.Active{Resource: p.res.ID, Node: m.Name, Role: string(role)})
			}
			// Only where the resource has a history or a count: a cluster
			// of many client nodes would otherwise export resources x
			// nodes series of zeros.
			if fc := failCount(m, p.res.ID); fc > 0 || hasHistory(m, p.res.ID) {
				st.FailCounts = append(st.FailCounts, metrics.FailCount{Resource: p.res.ID, Node: m.Name, Count: fc})
			}
		}
	}
	return st
}

// failCount sums a member's fail-count attributes of resource id.
func failCount(m *store.Member, id string) int64 {
	var sum model.Score
	for k, v := range m.Attributes {
		rest, ok := strings.CutPrefix(k, "fail-count-")
		if !ok {
			continue
		}
		if i := strings.IndexByte(rest, '#'); i >= 0 {
			rest = rest[:i]
		}
		if rest != id && !isInstance(rest, id) {
			continue
		}
		if sc, err := model.ParseScore(v); err == nil {
			sum = model.AddScores(sum, sc)
		}
	}
	return int64(max(sum, 0)) // INFINITY is model.Infinity, 1000000
}

// hasHistory reports whether the member recorded operations of resource
// id (or of one of its clone instances).
func hasHistory(m *store.Member, id string) bool {
	for _, rh := range m.Resources {
		if rh.ID == id || isInstance(rh.ID, id) {
			return true
		}
	}
	return false
}
