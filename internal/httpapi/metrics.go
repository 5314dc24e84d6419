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
// (metrics.State): self is this node's name. Resource activity and roles
// are GET /v1/status's (BuildStatus: the scheduler's view of the current
// state, instances per node); fail counts sum the node's
// "fail-count-RSC#op_interval" attributes (and the older per-resource
// "fail-count-RSC"), clone instances counted for their primitive, for
// every node where the resource has an operation history (probes
// included) or a count. It is a pure function of its inputs (now is when
// failure-timeouts are evaluated).
func MetricsState(cfg *model.Config, members []store.Member, leader string, quorum bool, self string, now time.Time) metrics.State {
	st := metrics.State{Quorum: quorum, IsLeader: self != "" && leader == self, Epoch: cfg.Epoch}
	for _, m := range members {
		st.Nodes = append(st.Nodes, metrics.NodeUp{Name: m.Name, Up: m.State == store.StateOnline})
	}
	status := BuildStatus(cfg, members, leader, quorum, now)
	for _, rs := range status.Resources {
		// A failed instance is active too (it must be stopped or
		// recovered): its role says Failed, as in status.
		for _, in := range rs.Instances {
			st.Active = append(st.Active, metrics.Active{Resource: rs.ID, Node: in.Node, Role: string(in.Role)})
		}
	}
	for _, p := range primitives(cfg.Resources, "") {
		for i := range members {
			m := &members[i]
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
		if baseID(rest) != id {
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
		if baseID(rh.ID) == id {
			return true
		}
	}
	return false
}
