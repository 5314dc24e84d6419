package httpapi

import (
	"net/http"
	"strings"
	"time"

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
// (metrics.State) at now: self is this node's name. Where each primitive
// is active and in which role is what GET /v1/status says (BuildStatus:
// the scheduler's view of the current state), one series per instance,
// role Failed for one whose operation failed (it may still run); fail counts sum the node's
// "fail-count-RSC#op_interval" attributes (and the older per-resource
// "fail-count-RSC"), clone instances counted for their primitive, on every
// node where the resource has an operation history (probes included) or a
// count. It is a pure function.
func MetricsState(cfg *model.Config, members []store.Member, leader string, quorum bool, self string, now time.Time) metrics.State {
	st := metrics.State{Quorum: quorum, IsLeader: self != "" && leader == self, Epoch: cfg.Epoch}
	for _, m := range members {
		st.Nodes = append(st.Nodes, metrics.NodeUp{Name: m.Name, Up: m.State == store.StateOnline})
	}
	for _, rs := range BuildStatusWithoutVMs(cfg, members, leader, quorum, now).Resources {
		for _, in := range rs.Instances {
			st.Active = append(st.Active, metrics.Active{Resource: rs.ID, Node: in.Node, Role: in.Role})
		}
		for i := range members {
			m := &members[i]
			// Only where the resource has a history or a count: a cluster
			// of many client nodes would otherwise export resources x
			// nodes series of zeros.
			if fc := failCount(m, rs.ID); fc > 0 || hasHistory(m, rs.ID) {
				st.FailCounts = append(st.FailCounts, metrics.FailCount{Resource: rs.ID, Node: m.Name, Count: fc})
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
		if model.BaseID(rest) != id {
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
		if model.BaseID(rh.ID) == id {
			return true
		}
	}
	return false
}
