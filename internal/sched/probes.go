package sched

import "sort"

// Probes: before a resource may start anywhere, the scheduler asks every
// node whose state for it is unknown whether it is already running there
// (a one-shot monitor, "probe"). Probes never appear in the Transition
// Summary, but a start waits for them, and a probe that cannot run keeps a
// resource that is not active anywhere from starting.

// scheduleProbes is pcmk__schedule_probes.
func (ws *workingSet) scheduleProbes() {
	if !ws.enableProbes {
		return
	}
	for _, n := range ws.nodes {
		if !n.online || n.unclean {
			continue
		}
		if v, ok := n.attrs["resource-discovery-enabled"]; ok && !isTrue(v) && n.remote {
			continue
		}
		if v, ok := n.attrs["probe_complete"]; ok && v != "" && !isTrue(v) {
			// Old saved CIBs: a full re-probe of the node was requested.
			continue
		}
		for _, r := range ws.resources {
			ws.probeOnNode(r, n)
		}
	}
}

// probeOnNode is pcmk__probe_rsc_on_node.
func (ws *workingSet) probeOnNode(r *resource, n *node) bool {
	if n.remote {
		switch {
		case r.cfg != nil && r.cfg.Class == "stonith":
			return false
		case r.isRemoteConn():
			return false
		}
	}
	if r.variant == vClone {
		return ws.probeClone(r, n)
	}
	if len(r.children) > 0 {
		any := false
		for _, c := range r.children {
			if ws.probeOnNode(c, n) {
				any = true
			}
		}
		return any
	}
	if r.container != nil && !r.isRemoteConn() {
		return false
	}
	if r.orphan || r.knownOn[n] {
		return false
	}
	top := r.top()
	allowed := r.allowed.get(n)
	if r.exclusiveDiscover || top.exclusiveDiscover {
		if allowed == nil || r.discovery[n] != discoverExclusive {
			return false
		}
	}
	if r.discovery[n] == discoverNever {
		return false
	}
	probe := ws.customAction(r, opKey(r.id, "monitor", 0), "monitor", n, false)
	probe.clear(afOptional)
	target := r
	if top.variant == vClone {
		target = top
	}
	flags := ofOptional
	if !probe.is(afRunnable) && len(r.runningOn) == 0 {
		flags |= ofRunnableLeft
	}
	ws.newOrdering(r, "", probe, target, opKey(target.id, "start", 0), nil, flags)
	ws.orderVsUnfence(r, n, probe, ofOptional)
	return true
}

// probeClone is clone_create_probe: every instance of a unique clone, but
// only one instance of an anonymous clone — the one known on the node, else
// the one to be placed there, else the first.
func (ws *workingSet) probeClone(r *resource, n *node) bool {
	sort.SliceStable(r.children, func(i, j int) bool { return r.children[i].instanceNum < r.children[j].instanceNum })
	if len(r.children) == 0 {
		return false
	}
	if r.exclusiveDiscover {
		if w := r.allowed.get(n); w != nil && r.discovery[n] != discoverExclusive {
			return false
		}
	}
	if r.unique {
		any := false
		for _, c := range r.children {
			if ws.probeOnNode(c, n) {
				any = true
			}
		}
		return any
	}
	var child *resource
	for _, c := range r.children {
		if knownOn(c, n) {
			child = c
			break
		}
	}
	if child == nil {
		for _, c := range r.children {
			if c.location() == n {
				child = c
			}
		}
	}
	if child == nil {
		child = r.children[0]
	}
	return ws.probeOnNode(child, n)
}

// knownOn is rsc_known_on: whether a resource's state on n is known.
func knownOn(r *resource, n *node) bool {
	if len(r.children) > 0 {
		for _, c := range r.children {
			if knownOn(c, n) {
				return true
			}
		}
		return false
	}
	return r.knownOn[n]
}
