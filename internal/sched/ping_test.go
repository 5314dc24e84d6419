package sched

import (
	"testing"
	"time"

	"github.com/paceline/paceline/internal/model"
)

// A ping node (a witness: it votes, runs nothing) is never given a
// resource, not even the one a location constraint prefers it for, is
// never probed, and is not fenced when it drops out.
func TestPingNodeRunsNothing(t *testing.T) {
	for _, lost := range []bool{false, true} {
		cfg, st := testCluster(map[string]string{"stonith-enabled": "true", "have-watchdog": "true"},
			[]model.Node{{Name: "n1"}, {Name: "w", Type: model.NodePing}}, []model.Resource{dummy("web", nil)})
		cfg.Locations = []model.Location{{ID: "web-prefers-w", Resource: "web", Node: "w", Score: 1000}}
		if lost {
			st.Nodes[1].InCluster, st.Nodes[1].Peer, st.Nodes[1].Join = "false", "offline", "down"
		}
		if got := placements(t, cfg, st); got != "web=n1" {
			t.Errorf("lost=%v: placements %q, want web=n1", lost, got)
		}
		res, err := Schedule(Input{Config: cfg, Status: st, Now: time.Unix(1700000000, 0)})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range res.Actions {
			if a.Node == "w" && (a.Runnable || a.Task == "stonith") && !a.Optional {
				t.Errorf("lost=%v: action on the ping node: %s %s", lost, a.Task, a.Resource)
			}
		}
	}
}
