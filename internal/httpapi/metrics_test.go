package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/metrics"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// metricsStore is n1 (online, runs web and the promoted db), n2 (online,
// db unpromoted, web failed to start there, fail count 2, and was
// stopped), n3 (offline) and w (a witness).
func metricsStore(t *testing.T) *store.Store {
	t.Helper()
	st := store.New()
	cfg := model.Config{Resources: []model.Resource{
		{ID: "web", Kind: model.KindPrimitive, Class: "builtin", Type: "dummy"},
		{ID: "db-clone", Kind: model.KindClone, Meta: map[string]string{"promotable": "true"}, Children: []model.Resource{
			{ID: "db", Kind: model.KindPrimitive, Class: "ocf", Provider: "pacemaker", Type: "Stateful"},
		}},
	}}
	op := func(node, rsc, name string, call, rc int, fails model.Score) store.Command {
		return store.NewOpResult(store.OpResult{Node: node, Resource: model.ResourceHistory{ID: rsc, Class: "ocf", Type: "x"},
			Op: model.OpRecord{Operation: name, CallID: call, RC: rc}, FailCountAdd: fails})
	}
	for _, c := range []store.Command{
		store.NewConfigPut(0, cfg, store.Change{}),
		store.NewNodeJoin("n1", store.RoleServer, "a:1"),
		store.NewNodeJoin("n2", store.RoleServer, "a:2"),
		store.NewNodeJoin("n3", store.RoleServer, "a:3"),
		store.NewNodeJoin("w", store.RoleWitness, "a:4"),
		store.NewNodeState("n1", store.StateOnline, store.Lease{}),
		store.NewNodeState("n2", store.StateOnline, store.Lease{}),
		store.NewNodeState("w", store.StateOnline, store.Lease{}),
		op("n1", "web", "start", 1, 0, 0),
		op("n1", "db:0", "promote", 2, 0, 0),
		op("n2", "db:1", "start", 3, 0, 0),
		op("n2", "web", "start", 4, 1, 2),
		op("n2", "web", "stop", 5, 0, 0),
	} {
		if r := st.Apply(c); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	return st
}

func TestMetricsStateFromStore(t *testing.T) {
	st := metricsStore(t)
	got := MetricsState(st.Config(), st.Members(), "n1", true, "n1", time.Now())
	if !got.Quorum || !got.IsLeader || got.Epoch != st.Config().Epoch || got.Epoch == 0 {
		t.Errorf("quorum %v leader %v epoch %d", got.Quorum, got.IsLeader, got.Epoch)
	}
	wantNodes := []metrics.NodeUp{{Name: "n1", Up: true}, {Name: "n2", Up: true}, {Name: "n3", Up: false}, {Name: "w", Up: true}}
	if !slices.Equal(got.Nodes, wantNodes) {
		t.Errorf("nodes %v, want %v", got.Nodes, wantNodes)
	}
	wantActive := []metrics.Active{{Resource: "web", Node: "n1", Role: "Started"}, {Resource: "db", Node: "n1", Role: "Promoted"}, {Resource: "db", Node: "n2", Role: "Unpromoted"}}
	if !slices.Equal(got.Active, wantActive) {
		t.Errorf("active %v, want %v", got.Active, wantActive)
	}
	// n3 and the witness never ran anything: no series for them.
	wantFail := []metrics.FailCount{{Resource: "web", Node: "n1", Count: 0}, {Resource: "web", Node: "n2", Count: 2},
		{Resource: "db", Node: "n1", Count: 0}, {Resource: "db", Node: "n2", Count: 0}}
	if !slices.Equal(got.FailCounts, wantFail) {
		t.Errorf("fail counts %v, want %v", got.FailCounts, wantFail)
	}
	if other := MetricsState(st.Config(), st.Members(), "n1", true, "n2", time.Now()); other.IsLeader {
		t.Error("n2 says it leads while n1 does")
	}
}

func TestMetricsEndpointNeedsToken(t *testing.T) {
	st := metricsStore(t)
	b := NewMemBackend(st, "n1")
	now := time.Now()
	viewer, viewerRec, _ := pki.NewToken(pki.RoleViewer, now, 0)
	ms := metrics.New(func() metrics.State {
		leader, quorum := b.Leader()
		return MetricsState(b.Config(), b.Members(), leader, quorum, "n1", time.Now())
	})
	srv := New(Config{Backend: b, Tokens: pki.NewTokenSet(viewerRec), Node: "n1", Metrics: ms.Handler()})
	get := func(token string) (int, string) {
		r := httptest.NewRequest("GET", "/metrics", nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		b, _ := io.ReadAll(w.Body)
		return w.Code, string(b)
	}
	if code, body := get(""); code != http.StatusUnauthorized || strings.Contains(body, "paceline_") {
		t.Errorf("no token: %d %q", code, body)
	}
	if code, _ := get("not-a-token"); code != http.StatusUnauthorized {
		t.Errorf("bad token: %d", code)
	}
	code, body := get(viewer)
	if code != http.StatusOK {
		t.Fatalf("viewer: %d %s", code, body)
	}
	for _, want := range []string{`paceline_is_leader 1`, `paceline_node_up{node="n3"} 0`,
		`paceline_resource_failcount{node="n2",resource="web"} 2`} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("viewer scrape lacks %q", want)
		}
	}
	// Without a metrics handler the route says so.
	bare := New(Config{Backend: b, Tokens: pki.NewTokenSet(viewerRec)})
	r := httptest.NewRequest("GET", "/metrics", nil)
	r.Header.Set("Authorization", "Bearer "+viewer)
	w := httptest.NewRecorder()
	bare.ServeHTTP(w, r)
	if w.Code != http.StatusNotFound {
		t.Errorf("no metrics: %d", w.Code)
	}
}
