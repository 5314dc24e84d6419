package sched

import "github.com/paceline/paceline/internal/model"

// Unfencing (Pacemaker's pe_flag_enable_unfencing): fence devices that
// say provides=unfencing (fence_mpath, fence_scsi: a node must register
// with the shared storage before it may use it) make every other
// resource require unfencing, and a node must be unfenced (a fence "on")
// before such a resource, or a fence device, is probed or started there.
// A node is unfenced once its #node-unfenced attribute is set (the
// cluster sets it after a successful unfence); until then the unfence is
// required, otherwise it is only ordered.

// unfencedAttr is the node attribute the cluster sets after unfencing a
// node (CRM_ATTR_UNFENCED).
const unfencedAttr = "#node-unfenced"

// unfencingDevices reports whether a fence device of the configuration
// provides unfencing (meta provides=unfencing) while fencing is enabled.
func (ws *workingSet) unfencingDevices() bool {
	if !ws.stonithEnabled {
		return false
	}
	for _, r := range ws.cfg.FenceDevices() {
		if r.Meta["provides"] == "unfencing" {
			return true
		}
	}
	return false
}

// nodeUnfenced is pcmk__node_unfenced: the node's #node-unfenced
// attribute is set and not "0".
func nodeUnfenced(n *node) bool {
	v, ok := n.attrs[unfencedAttr]
	return ok && v != "0"
}

// unfenceAction returns the node's unfence ("on") action, created
// optional.
func (ws *workingSet) unfenceAction(n *node) *Action {
	key := "stonith-" + n.name + "-on"
	for _, a := range ws.actions {
		if a.key == key {
			return a
		}
	}
	ws.nextActionID++
	a := &Action{ID: ws.nextActionID, key: key, Task: "stonith", node: n, Node: n.name, fenceAction: "on"}
	a.set(afRunnable | afOptional)
	ws.actions = append(ws.actions, a)
	return a
}

// orderVsUnfence is pcmk__order_vs_unfence: when unfencing is in use,
// the node's unfencing goes before action (a probe or start of r on n)
// for a resource that requires unfencing and for fence devices (agents
// that unfence often cannot even probe before); it is required, with the
// reason "required by RSC TASK", when the node was never unfenced.
func (ws *workingSet) orderVsUnfence(r *resource, n *node, action *Action, flags orderFlags) {
	isFence := r.cfg != nil && r.cfg.Class == "stonith"
	if !ws.enableUnfencing || (!isFence && !r.needsUnfencing) || n.remote {
		return
	}
	u := ws.unfenceAction(n)
	orderActions(u, action, flags)
	if !nodeUnfenced(n) && n.online {
		// trigger_unfencing: a node that was never unfenced must be.
		if u.is(afOptional) {
			u.clear(afOptional)
			u.reason = "required by " + r.id + " " + action.Task
		}
	}
}

// unfenceChanged is Pacemaker 2.1's unfencing after a device change: a
// node unfenced while the unfencing devices were defined otherwise (its
// model.UnfenceDigestsAttr differs from the configuration's; a node
// without the attribute is taken as current) is unfenced again, and the
// starts there of resources that require unfencing wait for it.
func (ws *workingSet) unfenceChanged() {
	if !ws.enableUnfencing {
		return
	}
	want := ws.cfg.UnfencingDigests()
	for _, n := range ws.nodes {
		got, ok := n.attrs[model.UnfenceDigestsAttr]
		if !ok || got == want || !n.online || n.remote || n.unclean || !nodeUnfenced(n) {
			continue
		}
		u := ws.unfenceAction(n)
		if u.is(afOptional) {
			u.clear(afOptional)
			u.reason = "its unfencing devices changed"
		}
		for _, r := range ws.resources {
			for _, p := range r.primitives() {
				isFence := p.cfg != nil && p.cfg.Class == "stonith"
				if !isFence && !p.needsUnfencing {
					continue
				}
				for _, a := range p.actions {
					if a.node == n && a.Task == "start" {
						orderActions(u, a, ofOptional)
					}
				}
			}
		}
	}
}
