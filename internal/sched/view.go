package sched

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// ClusterView is a display snapshot of nodes and resources.
type ClusterView struct {
	Nodes     []NodeView     `json:"nodes"`
	Resources []ResourceView `json:"resources"`
}

// NodeView is one node's state: online, offline, standby, maintenance,
// unclean or pending.
type NodeView struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

// ResourceView is one resource; collective resources have Children.
type ResourceView struct {
	ID       string         `json:"id"`
	Kind     string         `json:"kind"`
	Agent    string         `json:"agent,omitempty"`
	Role     string         `json:"role"`
	Nodes    []string       `json:"nodes,omitempty"`
	Failed   bool           `json:"failed,omitempty"`
	Managed  bool           `json:"managed"`
	Children []ResourceView `json:"children,omitempty"`
}

func nodeState(n *node) string {
	switch {
	case n.unclean && !n.online:
		return "UNCLEAN (offline)"
	case n.unclean:
		return "UNCLEAN (online)"
	case n.pending:
		return "pending"
	case !n.online:
		return "offline"
	case n.maintenance:
		return "maintenance"
	case n.standby:
		return "standby"
	}
	return "online"
}

// view builds the before (revised=false) or after picture.
func (ws *workingSet) view(revised bool) ClusterView {
	var v ClusterView
	for _, n := range ws.nodes {
		st := nodeState(n)
		if revised && n.unclean {
			for _, a := range ws.actions {
				if a.Task == "stonith" && a.node == n && !a.is(afOptional) {
					st = "offline"
				}
			}
		}
		v.Nodes = append(v.Nodes, NodeView{Name: n.name, State: st})
	}
	for _, r := range ws.resources {
		if r.orphan && len(r.runningOn) == 0 {
			continue
		}
		v.Resources = append(v.Resources, ws.resourceView(r, revised))
	}
	return v
}

func (ws *workingSet) resourceView(r *resource, revised bool) ResourceView {
	rv := ResourceView{ID: r.id, Managed: r.managed}
	switch r.variant {
	case vGroup:
		rv.Kind = "group"
	case vClone:
		rv.Kind = "clone"
	case vBundle:
		rv.Kind = "bundle"
	default:
		rv.Kind = "primitive"
		if r.cfg != nil {
			rv.Agent = r.cfg.Agent()
		}
	}
	for _, c := range r.children {
		rv.Children = append(rv.Children, ws.resourceView(c, revised))
	}
	if r.variant != vPrimitive {
		return rv
	}
	role, nodes := r.role, r.runningOn
	if revised {
		role, nodes = ws.revisedState(r)
	}
	if role == RoleStarted && r.top().promotable {
		role = RoleUnpromoted // as Pacemaker displays a started promotable instance
	}
	rv.Role = role.String()
	if len(nodes) == 0 {
		rv.Role = "Stopped"
	}
	for _, n := range nodes {
		rv.Nodes = append(rv.Nodes, n.name)
	}
	rv.Failed = r.failed && !revised
	return rv
}

// revisedState predicts where a primitive is after the transition.
func (ws *workingSet) revisedState(r *resource) (Role, []*node) {
	nodes := append([]*node(nil), r.runningOn...)
	role := r.role
	for _, a := range r.actions {
		if a.is(afOptional) || !a.is(afRunnable) || a.node == nil {
			continue
		}
		switch a.Task {
		case "stop":
			nodes = removeNode(nodes, a.node)
			if len(nodes) == 0 {
				role = RoleStopped
			}
		}
	}
	for _, a := range r.actions {
		if a.is(afOptional) || !a.is(afRunnable) || a.node == nil {
			continue
		}
		switch a.Task {
		case "start", "migrate_from":
			nodes = appendNode(nodes, a.node)
			if role < RoleStarted {
				role = RoleStarted
				if r.top().promotable {
					role = RoleUnpromoted
				}
			}
		case "promote":
			role = RolePromoted
		case "demote":
			role = RoleUnpromoted
		}
	}
	return role, nodes
}

func removeNode(list []*node, n *node) []*node {
	out := list[:0:0]
	for _, x := range list {
		if x != n {
			out = append(out, x)
		}
	}
	return out
}

// Write prints the view in crm_simulate's layout.
func (v ClusterView) Write(w io.Writer) {
	var b strings.Builder
	b.WriteString("  * Node List:\n")
	groups := map[string][]string{}
	var order []string
	for _, n := range v.Nodes {
		label := map[string]string{"online": "Online", "offline": "OFFLINE", "standby": "Node %s: standby",
			"maintenance": "Node %s: maintenance", "pending": "Node %s: pending",
			"UNCLEAN (offline)": "Node %s: UNCLEAN (offline)", "UNCLEAN (online)": "Node %s: UNCLEAN (online)"}[n.State]
		if strings.Contains(label, "%s") {
			fmt.Fprintf(&b, "    * "+label+"\n", n.Name)
			continue
		}
		if _, ok := groups[label]; !ok {
			order = append(order, label)
		}
		groups[label] = append(groups[label], n.Name)
	}
	for _, l := range order {
		fmt.Fprintf(&b, "    * %s: [ %s ]\n", l, strings.Join(groups[l], " "))
	}
	b.WriteString("\n  * Full List of Resources:\n")
	if len(v.Resources) == 0 {
		b.WriteString("    * No resources\n")
	}
	for _, r := range v.Resources {
		writeResource(&b, r, "    ")
	}
	io.WriteString(w, b.String())
}

func writeResource(b *strings.Builder, r ResourceView, indent string) {
	switch r.Kind {
	case "group":
		fmt.Fprintf(b, "%s* Resource Group: %s:\n", indent, r.ID)
		for _, c := range r.Children {
			writeResource(b, c, indent+"  ")
		}
	case "clone":
		fmt.Fprintf(b, "%s* Clone Set: %s:\n", indent, r.ID)
		byRole := map[string][]string{}
		var stopped int
		for _, c := range r.Children {
			leaves := []ResourceView{c}
			if c.Kind == "group" {
				leaves = c.Children[:1]
			}
			for _, l := range leaves {
				if len(l.Nodes) == 0 {
					stopped++
				}
				for _, n := range l.Nodes {
					role := l.Role
					if l.Failed {
						role = "FAILED " + role
					}
					byRole[role] = append(byRole[role], n)
				}
			}
		}
		roles := make([]string, 0, len(byRole))
		for k := range byRole {
			roles = append(roles, k)
		}
		sort.Strings(roles)
		for _, role := range roles {
			ns := byRole[role]
			sort.Strings(ns)
			fmt.Fprintf(b, "%s  * %s: [ %s ]\n", indent, role, strings.Join(ns, " "))
		}
		if stopped > 0 && len(roles) == 0 {
			fmt.Fprintf(b, "%s  * Stopped: [ ]\n", indent)
		}
	default:
		state := r.Role
		if len(r.Nodes) > 0 {
			state += " " + strings.Join(r.Nodes, " ")
		}
		if r.Failed {
			state = "FAILED " + state
		}
		if !r.Managed {
			state += " (unmanaged)"
		}
		fmt.Fprintf(b, "%s* %s\t(%s):\t %s\n", indent, r.ID, r.Agent, state)
	}
}
