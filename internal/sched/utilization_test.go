package sched

import (
	"testing"

	"github.com/paceline/paceline/internal/model"
)

func TestUtilizationValue(t *testing.T) {
	for in, want := range map[string]int{"8": 8, " 16 ": 16, "-2": -2, "12abc": 12, "abc": 0, "": 0} {
		if got := utilizationValue(in); got != want {
			t.Errorf("utilizationValue(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestCompareNodeCapacities(t *testing.T) {
	a := &node{name: "a", capacity: capacity{"cpu": 4, "mem": 1024}}
	b := &node{name: "b", capacity: capacity{"cpu": 2, "disk": 10}}
	ws := &workingSet{}
	// a: more cpu (-1), more mem (-1); b: more disk (+1).
	if got := ws.compareNodeCapacities(a, b); got != -1 {
		t.Errorf("compare(a, b) = %d, want -1", got)
	}
	if got := ws.compareNodeCapacities(b, a); got != 1 {
		t.Errorf("compare(b, a) = %d, want 1", got)
	}
}

// Each case cites the Pacemaker behaviour it checks.
func TestPlacementStrategy(t *testing.T) {
	cpu := func(v string) map[string]string { return map[string]string{"cpu": v} }
	nodes := func(c1, c2 string) []model.Node {
		return []model.Node{{Name: "node1", Utilization: cpu(c1)}, {Name: "node2", Utilization: cpu(c2)}}
	}
	group := func(id string, members ...model.Resource) model.Resource {
		return model.Resource{ID: id, Kind: model.KindGroup, Children: members}
	}
	cases := []struct {
		name     string
		strategy string
		nodes    []model.Node
		rscs     []model.Resource
		colocs   []model.Colocation
		want     string
	}{{
		name: "default strategy ignores utilization", strategy: "default",
		nodes: nodes("1", "1"),
		rscs:  []model.Resource{dummy("big", cpu("5"))},
		want:  "big=node1",
	}, {
		name: "a node without enough capacity is banned", strategy: "utilization",
		nodes: nodes("1", "8"),
		rscs:  []model.Resource{dummy("big", cpu("5"))},
		want:  "big=node2",
	}, {
		name: "a resource too big for every node stays stopped", strategy: "utilization",
		nodes: nodes("1", "4"),
		rscs:  []model.Resource{dummy("big", cpu("5")), dummy("small", cpu("1"))},
		want:  "small=node1",
	}, {
		name: "capacity is consumed as resources are assigned", strategy: "utilization",
		nodes: nodes("4", "4"),
		rscs:  []model.Resource{dummy("a", cpu("3")), dummy("b", cpu("3"))},
		want:  "a=node1 b=node2",
	}, {
		// pcmk__ban_insufficient_capacity sums the unassigned resources
		// colocated with the one being placed (colocated-utilization-group).
		name: "a colocated chain must fit as a whole", strategy: "utilization",
		nodes: nodes("8", "10"),
		rscs: []model.Resource{dummy("rsc1", cpu("2")),
			group("g1", dummy("rsc2", cpu("2")), dummy("rsc3", cpu("2"))),
			group("g2", dummy("rsc4", cpu("2")), dummy("rsc5", cpu("2")))},
		colocs: []model.Colocation{
			{ID: "g1-with-rsc1", Resource: "g1", With: "rsc1", Score: model.Infinity},
			{ID: "g2-with-g1", Resource: "g2", With: "g1", Score: model.Infinity},
		},
		want: "rsc1=node2 rsc2=node2 rsc3=node2 rsc4=node2 rsc5=node2",
	}, {
		// compare_nodes: balanced prefers the node with more free capacity
		// over the one with fewer resources or the lower name.
		name: "balanced picks the node with most free capacity", strategy: "balanced",
		nodes: nodes("4", "10"),
		rscs:  []model.Resource{dummy("a", cpu("2")), dummy("b", cpu("2")), dummy("c", cpu("2"))},
		want:  "a=node2 b=node2 c=node2",
	}, {
		// cmp_resources: with a strategy, higher priority is placed first.
		name: "priority decides who gets the space", strategy: "utilization",
		nodes: nodes("2", "0"),
		rscs: []model.Resource{dummy("low", cpu("2")),
			func() model.Resource {
				r := dummy("high", cpu("2"))
				r.Meta = map[string]string{"priority": "10"}
				return r
			}()},
		want: "high=node1",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, st := testCluster(map[string]string{"placement-strategy": tc.strategy}, tc.nodes, tc.rscs)
			cfg.Colocations = tc.colocs
			if got := placements(t, cfg, st); got != tc.want {
				t.Errorf("placements = %q, want %q", got, tc.want)
			}
		})
	}
}
