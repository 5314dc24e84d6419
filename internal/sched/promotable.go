package sched

import (
	"sort"

	"github.com/paceline/paceline/internal/model"
)

// promotionAttr looks up a promotion score attribute ("master-<name>").
func promotionAttr(n *node, name string) (string, bool) {
	if v, ok := n.attrs["master-"+name]; ok {
		return v, true
	}
	v, ok := n.attrs["promotion-"+name]
	return v, ok
}

// promotionScore is promotion_score: the score a node gives an instance
// for promotion; isDefault reports that no score was set.
func (ws *workingSet) promotionScore(r *resource, n *node) (model.Score, bool) {
	if len(r.children) > 0 {
		total := model.Score(0)
		def := true
		for _, c := range r.children {
			s, d := ws.promotionScore(c, n)
			if !d {
				def = false
			}
			total += s
		}
		return total, def
	}
	top := r.top()
	if !top.unique && !containsNode(r.runningOn, n) && !r.knownOn[n] {
		return 0, true
	}
	if w := r.allowed.get(n); w == nil || w.score < 0 {
		return 0, true
	}
	name := r.id
	if r.historyID != "" {
		name = r.historyID
	}
	if v, ok := promotionAttr(n, name); ok {
		return scoreOf(v), false
	}
	if !top.unique {
		if v, ok := promotionAttr(n, baseID(r.id)); ok {
			return scoreOf(v), false
		}
	}
	return 0, true
}

// addPromotionScores is pcmk__add_promotion_scores.
func (ws *workingSet) addPromotionScores(r *resource) {
	if r.promotionAdded {
		return
	}
	r.promotionAdded = true
	for _, c := range r.children {
		c.allowed.each(func(w *weighted) {
			if !w.n.canRun() {
				return
			}
			s, def := ws.promotionScore(c, w.n)
			if def {
				return
			}
			if s > 0 {
				w.score = model.AddScores(w.score, s)
				c.explain("%s: %s promotion score", w.n.name, s)
			}
			if int(s) > c.priority {
				c.priority = int(s)
			}
		})
	}
}

func setCurrentUnpromoted(r *resource) {
	if r.role == RoleStarted {
		r.role = RoleUnpromoted
	}
	for _, c := range r.children {
		setCurrentUnpromoted(c)
	}
}

func setNextUnpromoted(r *resource) {
	if r.location() == nil && len(r.assignedNodes()) == 0 {
		r.setNextRole(RoleStopped, "stopped instance")
	} else {
		r.setNextRole(RoleUnpromoted, "unpromoted instance")
	}
	for _, c := range r.children {
		setNextUnpromoted(c)
	}
}

func setNextPromoted(r *resource) {
	if r.nextRole == RoleUnknown {
		r.setNextRole(RolePromoted, "promoted instance")
	}
	for _, c := range r.children {
		setNextPromoted(c)
	}
}

func (r *resource) assignedNodes() []*node {
	var out []*node
	for _, p := range r.primitives() {
		if p.assigned != nil {
			out = appendNode(out, p.assigned)
		}
	}
	return out
}

// setInstanceRoles is pcmk__set_instance_roles.
func (ws *workingSet) setInstanceRoles(r *resource) {
	r.allowed.each(func(w *weighted) { w.count = 0 })
	for _, inst := range r.children {
		ws.setInstancePriority(r, inst)
	}
	ws.sortPromotable(r)
	promoted := 0
	for _, inst := range r.children {
		var chosen *weighted
		if inst.sortIndex >= 0 && (promoted < r.promotedMax || !r.managed) {
			chosen = ws.nodeToBePromotedOn(inst)
		}
		if chosen == nil {
			setNextUnpromoted(inst)
			continue
		}
		if inst.role < RolePromoted && !ws.haveQuorum && ws.noQuorumPolicy == "freeze" {
			setNextUnpromoted(inst)
			continue
		}
		chosen.count++
		setNextPromoted(inst)
		inst.explain("chosen for promotion on %s (promotion priority %d)", chosen.n.name, inst.sortIndex)
		promoted++
	}
}

func (ws *workingSet) setInstancePriority(clone, inst *resource) {
	if inst.state() == RoleStarted {
		setCurrentUnpromoted(inst)
	}
	nodes := inst.assignedNodes()
	if len(nodes) != 1 {
		return
	}
	chosen := nodes[0]
	switch inst.nextState() {
	case RoleStarted, RoleUnknown:
		s, def := ws.promotionScore(inst, chosen)
		inst.priority = int(s)
		if def {
			inst.priority = -1
		}
	case RoleUnpromoted, RoleStopped:
		inst.priority = -int(model.Infinity)
	}
	for _, l := range append(append([]*location(nil), inst.locs...), clone.locs...) {
		if l.role != RolePromoted {
			continue
		}
		for _, wn := range l.nodes {
			if wn.n == chosen {
				inst.priority = int(model.AddScores(model.Score(inst.priority), wn.score))
				inst.explain("%s: %s promotion priority from location constraint %s", chosen.name, wn.score, l.id)
			}
		}
	}
	for _, c := range inst.thisWith {
		ws.colocationApply(inst, c.primary, c)
	}
	inst.sortIndex = inst.priority
	if inst.nextState() == RolePromoted {
		inst.sortIndex = int(model.Infinity)
	}
}

// sortPromotable is sort_promotable_instances: fold colocation preferences
// into the promotion order.
func (ws *workingSet) sortPromotable(r *resource) {
	r.merging = true
	for _, inst := range r.children {
		n := inst.location()
		if n == nil || inst.sortIndex < 0 {
			continue
		}
		if w := r.allowed.get(n); w != nil {
			w.score = model.AddScores(model.Score(inst.sortIndex), w.score)
		}
	}
	for _, c := range r.thisWith {
		if c.depRole == RolePromoted {
			flags := mwRollback
			if c.score == model.Infinity {
				flags = 0
			}
			r.allowed = ws.mergeWeights(c.primary, r.id, r.allowed, c.nodeAttribute, float64(c.score)/float64(model.Infinity), flags, r)
		}
	}
	for _, c := range r.withThis {
		if !colocationHasInfluence(c) {
			continue
		}
		if c.primRole == RolePromoted {
			r.allowed = ws.mergeWeights(c.dependent, r.id, r.allowed, c.nodeAttribute, float64(c.score)/float64(model.Infinity), mwRollback|mwPositive, r)
		}
	}
	ws.requirePromotionTickets(r)
	for _, inst := range r.children {
		n := inst.location()
		if inst.managed && inst.priority < 0 {
			continue
		}
		if n != nil {
			if w := r.allowed.get(n); w != nil {
				inst.sortIndex = int(w.score)
			}
		}
	}
	r.merging = false
	sort.SliceStable(r.children, func(i, j int) bool {
		a, b := r.children[i], r.children[j]
		if a.sortIndex != b.sortIndex {
			return a.sortIndex > b.sortIndex
		}
		ra, rb := a.state(), b.state()
		if ra != rb {
			return ra > rb
		}
		return ws.cmpInstance(a, b) < 0
	})
}

// nodeToBePromotedOn is node_to_be_promoted_on.
func (ws *workingSet) nodeToBePromotedOn(r *resource) *weighted {
	for _, c := range r.children {
		if ws.nodeToBePromotedOn(c) == nil {
			return nil
		}
	}
	n := r.location()
	if n == nil {
		return nil
	}
	if !r.managed {
		if r.state() != RolePromoted {
			return nil
		}
	} else if r.priority < 0 {
		return nil
	}
	if !n.canRun() {
		return nil
	}
	parent := r.top()
	local := parent.allowed.get(n)
	if local == nil {
		return nil
	}
	if local.count >= parent.promotedNodeMax && r.managed {
		return nil
	}
	return local
}

// updateDependentWithPromotable places a dependent colocated with a role of
// a promotable clone (pcmk__update_dependent_with_promotable).
func (ws *workingSet) updateDependentWithPromotable(prim, dep *resource, c *colocation) {
	var affected []*node
	scores := map[*node]model.Score{}
	for _, inst := range prim.children {
		n := inst.location()
		if n == nil {
			continue
		}
		if inst.nextState() == c.primRole {
			if c.score < model.Infinity {
				attr := c.nodeAttribute
				if attr == "" {
					attr = "#uname"
				}
				pv, _ := n.attr(attr)
				dep.allowed.each(func(w *weighted) {
					dv, _ := w.n.attr(attr)
					if dv == pv {
						w.score = model.AddScores(w.score, c.score)
					}
				})
			}
			affected = appendNode(affected, n)
			if p := inst.primitives(); len(p) > 0 {
				scores[n] = p[0].assignedScore
			}
		}
	}
	if c.score >= model.Infinity && (c.depRole != RolePromoted || c.primRole != RolePromoted) {
		nodeListExclude(dep.allowed, affected, scores)
		for _, n := range ws.nodes {
			if !containsNode(affected, n) {
				dep.contrib(n, -model.Infinity, "colocation %s: %s is not %s here", c.id, prim.id, c.primRole)
			} else if s := scores[n]; s != 0 {
				dep.contrib(n, s, "colocation %s: score of the %s instance of %s here", c.id, c.primRole, prim.id)
			}
		}
	}
}

func (ws *workingSet) updatePromotableDependentPriority(prim, dep *resource, c *colocation) {
	if ws.findCompatibleChild(dep, prim, c.primRole, false) != nil {
		dep.priority = int(model.AddScores(model.Score(dep.priority), c.score))
	} else if c.score >= model.Infinity {
		dep.priority = -int(model.Infinity)
	}
}

func checkPromotableActions(r *resource, demoting, promoting *bool) {
	if len(r.children) > 0 {
		for _, c := range r.children {
			checkPromotableActions(c, demoting, promoting)
		}
		return
	}
	for _, a := range r.actions {
		if *promoting && *demoting {
			return
		}
		if a.is(afOptional) {
			continue
		}
		switch a.Task {
		case "demote":
			*demoting = true
		case "promote":
			*promoting = true
		}
	}
}

// createPromotableActions is create_promotable_actions.
func (ws *workingSet) createPromotableActions(r *resource) {
	promoting, demoting := false, false
	for _, c := range r.children {
		checkPromotableActions(c, &demoting, &promoting)
	}
	ws.pseudo(r, "promote", !promoting, true)
	ws.pseudo(r, "promoted", !promoting, true)
	ws.pseudo(r, "demote", !demoting, true)
	ws.pseudo(r, "demoted", !demoting, true)
	for _, c := range r.children {
		c.priority = r.priority
	}
}

// promotableConstraints is the promotable part of the clone's internal
// orderings.
func (ws *workingSet) promotableConstraints(r *resource) {
	ws.orderResourceActions(r, "stopped", r, "promote", ofOptional)
	ws.orderResourceActions(r, "demoted", r, "start", ofOptional)
	ws.orderResourceActions(r, "running", r, "promote", ofOptional)
	ws.orderResourceActions(r, "demoted", r, "stop", ofOptional)
	ws.orderResourceActions(r, "demote", r, "demoted", ofOptional)
	ws.orderResourceActions(r, "demoted", r, "promote", ofOptional)
	var last *resource
	for _, c := range r.children {
		ws.orderResourceActions(c, "demote", c, "promote", ofOptional)
		ws.orderResourceActions(c, "promote", r, "promoted", ofImpliesThenPrinted)
		ws.orderResourceActions(r, "promote", c, "promote", ofImpliesFirstPrinted)
		if r.ordered && last != nil {
			ws.orderResourceActions(last, "promote", c, "promote", ofOptional)
		}
		ws.orderResourceActions(c, "demote", r, "demoted", ofImpliesThenPrinted)
		ws.orderResourceActions(r, "demote", c, "demote", ofImpliesFirstPrinted)
		if r.ordered && last != nil {
			ws.orderResourceActions(c, "demote", last, "demote", ofOptional)
		}
		last = c
	}
}
