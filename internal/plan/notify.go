package plan

import (
	"slices"
	"sort"
	"strings"

	"github.com/paceline/paceline/internal/sched"
)

// phases are the notified operations in the order a transition runs them
// (Pacemaker: demote, stop, start, promote).
var phases = []string{Demote, Stop, Start, Promote}

// member is one instance of a clone, active on a node in a role.
type member struct {
	in   *sched.Instance
	node string
	role sched.Role
}

// notifications adds the pre and post notify actions of every clone with
// notify=true around the demotes, stops, starts and promotes of its
// instances in this plan.
func (b *builder) notifications() {
	clones := map[string][]*sched.Instance{}
	for _, id := range sortedKeys(b.in.Result.Instances) {
		in := b.in.Result.Instances[id]
		if in.Clone != "" && in.Notify && !in.Orphan {
			clones[in.Clone] = append(clones[in.Clone], in)
		}
	}
	for _, clone := range sortedKeys(clones) {
		b.notifyClone(clones[clone])
	}
}

func (b *builder) notifyClone(insts []*sched.Instance) {
	ours := map[string]*sched.Instance{}
	for _, in := range insts {
		ours[in.ID] = in
	}
	byKind := map[string][]*Action{}
	for _, a := range b.p.Actions {
		if ours[a.Resource] != nil {
			switch a.Kind {
			case Demote, Stop, Start, Promote:
				byKind[a.Kind] = append(byKind[a.Kind], a)
			}
		}
	}
	if len(byKind) == 0 {
		return
	}
	// The active set before the transition.
	var active []member
	for _, in := range insts {
		for _, n := range in.Running {
			active = append(active, member{in: in, node: n, role: in.Role})
		}
	}
	vars := notifyVars(insts, active, byKind)
	// The clone's own actions carry the same lists (Pacemaker adds the
	// notification data to their meta-attributes too): an agent learns at
	// start who the promoted instance is (ocf:heartbeat:mysql starts a
	// returning node as a replica of notify_master_uname).
	for _, acts := range byKind {
		for _, a := range acts {
			if a.Meta == nil {
				a.Meta = map[string]string{}
			}
			for k, v := range vars {
				if _, set := a.Meta[k]; !set {
					a.Meta[k] = v
				}
			}
		}
	}
	var prevPost []int
	// postOf maps each action of the clone's phases to the post
	// notifications of its phase.
	postOf := map[int][]int{}
	for _, k := range phases {
		acts := byKind[k]
		if len(acts) == 0 {
			continue
		}
		pre := b.notifyAll(active, k, "pre", vars, prevPost)
		for _, a := range acts {
			a.After = append(a.After, pre...)
		}
		active = applyPhase(active, k, acts, ours)
		var ids []int
		for _, a := range acts {
			ids = append(ids, a.ID)
		}
		ids = append(ids, pre...)
		post := b.notifyAll(active, k, "post", vars, ids)
		prevPost = post
		if len(post) == 0 {
			prevPost = ids
		}
		for _, a := range acts {
			postOf[a.ID] = post
		}
	}
	// What waits for the clone's demotes, stops, starts or promotes (a
	// group ordered after the promote, say) waits for the post
	// notifications of that phase too, as Pacemaker orders the "then" of
	// a clone's action after its confirmed-post notify: an agent that
	// learns of its peers in the post notification (a database's
	// replication set-up) is ready before what depends on it starts. The
	// clone's own actions and recurring monitors keep their order.
	for _, a := range b.p.Actions {
		if ours[a.Resource] != nil {
			continue
		}
		seen := map[int]bool{}
		for _, dep := range slices.Clone(a.After) {
			for _, id := range postOf[dep] {
				if !seen[id] {
					seen[id] = true
					a.After = append(a.After, id)
				}
			}
		}
	}
}

// notifyAll adds one notify action per active member; each waits for
// after. It returns their ids.
func (b *builder) notifyAll(active []member, op, typ string, vars map[string]string, after []int) []int {
	var ids []int
	for _, m := range active {
		a := b.instanceAction(m.in, Notify, m.node, 0, "")
		for k, v := range vars {
			a.Meta[k] = v
		}
		a.Meta["notify_type"] = typ
		a.Meta["notify_operation"] = op
		a.Meta["notify_key_type"] = typ
		a.Meta["notify_key_operation"] = op
		a.ID = b.newID()
		a.After = append([]int(nil), after...)
		a.Reason = typ + "-" + op + " notification"
		b.add(a)
		ids = append(ids, a.ID)
	}
	return ids
}

// applyPhase returns the active set after the actions of one phase.
func applyPhase(active []member, kind string, acts []*Action, ours map[string]*sched.Instance) []member {
	out := make([]member, 0, len(active)+len(acts))
	for _, m := range active {
		keep := true
		for _, a := range acts {
			if a.Resource != m.in.ID || a.Node != m.node {
				continue
			}
			switch kind {
			case Stop:
				keep = false
			case Promote:
				m.role = sched.RolePromoted
			case Demote:
				m.role = sched.RoleUnpromoted
			}
		}
		if keep {
			out = append(out, m)
		}
	}
	if kind == Start {
		for _, a := range acts {
			in := ours[a.Resource]
			role := sched.RoleStarted
			if in.Promotable {
				role = sched.RoleUnpromoted
			}
			out = append(out, member{in: in, node: a.Node, role: role})
		}
	}
	return out
}

// notifyVars are the CRM_meta_notify_* lists Pacemaker gives every
// notification of one clone in one transition: what starts, stops, is
// promoted and demoted, and what is active, inactive, promoted and
// unpromoted now (space-separated instance ids and node names).
func notifyVars(insts []*sched.Instance, active []member, byKind map[string][]*Action) map[string]string {
	v := map[string]string{}
	list := func(name string, ms []member) {
		var rs, us []string
		sort.Slice(ms, func(i, j int) bool { return ms[i].in.ID < ms[j].in.ID })
		for _, m := range ms {
			rs = append(rs, m.in.ID)
			us = append(us, m.node)
		}
		v["notify_"+name+"_resource"] = strings.Join(rs, " ")
		v["notify_"+name+"_uname"] = strings.Join(us, " ")
	}
	byID := map[string]*sched.Instance{}
	for _, in := range insts {
		byID[in.ID] = in
	}
	for _, k := range phases {
		var ms []member
		for _, a := range byKind[k] {
			ms = append(ms, member{in: byID[a.Resource], node: a.Node})
		}
		list(k, ms)
	}
	list("active", active)
	var inactive, promoted, unpromoted []member
	isActive := map[string]bool{}
	for _, m := range active {
		isActive[m.in.ID] = true
		switch m.role {
		case sched.RolePromoted:
			promoted = append(promoted, m)
		case sched.RoleUnpromoted, sched.RoleStarted:
			if m.in.Promotable {
				unpromoted = append(unpromoted, m)
			}
		}
	}
	for _, in := range insts {
		if !isActive[in.ID] {
			inactive = append(inactive, member{in: in})
		}
	}
	list("inactive", inactive)
	list("promoted", promoted)
	list("unpromoted", unpromoted)
	v["notify_master_resource"], v["notify_master_uname"] = v["notify_promoted_resource"], v["notify_promoted_uname"]
	v["notify_slave_resource"], v["notify_slave_uname"] = v["notify_unpromoted_resource"], v["notify_unpromoted_uname"]
	// Where instances may run: every node named anywhere above.
	nodes := map[string]bool{}
	for _, in := range insts {
		for n := range in.Params {
			nodes[n] = true
		}
	}
	v["notify_all_uname"] = strings.Join(sortedKeys(nodes), " ")
	v["notify_available_uname"] = v["notify_all_uname"]
	// Pacemaker leaves the node lists of inactive instances empty.
	v["notify_inactive_uname"] = ""
	return v
}
