package sched

import (
	"maps"

	"github.com/paceline/paceline/internal/model"
)

// Instance describes one primitive (or clone instance of a primitive) as
// the scheduler resolved it, for the plan layer to build executable
// operations from: its agent, the instance parameters on each node that
// matters (rules evaluated there), its meta-attributes, its clone's
// numbers, where it runs now and where it is going.
type Instance struct {
	// ID is the scheduler's id ("web", "db:1").
	ID string
	// HistoryID is the id operations are recorded under on the node: the
	// base id for an anonymous clone instance (as Pacemaker's lrm history
	// keeps "db", not "db:1"), the instance id for a unique one, the id
	// otherwise.
	HistoryID string
	// Class, Provider and Type name the agent.
	Class, Provider, Type string
	// Clone is the enclosing clone's id ("" when not cloned).
	Clone string
	// Unique is the clone's globally-unique; Promotable and Notify its
	// meta-attributes.
	Unique, Promotable, Notify bool
	// CloneMax, CloneNodeMax, PromotedMax and PromotedNodeMax are the
	// clone's numbers (zero when not cloned).
	CloneMax, CloneNodeMax, PromotedMax, PromotedNodeMax int
	// Meta are the effective meta-attributes (the enclosing group's and
	// clone's included).
	Meta map[string]string
	// Ops are the configured operations.
	Ops []model.Op
	// Running lists the nodes the instance is active on now; Role is its
	// current role.
	Running []string
	Role    Role
	// Next is the node it is assigned to ("" when it is to stop); NextRole
	// the role it is to have there.
	Next     string
	NextRole Role
	// Orphan says the configuration no longer has the resource.
	Orphan bool
	// Managed is false for an unmanaged (or maintenance) resource.
	Managed bool
	// Params are the instance parameters evaluated for each node the
	// instance runs on, is assigned to, or has an action on.
	Params map[string]map[string]string
}

// exportInstances describes every primitive the plan may act on.
func (ws *workingSet) exportInstances() map[string]*Instance {
	out := map[string]*Instance{}
	var walk func(r *resource)
	walk = func(r *resource) {
		if r.variant != vPrimitive {
			for _, c := range r.children {
				walk(c)
			}
			return
		}
		if r.cfg == nil || r.implicit {
			return
		}
		in := &Instance{
			ID: r.id, Class: r.cfg.Class, Provider: r.cfg.Provider, Type: r.cfg.Type,
			Meta: maps.Clone(r.meta), Ops: r.ops, Role: r.role, NextRole: r.nextRole,
			Orphan: r.orphan, Managed: r.managed, HistoryID: r.id,
			Params: map[string]map[string]string{},
		}
		if clone := r.cloneParent(); clone != nil {
			in.Clone = clone.id
			in.Unique = clone.unique
			in.Promotable = clone.promotable
			in.Notify = clone.notify
			in.CloneMax, in.CloneNodeMax = clone.cloneMax, clone.cloneNodeMax
			in.PromotedMax, in.PromotedNodeMax = clone.promotedMax, clone.promotedNodeMax
			if !clone.unique {
				in.HistoryID = baseID(r.id)
			}
		}
		var nodes []*node
		for _, n := range r.runningOn {
			in.Running = append(in.Running, n.name)
			nodes = append(nodes, n)
		}
		if r.assigned != nil {
			in.Next = r.assigned.name
			nodes = append(nodes, r.assigned)
		}
		for _, a := range r.actions {
			if a.node != nil {
				nodes = append(nodes, a.node)
			}
		}
		for _, n := range nodes {
			if _, ok := in.Params[n.name]; !ok {
				in.Params[n.name] = ws.params(r, n)
			}
		}
		out[r.id] = in
	}
	for _, r := range ws.resources {
		walk(r)
	}
	return out
}

// cloneParent returns the clone r is an instance (or an instance's
// member) of, or nil.
func (r *resource) cloneParent() *resource {
	for p := r.parent; p != nil; p = p.parent {
		if p.variant == vClone {
			return p
		}
	}
	return nil
}

// OpParams returns a configured operation's own instance parameters
// (OCF_CHECK_LEVEL given on the op, say) merged over params: an op's
// parameters override the resource's for that operation only.
func OpParams(params map[string]string, o *model.Op) map[string]string {
	out := maps.Clone(params)
	if out == nil {
		out = map[string]string{}
	}
	if o != nil {
		for _, nv := range o.Params {
			out[nv.Name] = nv.Value
		}
	}
	return out
}

// ParseRole returns the role a configuration names (Master and Slave are
// accepted as Promoted and Unpromoted); RoleUnknown for an empty or
// unknown name.
func ParseRole(s string) Role { return parseRole(s) }
