package model

import (
	"errors"
	"fmt"
	"strings"
)

// ErrOrderCycle is reported (in a *FieldError) for a mandatory order that
// closes a cycle of mandatory orders: no transition could satisfy them.
var ErrOrderCycle = errors.New("mandatory orders form a cycle")

// step is one action of one resource in the order graph. A group's action
// has two steps, as Pacemaker's pseudo-actions: its beginning (done
// false), which its members' actions follow, and its end (done true),
// which follows theirs.
type step struct {
	rsc, action string
	done        bool
}

func (s step) String() string {
	if s.done {
		done := map[string]string{"start": "started", "stop": "stopped", "promote": "promoted", "demote": "demoted"}[s.action]
		return s.rsc + " " + done
	}
	return s.rsc + " " + s.action
}

// orderGraph is the graph of mandatory orderings between resource actions,
// with each group's members as edges too.
type orderGraph struct {
	next map[step][]step
	// clone maps a clone's child id to the clone's id: an order on the
	// child is an order on the clone.
	clone map[string]string
	// members are each group's members in order.
	members map[string][]string
}

// reverseAction is the action a symmetrical order reverses to.
func reverseAction(a string) string {
	switch a {
	case "start":
		return "stop"
	case "stop":
		return "start"
	case "promote":
		return "demote"
	case "demote":
		return "promote"
	}
	return a
}

// node returns the step an order names: a group's end when it comes
// first, its beginning when it follows.
func (g *orderGraph) node(rsc, action string, then bool) step {
	if c, ok := g.clone[rsc]; ok {
		rsc = c
	}
	if action == "" {
		action = "start"
	}
	_, group := g.members[rsc]
	return step{rsc, action, group && !then}
}

// add adds the edge a -> b.
func (g *orderGraph) add(a, b step) { g.next[a] = append(g.next[a], b) }

// lifecycle adds a group's own action order once: its members' actions
// between its beginning and its end, started in order and stopped in
// reverse. A resource's own stop-start-promote sequence is left out: it
// binds only actions of one transition (a restart), and Pacemaker takes
// configurations whose orders would loop through it otherwise.
func (g *orderGraph) lifecycle(rsc string) {
	if _, ok := g.next[step{rsc, "lifecycle", false}]; ok {
		return
	}
	g.next[step{rsc, "lifecycle", false}] = nil
	members, group := g.members[rsc]
	if !group {
		return
	}
	for _, action := range []string{"start", "stop", "promote", "demote"} {
		begin, end := step{rsc, action, false}, step{rsc, action, true}
		for _, m := range members {
			g.lifecycle(m)
			g.add(begin, step{m, action, false})
			g.add(step{m, action, false}, end)
		}
	}
	for i := 1; i < len(members); i++ {
		g.add(step{members[i-1], "start", false}, step{members[i], "start", false})
		g.add(step{members[i], "stop", false}, step{members[i-1], "stop", false})
	}
}

// edge adds first -> then and reports the cycle it closes, if any.
func (g *orderGraph) edge(first, then step) []step {
	g.lifecycle(first.rsc)
	g.lifecycle(then.rsc)
	if path := g.path(then, first); path != nil {
		return append([]step{first}, path...)
	}
	g.add(first, then)
	return nil
}

// path returns the steps from a to b, or nil when b cannot be reached.
func (g *orderGraph) path(a, b step) []step {
	prev := map[step]step{a: a}
	queue := []step{a}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == b {
			var out []step
			for s := b; s != a; s = prev[s] {
				out = append([]step{s}, out...)
			}
			return append([]step{a}, out...)
		}
		for _, n := range g.next[cur] {
			if _, seen := prev[n]; !seen {
				prev[n] = cur
				queue = append(queue, n)
			}
		}
	}
	return nil
}

// mandatory reports whether an order (or one of its sets, with kind and
// score) must hold: kind Mandatory, or no kind and no score or a positive
// one.
func mandatory(kind string, score *Score) bool {
	switch kind {
	case "Mandatory":
		return true
	case "":
		return score == nil || *score > 0
	}
	return false
}

// orderCycles reports each mandatory order that closes a cycle.
func (v *validator) orderCycles(c *Config) {
	g := &orderGraph{next: map[step][]step{}, clone: map[string]string{}, members: map[string][]string{}}
	var walk func(rs []Resource)
	walk = func(rs []Resource) {
		for _, r := range rs {
			switch r.Kind {
			case KindClone:
				for _, ch := range r.Children {
					g.clone[ch.ID] = r.ID
				}
			case KindGroup:
				for _, ch := range r.Children {
					g.members[r.ID] = append(g.members[r.ID], ch.ID)
				}
			}
			walk(r.Children)
		}
	}
	walk(c.Resources)
	for i, o := range c.Orders {
		if !mandatory(o.Kind, o.Score) {
			continue
		}
		symmetrical := o.Symmetrical == nil || *o.Symmetrical
		var pairs [][2]step
		if len(o.Sets) == 0 {
			pairs = append(pairs, [2]step{g.node(o.First, o.FirstAction, false), g.node(o.Then, o.ThenAction, true)})
		} else {
			pairs = setPairs(g, o.Sets)
		}
		for _, p := range pairs {
			if p[0].rsc == "" || p[1].rsc == "" {
				continue // a missing resource is reported elsewhere
			}
			cycle := g.edge(p[0], p[1])
			if cycle == nil && symmetrical {
				rev := [2]step{g.node(p[1].rsc, reverseAction(p[1].action), false), g.node(p[0].rsc, reverseAction(p[0].action), true)}
				cycle = g.edge(rev[0], rev[1])
			}
			if cycle != nil {
				names := make([]string, len(cycle))
				for j, s := range cycle {
					names[j] = s.String()
				}
				v.add("order", orPosition(o.ID, i), "then",
					fmt.Errorf("%w: %s", ErrOrderCycle, strings.Join(names, " -> ")))
				break
			}
		}
	}
}

// setPairs lists the orderings an order's mandatory sets make: each member
// of a sequential set before the next, and every member of a set before
// every member of the next set.
func setPairs(g *orderGraph, sets []ResourceSet) [][2]step {
	var out [][2]step
	for i, s := range sets {
		if !mandatory(s.Kind, s.Score) {
			continue
		}
		if s.Sequential == nil || *s.Sequential {
			for j := 1; j < len(s.Resources); j++ {
				out = append(out, [2]step{g.node(s.Resources[j-1], s.Action, false), g.node(s.Resources[j], s.Action, true)})
			}
		}
		if i+1 < len(sets) && mandatory(sets[i+1].Kind, sets[i+1].Score) {
			for _, a := range s.Resources {
				for _, b := range sets[i+1].Resources {
					out = append(out, [2]step{g.node(a, s.Action, false), g.node(b, sets[i+1].Action, true)})
				}
			}
		}
	}
	return out
}
