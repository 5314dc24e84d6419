package sched

import "github.com/paceline/paceline/internal/model"

// Resource discovery modes of location constraints (resource-discovery).
// A node's mode for a resource is the strongest any location constraint
// gives it: always < never < exclusive. A resource with any exclusive
// location may run only on nodes where its discovery is exclusive.

type discoverMode int

const (
	discoverAlways discoverMode = iota
	discoverNever
	discoverExclusive
)

func parseDiscoverMode(s string) discoverMode {
	switch s {
	case "never":
		return discoverNever
	case "exclusive":
		return discoverExclusive
	}
	return discoverAlways
}

// noteDiscovery records location l's discovery mode for node n of r.
func (r *resource) noteDiscovery(n *node, l *location) {
	m := parseDiscoverMode(l.discovery)
	if m == discoverAlways {
		return
	}
	if r.discovery == nil {
		r.discovery = map[*node]discoverMode{}
	}
	if r.discovery[n] < m {
		r.discovery[n] = m
		if m == discoverExclusive {
			r.exclusiveDiscover = true
		}
	}
}

// applyExclusiveDiscovery is apply_exclusive_discovery: a resource with
// exclusive discovery (itself or its top-level parent) is banned from
// node n unless n is one of its exclusive nodes.
func (ws *workingSet) applyExclusiveDiscovery(r *resource, n *node) {
	if !r.exclusiveDiscover && !r.top().exclusiveDiscover {
		return
	}
	for _, c := range r.children {
		ws.applyExclusiveDiscovery(c, n)
	}
	if w := r.allowed.get(n); w != nil && r.discovery[n] != discoverExclusive {
		w.score = -model.Infinity
		r.contrib(n, -model.Infinity, "resource-discovery=exclusive names other nodes")
	}
}
