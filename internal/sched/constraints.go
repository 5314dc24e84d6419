package sched

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// ordering is a resource-level ordering before it is applied to actions
// (Pacemaker's pe__ordering_t).
type ordering struct {
	id          int
	firstRsc    *resource
	firstAction *Action
	firstKey    string
	thenRsc     *resource
	thenAction  *Action
	thenKey     string
	typ         orderFlags
}

// newOrdering records an ordering; creation order matters when applied.
func (ws *workingSet) newOrdering(firstRsc *resource, firstKey string, firstAction *Action, thenRsc *resource, thenKey string, thenAction *Action, typ orderFlags) {
	if firstRsc == nil && firstAction == nil {
		return
	}
	if thenRsc == nil && thenAction == nil {
		return
	}
	if firstAction != nil && firstRsc == nil {
		firstRsc = firstAction.rsc
	}
	if thenAction != nil && thenRsc == nil {
		thenRsc = thenAction.rsc
	}
	o := &ordering{
		id: len(ws.orderings) + 1, firstRsc: firstRsc, firstAction: firstAction, firstKey: firstKey,
		thenRsc: thenRsc, thenAction: thenAction, thenKey: thenKey, typ: typ,
	}
	ws.orderings = append(ws.orderings, o)
	ws.orderMigrationEquivalents(o)
}

func (ws *workingSet) orderResourceActions(first *resource, firstTask string, then *resource, thenTask string, typ orderFlags) {
	ws.newOrdering(first, opKey(first.id, firstTask, 0), nil, then, opKey(then.id, thenTask, 0), nil, typ)
}

// findConstraintResource resolves an id used in a constraint: a resource,
// or the clone of a cloned primitive.
func (ws *workingSet) findConstraintResource(id string) *resource {
	r, ok := ws.byID[id]
	if !ok {
		return nil
	}
	if r.parent != nil && r.parent.variant == vClone {
		return r.parent
	}
	return r
}

// unpackConstraints turns the configured constraints into the scheduler's
// structures: orders, colocations and ticket dependencies, each in
// configuration order (locations are applied with the node criteria).
func (ws *workingSet) unpackConstraints() error {
	for i := range ws.cfg.Orders {
		if err := ws.unpackOrder(&ws.cfg.Orders[i]); err != nil {
			return err
		}
	}
	for i := range ws.cfg.Colocations {
		if err := ws.unpackColocation(&ws.cfg.Colocations[i]); err != nil {
			return err
		}
	}
	for i := range ws.cfg.Tickets {
		ws.unpackTicket(&ws.cfg.Tickets[i])
	}
	return nil
}

// location is an unpacked location constraint.
type location struct {
	id        string
	rsc       *resource
	role      Role
	nodes     []weightedNode
	discovery string
}

type weightedNode struct {
	n     *node
	score model.Score
}

func (ws *workingSet) locations() ([]*location, error) {
	var out []*location
	for i := range ws.cfg.Locations {
		l := &ws.cfg.Locations[i]
		if len(l.Sets) > 0 {
			for _, set := range l.Sets {
				for _, id := range set.Resources {
					r := ws.findConstraintResource(id)
					if r == nil {
						return nil, fmt.Errorf("location %q: unknown resource %q", l.ID, id)
					}
					role := parseRole(l.Role)
					if set.Role != "" {
						role = parseRole(set.Role)
					}
					out = append(out, ws.makeLocation(l, r, role, nil)...)
				}
			}
			continue
		}
		if l.ResourcePattern != "" {
			// A leading "!" inverts the pattern (and leaves no submatches).
			pattern, invert := l.ResourcePattern, false
			if strings.HasPrefix(pattern, "!") {
				pattern, invert = pattern[1:], true
			}
			re, err := regexp.Compile(pattern)
			if err != nil {
				return nil, fmt.Errorf("location %q: invalid rsc-pattern %q: %v", l.ID, l.ResourcePattern, err)
			}
			for _, r := range ws.resources {
				if r.orphan {
					continue
				}
				m := re.FindStringSubmatch(r.id)
				switch {
				case invert && m == nil:
					out = append(out, ws.makeLocation(l, r, parseRole(l.Role), nil)...)
				case !invert && m != nil:
					out = append(out, ws.makeLocation(l, r, parseRole(l.Role), m)...)
				}
			}
			continue
		}
		r := ws.findConstraintResource(l.Resource)
		if r == nil {
			// Pacemaker ignores constraints for unknown resources with a
			// configuration warning.
			ws.notes = append(ws.notes, fmt.Sprintf("location %q: unknown resource %q ignored", l.ID, l.Resource))
			continue
		}
		out = append(out, ws.makeLocation(l, r, parseRole(l.Role), nil)...)
	}
	return out, nil
}

func (ws *workingSet) makeLocation(l *model.Location, r *resource, role Role, submatch []string) []*location {
	if role == RoleStarted {
		role = RoleUnknown
	}
	if l.Node != "" {
		n := ws.nodeByName[l.Node]
		if n == nil {
			return nil
		}
		return []*location{{id: l.ID, rsc: r, role: role, nodes: []weightedNode{{n, l.Score}}, discovery: l.ResourceDiscovery}}
	}
	var out []*location
	for ri := range l.Rules {
		rule := &l.Rules[ri]
		rrole := role
		if rule.Role != "" {
			rrole = parseRole(rule.Role)
			if rrole == RoleStarted {
				rrole = RoleUnknown
			}
		}
		loc := &location{id: l.ID, rsc: r, role: rrole, discovery: l.ResourceDiscovery}
		for _, n := range ws.nodes {
			if !ws.evalRule(rule, n, r, submatch) {
				continue
			}
			s := rule.Score
			if rule.ScoreAttribute != "" {
				v, ok := n.attr(rule.ScoreAttribute)
				if !ok {
					s = -model.Infinity
				} else {
					s = scoreOf(v)
				}
			}
			loc.nodes = append(loc.nodes, weightedNode{n, s})
		}
		out = append(out, loc)
	}
	return out
}

// applyLocation is native_rsc_location for every primitive of r.
func (ws *workingSet) applyLocation(r *resource, l *location) {
	if r.variant != vPrimitive && r.variant != vGroup {
		ws.applyLocationTable(r, l)
		for _, c := range r.children {
			ws.applyLocation(c, l)
		}
		return
	}
	if r.variant == vGroup {
		ws.applyLocationTable(r, l)
		for _, c := range r.children {
			ws.applyLocation(c, l)
		}
		return
	}
	ws.applyLocationTable(r, l)
}

func (ws *workingSet) applyLocationTable(r *resource, l *location) {
	if l.role > RoleUnknown && l.role != r.nextRole {
		return
	}
	for _, wn := range l.nodes {
		if w := r.allowed.get(wn.n); w != nil {
			w.score = model.AddScores(w.score, wn.score)
		} else {
			r.allowed.set(wn.n, wn.score)
		}
		r.noteDiscovery(wn.n, l)
		if r.parent == nil || r.variant != vPrimitive {
			r.contrib(wn.n, wn.score, "location constraint %s", l.id)
		} else {
			r.contrib(wn.n, wn.score, "location constraint %s (on %s)", l.id, l.rsc.id)
		}
	}
}

func (ws *workingSet) unpackColocation(c *model.Colocation) error {
	if len(c.Sets) > 0 {
		return ws.unpackColocationSets(c)
	}
	dep := ws.findConstraintResource(c.Resource)
	prim := ws.findConstraintResource(c.With)
	if dep == nil || prim == nil {
		// Pacemaker ignores a constraint naming an unknown resource (with
		// a configuration error); so do we, with a note.
		ws.notes = append(ws.notes, fmt.Sprintf("colocation %q ignored: unknown resource", c.ID))
		return nil
	}
	influence := dep.critical
	if c.Influence != nil {
		influence = *c.Influence
	}
	ws.newColocation(c.ID, c.NodeAttribute, c.Score, dep, prim, c.Role, c.WithRole, influence)
	return nil
}

// newColocation is pcmk__new_colocation.
func (ws *workingSet) newColocation(id, attr string, score model.Score, dep, prim *resource, depRole, primRole string, influence bool) {
	if score == 0 || dep == nil || prim == nil {
		return
	}
	dr := parseRole(depRole)
	if dr == RoleStarted {
		dr = RoleUnknown
	}
	pr := parseRole(primRole)
	if pr == RoleStarted {
		pr = RoleUnknown
	}
	c := &colocation{id: id, dependent: dep, primary: prim, score: score, depRole: dr, primRole: pr, nodeAttribute: attr, influence: influence}
	dep.thisWith = insertSorted(dep.thisWith, c, func(a, b *colocation) int { return cmpColocPriority(a.primary, b.primary) })
	prim.withThis = insertSorted(prim.withThis, c, func(a, b *colocation) int { return cmpColocPriority(a.dependent, b.dependent) })
	ws.colocations = append(ws.colocations, c)
	if score <= -model.Infinity {
		ws.antiColocationOrder(dep, dr, prim, pr)
		ws.antiColocationOrder(prim, pr, dep, dr)
	}
}

func (ws *workingSet) antiColocationOrder(first *resource, firstRole Role, then *resource, thenRole Role) {
	firstTasks := []string{"stop"}
	if firstRole == RolePromoted {
		firstTasks = []string{"demote"}
	} else if firstRole != RoleUnpromoted && first.promotable {
		firstTasks = []string{"stop", "demote"}
	}
	thenTask := "start"
	if thenRole == RolePromoted {
		thenTask = "promote"
	}
	for _, ft := range firstTasks {
		ws.orderResourceActions(first, ft, then, thenTask, ofAntiColocation)
	}
}

// insertSorted inserts c before the first element it does not sort after
// (g_list_insert_sorted).
func insertSorted(list []*colocation, c *colocation, cmp func(a, b *colocation) int) []*colocation {
	i := 0
	for i < len(list) && cmp(c, list[i]) > 0 {
		i++
	}
	list = append(list, nil)
	copy(list[i+1:], list[i:])
	list[i] = c
	return list
}

func cmpColocPriority(a, b *resource) int {
	if a.priority > b.priority {
		return -1
	}
	if a.priority < b.priority {
		return 1
	}
	if a.variant > b.variant {
		return -1
	}
	if a.variant < b.variant {
		return 1
	}
	if a.variant == vClone {
		if a.promotable && !b.promotable {
			return -1
		}
		if !a.promotable && b.promotable {
			return 1
		}
	}
	return strings.Compare(a.id, b.id)
}

func invertAction(task string) string {
	switch task {
	case "start":
		return "stop"
	case "stop":
		return "start"
	case "promote":
		return "demote"
	case "demote":
		return "promote"
	case "promoted":
		return "demoted"
	case "demoted":
		return "promoted"
	case "running":
		return "stopped"
	case "stopped":
		return "running"
	}
	return ""
}

func orderingFlagsForKind(kind string, first string, symmetry string) orderFlags {
	flags := ofOptional
	switch kind {
	case "optional":
	case "serialize":
		flags |= ofSerializeOnly
	default:
		switch symmetry {
		case "asymmetric":
			flags |= ofAsymmetrical
		case "symmetric":
			flags |= ofImpliesThen
			if first == "start" || first == "promote" {
				flags |= ofRunnableLeft
			}
		case "inverse":
			flags |= ofImpliesFirst
		}
	}
	return flags
}

func orderKind(o *model.Order) string {
	if o.Kind != "" {
		switch strings.ToLower(o.Kind) {
		case "optional":
			return "optional"
		case "serialize":
			return "serialize"
		}
		return "mandatory"
	}
	if o.Score != nil && *o.Score == 0 {
		return "optional"
	}
	return "mandatory"
}

func (ws *workingSet) unpackOrder(o *model.Order) error {
	if len(o.Sets) > 0 {
		return ws.unpackOrderSets(o)
	}
	first := ws.findConstraintResource(o.First)
	then := ws.findConstraintResource(o.Then)
	if first == nil || then == nil {
		ws.notes = append(ws.notes, fmt.Sprintf("order %q ignored: unknown resource", o.ID))
		return nil
	}
	fa := strings.ToLower(o.FirstAction)
	if fa == "" {
		fa = "start"
	}
	ta := strings.ToLower(o.ThenAction)
	if ta == "" {
		ta = fa
	}
	kind := orderKind(o)
	symmetric := kind != "serialize"
	if o.Symmetrical != nil {
		symmetric = *o.Symmetrical
	}
	sym := "asymmetric"
	if symmetric {
		sym = "symmetric"
	}
	minBefore := 0
	if first.variant == vClone {
		minBefore = first.cloneMin
	}
	if o.RequireAll != nil && !*o.RequireAll {
		minBefore = 1
	}
	flags := orderingFlagsForKind(kind, fa, sym)
	// @COMPAT restart-type=restart makes "then" restart with "first".
	if then.restartType == "restart" {
		flags |= ofImpliesThen
	}
	if minBefore > 0 && first.variant == vClone {
		// "then" waits for at least minBefore instances of "first".
		key := fmt.Sprintf("%s-%s", o.ID, "one-or-more")
		any := ws.pseudoAction(key, "one-or-more")
		any.set(afRequiresAny)
		any.requiredRunnableBefore = minBefore
		for _, c := range first.children {
			ws.newOrdering(c, opKey(c.id, fa, 0), nil, nil, "", any, ofOneOrMore)
		}
		ws.newOrdering(nil, "", any, then, opKey(then.id, ta, 0), nil, flags&^ofRunnableLeft|ofRunnableLeft)
	} else {
		ws.newOrdering(first, opKey(first.id, fa, 0), nil, then, opKey(then.id, ta, 0), nil, flags)
	}
	if symmetric {
		fi, ti := invertAction(fa), invertAction(ta)
		if fi == "" || ti == "" {
			return nil
		}
		flags := orderingFlagsForKind(kind, ti, "inverse")
		if first.restartType == "restart" {
			flags |= ofImpliesFirst
		}
		ws.newOrdering(then, opKey(then.id, ti, 0), nil, first, opKey(first.id, fi, 0), nil, flags)
	}
	return nil
}

// pseudoAction creates a node-less pseudo-action not tied to a resource.
func (ws *workingSet) pseudoAction(key, task string) *Action {
	for _, a := range ws.actions {
		if a.rsc == nil && a.key == key {
			return a
		}
	}
	ws.nextActionID++
	a := &Action{ID: ws.nextActionID, key: key, Task: task}
	a.set(afPseudo | afRunnable | afOptional)
	ws.actions = append(ws.actions, a)
	return a
}
