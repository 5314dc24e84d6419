// Package metrics is the agent's Prometheus metrics: the only package that
// knows prometheus/client_golang.
//
// A Set holds one registry with two kinds of metrics:
//
//   - gauges computed at scrape time from a State snapshot (a
//     prometheus.Collector calls the snapshot function once per scrape):
//     paceline_node_up{node}, paceline_quorum, paceline_is_leader,
//     paceline_resource_active{resource,node,role},
//     paceline_resource_failcount{resource,node} and paceline_config_epoch;
//   - histograms and counters observed where things happen, through plain
//     function hooks the daemon hands to the low layers (so the node
//     runtime and the executor never import this package):
//     paceline_lease_renewal_seconds (ObserveRenewal),
//     paceline_operation_duration_seconds{agent,op} (ObserveOperation) and
//     paceline_fence_total{result}.
//
// The daemon wires it:
//
//	ms := metrics.New(func() metrics.State { return httpapi.MetricsState(...) })
//	rtCfg.ObserveRenewal, exCfg.Observe = ms.ObserveRenewal, ms.ObserveOperation
//	httpapi.Config{Metrics: ms.Handler(), ...} // GET /metrics, viewer role
//
// Every method is safe for concurrent use.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// State is the cluster as one node sees it, for the scrape-time gauges.
// The snapshot function builds a fresh value per scrape; the Set does not
// keep it.
type State struct {
	// Nodes are the cluster's members and whether each is up (online,
	// standby or maintenance counts as up; offline and unclean not).
	Nodes []NodeUp
	// Quorum is whether this node's partition has quorum; IsLeader
	// whether this node is the Raft leader.
	Quorum, IsLeader bool
	// Epoch is the configuration epoch this node has applied.
	Epoch uint64
	// Active lists every resource instance active on a node, with its
	// role (Started, Promoted, Unpromoted).
	Active []Active
	// FailCounts are the fail counts of the primitives on the nodes where
	// they have run or been probed (0 when none), INFINITY as 1000000.
	FailCounts []FailCount
}

// NodeUp is one member's liveness.
type NodeUp struct {
	Name string
	Up   bool
}

// Active is one resource active on one node.
type Active struct {
	Resource, Node, Role string
}

// FailCount is a resource's fail count on one node.
type FailCount struct {
	Resource, Node string
	Count          int64
}

// Fence results, the label values of paceline_fence_total.
const (
	FenceSuccess = "success"
	FenceFailure = "failure"
)

// Set is one agent's metrics registry.
type Set struct {
	reg     *prometheus.Registry
	renewal prometheus.Histogram
	ops     *prometheus.HistogramVec
	fence   *prometheus.CounterVec
}

// New returns a Set whose gauges are read from state at every scrape;
// state is called from the scraping goroutine and must be safe for
// concurrent use. state nil: no gauges (histograms only).
func New(state func() State) *Set {
	s := &Set{
		reg: prometheus.NewRegistry(),
		renewal: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "paceline_lease_renewal_seconds",
			Help: "Time from sending a lease renewal (heartbeat) to the leader's acknowledgement, on this node.",
			// 0.5 ms to about 1 s: loopback to a loaded WAN.
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12),
		}),
		ops: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "paceline_operation_duration_seconds",
			Help: "Duration of resource operations (start, stop, monitor, ...) run by this node's executor, by agent and operation.",
			// 5 ms to about 2 minutes.
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 12),
		}, []string{"agent", "op"}),
		fence: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "paceline_fence_total",
			Help: "Fence operations this node ran, by result (success, failure).",
		}, []string{"result"}),
	}
	// Both results exist from the start, so a rate() sees the first one.
	s.fence.WithLabelValues(FenceSuccess)
	s.fence.WithLabelValues(FenceFailure)
	s.reg.MustRegister(s.renewal, s.ops, s.fence)
	if state != nil {
		s.reg.MustRegister(&stateCollector{state: state})
	}
	return s
}

// ObserveRenewal records one successful lease renewal that took d.
func (s *Set) ObserveRenewal(d time.Duration) { s.renewal.Observe(d.Seconds()) }

// ObserveOperation records one completed operation op (start, monitor,
// ...) of an agent ("ocf:heartbeat:IPaddr2", "builtin:dummy") that took d.
func (s *Set) ObserveOperation(agent, op string, d time.Duration) {
	s.ops.WithLabelValues(agent, op).Observe(d.Seconds())
}

// ObserveFence counts one fence operation with result FenceSuccess or
// FenceFailure.
func (s *Set) ObserveFence(result string) { s.fence.WithLabelValues(result).Inc() }

// Handler serves the registry in the Prometheus text format (or
// OpenMetrics when asked). It does no authentication: the caller (the API
// server) puts it behind its token and role check.
func (s *Set) Handler() http.Handler {
	return promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

var (
	descNodeUp = prometheus.NewDesc("paceline_node_up",
		"Whether the cluster member is up (1: online, standby or maintenance; 0: offline or unclean), as this node sees it.",
		[]string{"node"}, nil)
	descQuorum = prometheus.NewDesc("paceline_quorum",
		"Whether this node's partition has quorum (1) or not (0).", nil, nil)
	descLeader = prometheus.NewDesc("paceline_is_leader",
		"Whether this node is the Raft leader, which runs the controller (1) or not (0).", nil, nil)
	descActive = prometheus.NewDesc("paceline_resource_active",
		"1 for every resource instance active on a node, with its role (Started, Promoted, Unpromoted); absent when not active.",
		[]string{"resource", "node", "role"}, nil)
	descFail = prometheus.NewDesc("paceline_resource_failcount",
		"The resource's fail count on the node (sum over its operations; INFINITY is 1000000).",
		[]string{"resource", "node"}, nil)
	descEpoch = prometheus.NewDesc("paceline_config_epoch",
		"The configuration epoch this node has applied.", nil, nil)
)

// stateCollector turns a State snapshot into the gauges at scrape time.
type stateCollector struct {
	state func() State
}

var _ prometheus.Collector = (*stateCollector)(nil)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descNodeUp, descQuorum, descLeader, descActive, descFail, descEpoch} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.state()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, n := range st.Nodes {
		gauge(descNodeUp, bool01(n.Up), n.Name)
	}
	gauge(descQuorum, bool01(st.Quorum))
	gauge(descLeader, bool01(st.IsLeader))
	gauge(descEpoch, float64(st.Epoch))
	for _, a := range st.Active {
		gauge(descActive, 1, a.Resource, a.Node, a.Role)
	}
	for _, f := range st.FailCounts {
		gauge(descFail, float64(f.Count), f.Resource, f.Node)
	}
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
