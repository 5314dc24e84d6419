package sched

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/model"
)

// testCluster builds a configuration whose nodes are all online members,
// with fencing disabled and quorum ignored, and the status that says so.
func testCluster(props map[string]string, nodes []model.Node, rscs []model.Resource) (*model.Config, *model.Status) {
	p := map[string]string{"stonith-enabled": "false", "no-quorum-policy": "ignore"}
	for k, v := range props {
		p[k] = v
	}
	cfg := &model.Config{Properties: p, Nodes: nodes, Resources: rscs}
	st := &model.Status{HaveQuorum: true}
	for _, n := range nodes {
		if n.ID == "" {
			n.ID = n.Name
		}
		st.Nodes = append(st.Nodes, model.NodeStatus{Name: n.Name, ID: n.ID, InCluster: "true", Peer: "online", Join: "member", Expected: "member"})
	}
	for i := range cfg.Nodes {
		if cfg.Nodes[i].ID == "" {
			cfg.Nodes[i].ID = cfg.Nodes[i].Name
		}
	}
	return cfg, st
}

func dummy(id string, util map[string]string) model.Resource {
	return model.Resource{ID: id, Kind: model.KindPrimitive, Class: "ocf", Provider: "pacemaker", Type: "Dummy", Utilization: util}
}

// placements runs the scheduler and returns "rsc=node" for every Start
// (or "rsc=" for resources that stay stopped), sorted.
func placements(t *testing.T, cfg *model.Config, st *model.Status) string {
	t.Helper()
	res, err := Schedule(Input{Config: cfg, Status: st, Now: time.Unix(1700000000, 0)})
	if err != nil {
		t.Fatalf("Schedule: %v", err)
	}
	var out []string
	for _, c := range res.Changes {
		if c.Action == "Start" || c.Action == "Move" {
			out = append(out, c.Resource+"="+c.To)
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}
