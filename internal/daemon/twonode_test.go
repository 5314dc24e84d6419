package daemon

import (
	"testing"

	"github.com/paceline/paceline/internal/fence"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/sched"
)

// The two-node race's node priority (docs/two-node.md): the priority meta
// of what runs on the node, inherited from a clone or group, a promoted
// instance one more.
func TestTwoNodePriorityOfRunningResources(t *testing.T) {
	cfg := &model.Config{Resources: []model.Resource{
		{ID: "vip", Kind: model.KindPrimitive, Meta: map[string]string{"priority": "10"}},
		{ID: "db-clone", Kind: model.KindClone, Meta: map[string]string{"priority": "5", "promotable": "true"},
			Children: []model.Resource{{ID: "db", Kind: model.KindPrimitive}}},
		{ID: "web", Kind: model.KindPrimitive},
	}}
	view := []sched.ResourceView{
		{ID: "vip", Role: "Started", Nodes: []string{"n1"}},
		{ID: "db-clone", Children: []sched.ResourceView{
			{ID: "db:0", Role: "Promoted", Nodes: []string{"n2"}},
			{ID: "db:1", Role: "Unpromoted", Nodes: []string{"n1"}},
		}},
		{ID: "web", Role: "Started", Nodes: []string{"n2"}},
	}
	for node, want := range map[string]int{"n1": 15, "n2": 6, "n3": 0} {
		if got := fence.NodePriority(running(cfg, view, node, 0)); got != want {
			t.Errorf("%s: priority %d, want %d", node, got, want)
		}
	}
	if ps := pingResources([]model.Resource{{ID: "gw-clone", Kind: model.KindClone, Children: []model.Resource{
		{ID: "gw", Kind: model.KindPrimitive, Class: "builtin", Type: "ping"}}}, cfg.Resources[0]}); len(ps) != 1 || ps[0].ID != "gw" {
		t.Errorf("ping resources %v", ps)
	}
}
