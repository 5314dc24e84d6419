package sched

import (
	"testing"

	"github.com/paceline/paceline/internal/model"
)

func TestNodeHealthScore(t *testing.T) {
	custom := map[string]string{"node-health-red": "-500", "node-health-yellow": "-10", "node-health-green": "5"}
	cases := []struct {
		strategy string
		props    map[string]string
		attrs    map[string]string
		base     model.Score
		want     model.Score
	}{
		{"migrate-on-red", nil, map[string]string{"#health-ipmi": "red"}, 0, -model.Infinity},
		{"migrate-on-red", nil, map[string]string{"#health-ipmi": "yellow"}, 0, 0},
		{"only-green", nil, map[string]string{"#health-ipmi": "yellow"}, 0, -model.Infinity},
		{"only-green", nil, map[string]string{"#health-ipmi": "green", "other": "red"}, 0, 0},
		// progressive and custom take the colours from the options.
		{"progressive", custom, map[string]string{"#health-a": "yellow", "#health-b": "green"}, 0, -5},
		{"custom", custom, map[string]string{"#health-a": "red"}, 0, -500},
		{"progressive", custom, map[string]string{"#health-a": "-30"}, 100, 70},
	}
	for _, tc := range cases {
		ws := &workingSet{props: tc.props}
		if ws.props == nil {
			ws.props = map[string]string{}
		}
		n := &node{name: "n", attrs: tc.attrs}
		got := nodeHealth(n, ws.healthColours(parseHealthStrategy(tc.strategy)), tc.base)
		if got != tc.want {
			t.Errorf("%s %v: health = %s, want %s", tc.strategy, tc.attrs, got, tc.want)
		}
	}
}

// A red node repels every resource under migrate-on-red, except those
// with allow-unhealthy-nodes=true (pcmk__apply_node_health).
func TestNodeHealthPlacement(t *testing.T) {
	nodes := []model.Node{
		{Name: "node1", Attributes: map[string]string{"#health-disk": "red"}},
		{Name: "node2"},
	}
	careless := dummy("careless", nil)
	careless.Meta = map[string]string{"allow-unhealthy-nodes": "true"}
	// Put both on node1 by preference, then see health override it.
	cfg, st := testCluster(map[string]string{"node-health-strategy": "migrate-on-red"}, nodes,
		[]model.Resource{dummy("careful", nil), careless})
	cfg.Locations = []model.Location{
		{ID: "l1", Resource: "careful", Node: "node1", Score: 100},
		{ID: "l2", Resource: "careless", Node: "node1", Score: 100},
	}
	if got, want := placements(t, cfg, st), "careful=node2 careless=node1"; got != want {
		t.Errorf("placements = %q, want %q", got, want)
	}
}
