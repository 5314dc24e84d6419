package sched

import (
	"fmt"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// Resource sets in colocation and order constraints, unpacked as
// Pacemaker 2.1.5 does.
//
// Colocation: inside a sequential set with a positive score, each member is
// colocated with the one before it (ordering="listed": with the one after
// it); with a negative score each member is anti-colocated with every
// member before it; a non-sequential set has no internal colocation. A
// set's own score, when given, replaces the constraint's inside the set.
// Between consecutive sets (with the constraint's score), the first member
// of the earlier set is colocated with the last member of the later set;
// a non-sequential set contributes all of its members instead.
//
// Order: inside a sequential set each member's action follows the one
// before it (kind=Serialize: every member is serialized with every later
// one); symmetric sets also get the inverse chain. Between consecutive
// sets, all of the earlier set's actions come before all of the later
// set's, except that a set explicitly marked sequential="true" is
// represented by its last member (its first, for the inverse ordering).
// require-all="false" on the earlier set lets the later set start once
// any one member of it has (not for stop and demote).

// resolveSets looks up the members of each set; ok is false when one is
// unknown (the constraint is then ignored, with a note).
func (ws *workingSet) resolveSets(kind, id string, sets []model.ResourceSet) ([][]*resource, bool) {
	out := make([][]*resource, len(sets))
	for i, set := range sets {
		for _, rid := range set.Resources {
			r := ws.findConstraintResource(rid)
			if r == nil {
				ws.notes = append(ws.notes, fmt.Sprintf("%s %q ignored: unknown resource %q", kind, id, rid))
				return nil, false
			}
			out[i] = append(out[i], r)
		}
	}
	return out, true
}

func setSequential(s *model.ResourceSet) bool { return s.Sequential == nil || *s.Sequential }

func (ws *workingSet) unpackColocationSets(c *model.Colocation) error {
	members, ok := ws.resolveSets("colocation", c.ID, c.Sets)
	if !ok {
		return nil
	}
	influence := func(r *resource) bool {
		if c.Influence != nil {
			return *c.Influence
		}
		return r.critical
	}
	for i := range c.Sets {
		set := &c.Sets[i]
		ws.colocateWithinSet(set, members[i], c.Score, influence)
		if i > 0 {
			ws.colocateSets(c.ID, &c.Sets[i-1], members[i-1], set, members[i], c.Score, influence)
		}
	}
	return nil
}

// colocateWithinSet is unpack_colocation_set.
func (ws *workingSet) colocateWithinSet(set *model.ResourceSet, members []*resource, score model.Score, influence func(*resource) bool) {
	if set.Score != nil {
		score = *set.Score
	}
	if score == 0 || !setSequential(set) {
		return
	}
	id := set.ID
	switch {
	case score > 0 && (set.Ordering == "" || set.Ordering == "group"):
		for i := 1; i < len(members); i++ {
			ws.newColocation(id, "", score, members[i], members[i-1], set.Role, set.Role, influence(members[i]))
		}
	case score > 0:
		for i := 1; i < len(members); i++ {
			ws.newColocation(id, "", score, members[i-1], members[i], set.Role, set.Role, influence(members[i-1]))
		}
	default:
		for i, r := range members {
			for _, with := range members[:i] {
				if strings.EqualFold(with.id, r.id) {
					break
				}
				ws.newColocation(id, "", score, r, with, set.Role, set.Role, influence(r))
			}
		}
	}
}

// colocateSets is colocate_rsc_sets: set1 (earlier) with set2 (later).
func (ws *workingSet) colocateSets(id string, set1 *model.ResourceSet, m1 []*resource, set2 *model.ResourceSet, m2 []*resource, score model.Score, influence func(*resource) bool) {
	if score == 0 || len(m1) == 0 || len(m2) == 0 {
		return
	}
	deps, prims := m1, m2
	if setSequential(set1) {
		deps = m1[:1]
	}
	if setSequential(set2) {
		prims = m2[len(m2)-1:]
	}
	for _, d := range deps {
		for _, p := range prims {
			ws.newColocation(id, "", score, d, p, set1.Role, set2.Role, influence(d))
		}
	}
}

// orderSymmetry is get_ordering_symmetry: "symmetric" or "asymmetric".
// kind is the effective kind; explicit is the symmetrical setting, if any.
func orderSymmetry(kind string, explicit *bool) string {
	if explicit != nil {
		if *explicit && kind != "serialize" {
			return "symmetric"
		}
		return "asymmetric"
	}
	if kind == "serialize" {
		return "asymmetric"
	}
	return "symmetric"
}

// setOrderKind is a set's own kind ("" when it has none): kind, else the
// legacy score (0 means optional).
func setOrderKind(s *model.ResourceSet) string {
	if s.Kind != "" {
		switch strings.ToLower(s.Kind) {
		case "optional":
			return "optional"
		case "serialize":
			return "serialize"
		}
		return "mandatory"
	}
	if s.Score != nil {
		if *s.Score == 0 {
			return "optional"
		}
		return "mandatory"
	}
	return ""
}

func setAction(s *model.ResourceSet) string {
	if s.Action == "" {
		return "start"
	}
	return strings.ToLower(s.Action)
}

func (ws *workingSet) unpackOrderSets(o *model.Order) error {
	members, ok := ws.resolveSets("order", o.ID, o.Sets)
	if !ok {
		return nil
	}
	kind := orderKind(o)
	symmetry := orderSymmetry(kind, o.Symmetrical)
	for i := range o.Sets {
		ws.orderWithinSet(&o.Sets[i], members[i], kind, o.Symmetrical)
		if i == 0 {
			continue
		}
		ws.orderSets(&o.Sets[i-1], members[i-1], &o.Sets[i], members[i], kind, symmetry)
		if symmetry == "symmetric" {
			ws.orderSets(&o.Sets[i], members[i], &o.Sets[i-1], members[i-1], kind, "inverse")
		}
	}
	return nil
}

// orderWithinSet is unpack_order_set.
func (ws *workingSet) orderWithinSet(set *model.ResourceSet, members []*resource, parentKind string, parentSymmetrical *bool) {
	action := setAction(set)
	own := setOrderKind(set)
	localKind := parentKind
	if set.Kind != "" {
		localKind = own
	}
	symKind := parentKind
	if own != "" {
		symKind = own
	}
	symmetry := orderSymmetry(symKind, parentSymmetrical)
	if len(members) == 1 {
		return
	}
	flags := orderingFlagsForKind(localKind, action, symmetry)
	sequential := setSequential(set)
	for i, r := range members {
		switch {
		case localKind == "serialize":
			for _, then := range members[i+1:] {
				ws.orderResourceActions(r, action, then, action, flags)
			}
		case sequential && i > 0:
			ws.orderResourceActions(members[i-1], action, r, action, flags)
		}
	}
	if symmetry != "symmetric" || !sequential {
		return
	}
	inv := invertAction(action)
	if inv == "" {
		return
	}
	flags = orderingFlagsForKind(localKind, inv, "inverse")
	for i := 1; i < len(members); i++ {
		ws.orderResourceActions(members[i], inv, members[i-1], inv, flags)
	}
}

// orderSets is order_rsc_sets: set1's actions before set2's.
func (ws *workingSet) orderSets(set1 *model.ResourceSet, m1 []*resource, set2 *model.ResourceSet, m2 []*resource, kind, symmetry string) {
	a1, a2 := setAction(set1), setAction(set2)
	if symmetry == "inverse" {
		a1, a2 = invertAction(a1), invertAction(a2)
		if a1 == "" || a2 == "" {
			return
		}
	}
	requireAll := set1.RequireAll == nil || *set1.RequireAll
	if a1 == "stop" || a1 == "demote" {
		// One-or-more only applies while starting and promoting.
		requireAll = true
	}
	flags := orderingFlagsForKind(kind, a2, symmetry)
	if !requireAll {
		any := ws.pseudoAction("one-or-more:"+set1.ID, "one-or-more:"+set1.ID)
		any.set(afRequiresAny)
		for _, r := range m1 {
			ws.newOrdering(r, opKey(r.id, a1, 0), nil, nil, "", any, ofOneOrMore|ofImpliesThenPrinted)
		}
		for _, r := range m2 {
			ws.newOrdering(nil, "", any, r, opKey(r.id, a2, 0), nil, flags|ofRunnableLeft)
		}
		return
	}
	// Only an explicit sequential="true" makes a set act through one member.
	firsts, thens := m1, m2
	if set1.Sequential != nil && *set1.Sequential && len(m1) > 0 {
		if symmetry == "inverse" {
			firsts = m1[:1]
		} else {
			firsts = m1[len(m1)-1:]
		}
	}
	if set2.Sequential != nil && *set2.Sequential && len(m2) > 0 {
		if symmetry == "inverse" {
			thens = m2[len(m2)-1:]
		} else {
			thens = m2[:1]
		}
	}
	for _, f := range firsts {
		for _, t := range thens {
			ws.orderResourceActions(f, a1, t, a2, flags)
		}
	}
}
