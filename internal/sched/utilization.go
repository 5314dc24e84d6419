package sched

import (
	"sort"
	"strconv"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// Utilization and placement-strategy.
//
// With placement-strategy=default (the default) utilization is ignored.
// With any other strategy (utilization, minimal, balanced):
//
//   - every node starts with the capacity its utilization attributes give,
//     and each resource assigned to it consumes its own utilization
//     (consumeCapacity);
//   - before a primitive picks a node, nodes without enough remaining
//     capacity for it and every unassigned resource that must run with it
//     are banned (banInsufficientCapacity); if no node could take them
//     all, only nodes too small for the primitive alone are banned, and
//     the node with the most free capacity becomes the preferred node;
//   - top-level resources are assigned in order of priority, then of
//     their score on their current node, then of their scores on the
//     nodes in order (sortResourcesForPlacement);
//   - balanced also prefers, among equally scored nodes, the one with
//     more free capacity (compareNodeCapacities).
//
// A resource that gives up an assignment releases its capacity again.

// capacity is a set of utilization amounts by attribute name.
type capacity map[string]int

// utilizationValue reads a utilization amount as Pacemaker does: a leading
// integer; anything else counts as 0.
func utilizationValue(s string) int {
	s = strings.TrimSpace(s)
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || end == 0 && (s[end] == '-' || s[end] == '+')) {
		end++
	}
	v, err := strconv.Atoi(s[:end])
	if err != nil {
		return 0
	}
	return v
}

func parseCapacity(m map[string]string) capacity {
	c := make(capacity, len(m))
	for k, v := range m {
		c[k] = utilizationValue(v)
	}
	return c
}

// usesUtilization reports whether the placement strategy takes
// utilization into account.
func (ws *workingSet) usesUtilization() bool {
	return ws.placementStrategy != "default"
}

// remaining returns the node's remaining capacity, initialised from its
// configured utilization on first use.
func (ws *workingSet) remaining(n *node) capacity {
	if n.capacity == nil {
		var cfg map[string]string
		if n.index < len(ws.cfg.Nodes) && ws.cfg.Nodes[n.index].Name == n.name {
			cn := &ws.cfg.Nodes[n.index]
			cfg = ws.mergeSets(cn.UtilizationSets, cn.Utilization, "", ruleContext{})
		}
		n.capacity = parseCapacity(cfg)
	}
	return n.capacity
}

// utilization returns the resource's own configured utilization.
func (r *resource) utilization() capacity {
	if r.cfg == nil {
		return capacity{}
	}
	return parseCapacity(r.ws.mergeSets(r.cfg.UtilizationSets, r.cfg.Utilization, "", ruleContext{}))
}

// compareNodeCapacities is negative when a has more free capacity than b,
// positive when b has more, counting one per attribute that differs.
func (ws *workingSet) compareNodeCapacities(a, b *node) int {
	ca, cb := ws.remaining(a), ws.remaining(b)
	result := 0
	cmp := func(x, y int) {
		if x > y {
			result--
		} else if x < y {
			result++
		}
	}
	for k, v := range ca {
		cmp(v, cb[k])
	}
	for k, v := range cb {
		if _, ok := ca[k]; !ok {
			cmp(0, v)
		}
	}
	return result
}

// consumeCapacity subtracts the resource's utilization from the node's
// remaining capacity. An attribute the node lacks becomes 0.
func (ws *workingSet) consumeCapacity(n *node, r *resource) {
	if !ws.usesUtilization() || n == nil {
		return
	}
	rem := ws.remaining(n)
	for k, v := range r.utilization() {
		if cur, ok := rem[k]; ok {
			rem[k] = cur - v
		} else {
			rem[k] = 0
		}
	}
}

// releaseCapacity gives the resource's utilization back to the node.
func (ws *workingSet) releaseCapacity(n *node, r *resource) {
	if !ws.usesUtilization() || n == nil {
		return
	}
	rem := ws.remaining(n)
	for k, v := range r.utilization() {
		rem[k] += v
	}
}

// hasEnoughCapacity reports whether every amount in need fits on n.
func (ws *workingSet) hasEnoughCapacity(n *node, need capacity) bool {
	rem := ws.remaining(n)
	for k, v := range need {
		if v > rem[k] {
			return false
		}
	}
	return true
}

// colocatedResources lists r and the resources that must run on the same
// node as r through mandatory colocations, transitively
// (pcmk__colocated_resources and its group variant).
func (ws *workingSet) colocatedResources(r, orig *resource, list []*resource) []*resource {
	if orig == nil {
		orig = r
	}
	if r.variant == vGroup {
		colocated := r.meta["collocated"] == "" || isTrue(r.meta["collocated"])
		if colocated || (r.parent != nil && r.parent.variant == vClone) {
			if containsResource(list, r) {
				return list
			}
			list = append([]*resource{r}, list...)
			for _, m := range r.children {
				list = ws.colocatedResources(m, orig, list)
			}
			// The group's own colocations count as its members'.
			return ws.addColocatedVia(r, orig, list)
		}
		if len(r.children) == 0 {
			return list
		}
	}
	if containsResource(list, r) {
		return list
	}
	list = append(list, r)
	return ws.addColocatedVia(r, orig, list)
}

// addColocatedVia follows r's own mandatory colocations for
// colocatedResources.
func (ws *workingSet) addColocatedVia(r, orig *resource, list []*resource) []*resource {
	for _, c := range r.thisWith {
		if c.primary == orig {
			continue
		}
		if c.score >= model.Infinity && ws.filterColocation(r, c.primary, c, true) == influenceLocation {
			list = ws.colocatedResources(c.primary, orig, list)
		}
	}
	for _, c := range r.withThis {
		if c.dependent == orig {
			continue
		}
		if r.variant == vClone && c.dependent.variant != vClone {
			continue
		}
		if c.score >= model.Infinity && ws.filterColocation(c.dependent, r, c, true) == influenceLocation {
			list = ws.colocatedResources(c.dependent, orig, list)
		}
	}
	return list
}

func containsResource(list []*resource, r *resource) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}

// addUnassignedUtilization adds to sum the utilization of r's parts that
// are still unassigned and not listed separately in all.
func (ws *workingSet) addUnassignedUtilization(r *resource, all []*resource, sum capacity) {
	if !r.provisional {
		return
	}
	switch r.variant {
	case vPrimitive:
		for k, v := range r.utilization() {
			sum[k] += v
		}
	case vGroup:
		colocated := r.meta["collocated"] == "" || isTrue(r.meta["collocated"])
		members := r.children
		if !colocated && !(r.parent != nil && r.parent.variant == vClone) && len(members) > 0 {
			members = members[:1]
		}
		for _, m := range members {
			if m.provisional && !containsResource(all, m) {
				ws.addUnassignedUtilization(m, all, sum)
			}
		}
	case vClone:
		for _, c := range r.children {
			if containsResource(all, c) {
				return
			}
			for _, m := range c.children {
				if containsResource(all, m) {
					return
				}
			}
		}
		if len(r.children) > 0 {
			ws.addUnassignedUtilization(r.children[0], all, sum)
		}
	}
}

// banInsufficientCapacity bans r from nodes that lack the capacity for it
// and its unassigned colocated resources (pcmk__ban_insufficient_capacity).
// When no node can take them all, it bans only nodes too small for r alone
// and returns the node with the most free capacity.
func (ws *workingSet) banInsufficientCapacity(r *resource) *node {
	if !ws.usesUtilization() {
		return nil
	}
	list := ws.colocatedResources(r, nil, nil)
	if len(list) == 0 {
		return nil
	}
	if !containsResource(list, r) {
		list = append(list, r)
	}
	need := capacity{}
	for _, x := range list {
		ws.addUnassignedUtilization(x, list, need)
	}
	anyCapable := false
	var mostCapable *node
	r.allowed.each(func(w *weighted) {
		if !nodeAvailable(w, true) {
			return
		}
		if ws.hasEnoughCapacity(w.n, need) {
			anyCapable = true
		}
		if mostCapable == nil || ws.compareNodeCapacities(w.n, mostCapable) < 0 {
			mostCapable = w.n
		}
	})
	what, why := need, r.id+" and its colocated resources"
	if !anyCapable {
		what, why = r.utilization(), r.id
	}
	var banned []*node
	r.allowed.each(func(w *weighted) {
		if nodeAvailable(w, true) && !ws.hasEnoughCapacity(w.n, what) {
			banned = append(banned, w.n)
		}
	})
	for _, n := range banned {
		ws.addLocationOne(r, n, -model.Infinity, "not enough capacity for "+why)
	}
	if anyCapable {
		return nil
	}
	return mostCapable
}

// sortResourcesForPlacement orders top-level resources for assignment when
// utilization matters (pcmk__sort_resources): priority first, then the
// score (including colocated preferences) on the current node, then the
// scores on each node, nodes taken best first.
func (ws *workingSet) sortResourcesForPlacement() {
	if !ws.usesUtilization() {
		return
	}
	nodes := make([]*weighted, 0, len(ws.nodes))
	for _, n := range ws.nodes {
		nodes = append(nodes, &weighted{n: n, score: n.score})
	}
	sort.SliceStable(nodes, func(i, j int) bool { return ws.compareNodes(nodes[i], nodes[j], nil) < 0 })
	scores := map[*resource]*nodeTable{}
	for _, r := range ws.resources {
		scores[r] = ws.mergeWeights(r, r.id, nil, "", 1, mwInit|mwForward, nil)
	}
	scoreOn := func(r *resource, n *node) model.Score {
		if n == nil {
			return -model.Infinity
		}
		if w := scores[r].get(n); w != nil {
			return w.score
		}
		return -model.Infinity
	}
	cmp := func(a, b *resource) int {
		if a.priority != b.priority {
			if a.priority > b.priority {
				return -1
			}
			return 1
		}
		if sa, sb := scoreOn(a, a.current()), scoreOn(b, b.current()); sa != sb {
			if sa > sb {
				return -1
			}
			return 1
		}
		for _, w := range nodes {
			if sa, sb := scoreOn(a, w.n), scoreOn(b, w.n); sa != sb {
				if sa > sb {
					return -1
				}
				return 1
			}
		}
		return 0
	}
	sort.SliceStable(ws.resources, func(i, j int) bool { return cmp(ws.resources[i], ws.resources[j]) < 0 })
}
