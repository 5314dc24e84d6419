package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// scrape returns the text exposition of s.
func scrape(t *testing.T, s *Set) string {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: status %d", rec.Code)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestGaugesAreReadAtScrapeTime(t *testing.T) {
	st := State{
		Nodes:      []NodeUp{{"n1", true}, {"n2", false}},
		Quorum:     true,
		IsLeader:   true,
		Epoch:      7,
		Active:     []Active{{"db", "n1", "Promoted"}, {"db", "n2", "Unpromoted"}},
		FailCounts: []FailCount{{"db", "n1", 0}, {"db", "n2", 3}},
	}
	calls := 0
	s := New(func() State { calls++; return st })
	out := scrape(t, s)
	for _, want := range []string{
		`paceline_node_up{node="n1"} 1`,
		`paceline_node_up{node="n2"} 0`,
		"paceline_quorum 1",
		"paceline_is_leader 1",
		"paceline_config_epoch 7",
		`paceline_resource_active{node="n1",resource="db",role="Promoted"} 1`,
		`paceline_resource_active{node="n2",resource="db",role="Unpromoted"} 1`,
		`paceline_resource_failcount{node="n2",resource="db"} 3`,
		`paceline_fence_total{result="success"} 0`,
		`paceline_fence_total{result="failure"} 0`,
		"# TYPE paceline_lease_renewal_seconds histogram",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("scrape lacks %q:\n%s", want, out)
		}
	}
	// The next scrape sees the state as it is then.
	st.Quorum, st.IsLeader, st.Epoch = false, false, 8
	out = scrape(t, s)
	for _, want := range []string{"paceline_quorum 0", "paceline_is_leader 0", "paceline_config_epoch 8"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("second scrape lacks %q", want)
		}
	}
	if calls != 2 {
		t.Errorf("state read %d times for 2 scrapes", calls)
	}
}

func TestHistogramsCountObservations(t *testing.T) {
	s := New(nil)
	s.ObserveRenewal(3 * time.Millisecond)
	s.ObserveRenewal(400 * time.Millisecond)
	s.ObserveOperation("builtin:dummy", "start", 20*time.Millisecond)
	s.ObserveFence(FenceSuccess)
	out := scrape(t, s)
	for _, want := range []string{
		"paceline_lease_renewal_seconds_count 2",
		"paceline_lease_renewal_seconds_sum 0.403",
		`paceline_lease_renewal_seconds_bucket{le="0.004"} 1`,
		`paceline_operation_duration_seconds_count{agent="builtin:dummy",op="start"} 1`,
		`paceline_fence_total{result="success"} 1`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("scrape lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "paceline_quorum") {
		t.Error("a Set without a state function exports gauges")
	}
}
