package sched

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// applyNodeCriteria applies location constraints, stickiness and migration
// thresholds (Pacemaker's apply_node_criteria).
func (ws *workingSet) applyNodeCriteria() error {
	locs, err := ws.locations()
	if err != nil {
		return err
	}
	locs = append(ws.healthLocations(), locs...)
	if ws.shutdownLock {
		for _, r := range ws.resources {
			ws.applyShutdownLock(r)
		}
	}
	for _, l := range locs {
		l.rsc.locs = append(l.rsc.locs, l)
		ws.applyLocation(l.rsc, l)
	}
	for _, r := range ws.resources {
		ws.applyStickiness(r)
	}
	for _, n := range ws.nodes {
		for _, r := range ws.resources {
			ws.checkFailureThreshold(r, n)
			ws.applyExclusiveDiscovery(r, n)
		}
	}
	return nil
}

func (ws *workingSet) applyStickiness(r *resource) {
	if len(r.children) > 0 {
		for _, c := range r.children {
			ws.applyStickiness(c)
		}
		return
	}
	if !r.managed || r.stickiness < 1 || len(r.runningOn) != 1 {
		return
	}
	n := r.runningOn[0]
	if !ws.symmetric && r.allowed.get(n) == nil {
		return
	}
	ws.addLocationOne(r, n, r.stickiness, "resource-stickiness (active here)")
}

// addLocationOne adds a score on one resource only (no children).
func (ws *workingSet) addLocationOne(r *resource, n *node, s model.Score, why string) {
	if w := r.allowed.get(n); w != nil {
		w.score = model.AddScores(w.score, s)
	} else {
		r.allowed.set(n, s)
	}
	r.contrib(n, s, "%s", why)
}

func (ws *workingSet) checkFailureThreshold(r *resource, n *node) {
	if len(r.children) > 0 {
		for _, c := range r.children {
			ws.checkFailureThreshold(c, n)
		}
		return
	}
	if r.migrationThreshold == 0 || r.failureIgnored {
		return
	}
	fc := ws.failCount(n, r, true)
	// A container's failures include those of the resources inside it
	// (its "fillers"), unless it belongs to a bundle.
	if r.bundleOf() == nil {
		for _, f := range ws.fillers(r) {
			fc = int(model.AddScores(model.Score(fc), model.Score(ws.failCount(n, f, true))))
		}
	}
	if fc <= 0 {
		return
	}
	// A resource that is not globally unique is banned as a whole (the
	// group or clone it belongs to).
	ban := r
	if !r.unique {
		ban = r.top()
	}
	if r.migrationThreshold-fc <= 0 {
		ws.addLocation(ban, n, -model.Infinity, "failed "+itoa(fc)+" times and migration-threshold is "+itoa(r.migrationThreshold))
	}
}

// nodeAvailable is pcmk__node_available.
func nodeAvailable(w *weighted, considerScore bool) bool {
	if w == nil || !w.n.canRun() {
		return false
	}
	if considerScore && w.score < 0 {
		return false
	}
	return true
}

// sortedNodes returns the table's nodes best first (compare_nodes).
func (ws *workingSet) sortedNodes(t *nodeTable, preferred *node) []*weighted {
	out := make([]*weighted, 0, t.len())
	t.each(func(w *weighted) { out = append(out, w) })
	sort.SliceStable(out, func(i, j int) bool { return ws.compareNodes(out[i], out[j], preferred) < 0 })
	return out
}

func (ws *workingSet) compareNodes(a, b *weighted, preferred *node) int {
	as, bs := -model.Infinity, -model.Infinity
	if nodeAvailable(a, false) {
		as = a.score
	}
	if nodeAvailable(b, false) {
		bs = b.score
	}
	if as > bs {
		return -1
	}
	if as < bs {
		return 1
	}
	if ws.placementStrategy == "minimal" {
		return strings.Compare(a.n.name, b.n.name)
	}
	if ws.placementStrategy == "balanced" {
		if c := ws.compareNodeCapacities(a.n, b.n); c != 0 {
			return c
		}
	}
	if a.n.numResources < b.n.numResources {
		return -1
	}
	if a.n.numResources > b.n.numResources {
		return 1
	}
	if preferred != nil {
		if a.n == preferred {
			return -1
		}
		if b.n == preferred {
			return 1
		}
	}
	return strings.Compare(a.n.name, b.n.name)
}

// assign places a resource (and what it depends on); it returns the chosen
// node or nil.
func (ws *workingSet) assign(r *resource, prefer *node) *node {
	switch r.variant {
	case vGroup:
		return ws.assignGroup(r, prefer)
	case vClone:
		return ws.assignClone(r, prefer)
	case vBundle:
		return ws.assignBundle(r, prefer)
	}
	return ws.assignPrimitive(r, prefer)
}

func (ws *workingSet) assignPrimitive(r *resource, prefer *node) *node {
	if r.parent != nil && !r.parent.allocating {
		ws.assign(r.parent, prefer)
	}
	if !r.provisional {
		return r.assigned
	}
	if r.allocating {
		return nil
	}
	r.allocating = true
	for _, c := range append([]*colocation(nil), r.thisWith...) {
		var archive *nodeTable
		if c.depRole >= RolePromoted || (c.score < 0 && c.score > -model.Infinity) {
			archive = r.allowed.clone()
		}
		ws.assign(c.primary, nil)
		ws.colocationApply(r, c.primary, c)
		if archive != nil && !r.allowed.anyAvailable() {
			r.allowed = archive
			r.explain("rolled back scores from %s (no node left)", c.primary.id)
		}
	}
	for _, c := range r.withThis {
		if !colocationHasInfluence(c) {
			continue
		}
		r.allowed = ws.mergeWeights(c.dependent, r.id, r.allowed, c.nodeAttribute, float64(c.score)/float64(model.Infinity), mwRollback, r)
	}
	if r.nextRole == RoleStopped {
		for _, n := range ws.nodes {
			ws.addLocationOne(r, n, -model.Infinity, "target-role is Stopped")
		}
	} else if r.nextRole > r.role && !ws.haveQuorum && ws.noQuorumPolicy == "freeze" {
		r.setNextRole(r.role, "no-quorum-policy=freeze")
	}
	if ws.stonithEnabled && !ws.haveStonith {
		r.managed = false
	}
	switch {
	case !r.managed:
		r.setNextRole(r.role, "unmanaged")
		ws.finalizeAssignment(r, r.current(), true)
	case ws.stopEverything:
		ws.finalizeAssignment(r, nil, true)
	case r.provisional:
		ws.chooseNode(r, prefer)
	}
	r.allocating = false
	if r.connFor != nil {
		ws.connectionAssigned(r)
	}
	return r.assigned
}

func colocationHasInfluence(c *colocation) bool {
	return c.influence || len(c.primary.runningOn) == 0
}

// chooseNode is assign_best_node: the best node by compareNodes; among
// equally good nodes the one the resource already runs on.
func (ws *workingSet) chooseNode(r *resource, prefer *node) bool {
	if mostFree := ws.banInsufficientCapacity(r); prefer == nil {
		prefer = mostFree
	}
	if !r.provisional {
		return r.assigned != nil
	}
	var best, chosen *weighted
	current := r.current()
	r.allowed.each(func(w *weighted) {
		if best == nil || ws.compareNodes(w, best, current) < 0 {
			best = w
		}
	})
	if prefer != nil && best != nil {
		chosen = r.allowed.get(prefer)
		if chosen != nil && (chosen.score < best.score || !nodeAvailable(chosen, true)) {
			chosen = nil
		}
	}
	if chosen == nil && best != nil {
		chosen = best
		uniqueClone := r.parent != nil && r.parent.variant == vClone && r.parent.unique
		if !uniqueClone && chosen.score > 0 && nodeAvailable(chosen, false) {
			if running := r.current(); running != nil {
				if rw := r.allowed.get(running); rw != nil && nodeAvailable(rw, true) && rw.score == chosen.score {
					chosen = rw
				}
			}
		}
	}
	var n *node
	if chosen != nil {
		n = chosen.n
	}
	return ws.finalizeAssignment(r, n, false)
}

// finalizeAssignment is pcmk__finalize_assignment.
func (ws *workingSet) finalizeAssignment(r *resource, chosen *node, force bool) bool {
	if !force && chosen != nil {
		w := r.allowed.get(chosen)
		// The graph may assume a guest node's connection will come up.
		if w == nil || w.score < 0 || (!nodeAvailable(w, true) && !chosen.isGuest()) {
			r.setNextRole(RoleStopped, "node availability")
			chosen = nil
		}
	}
	r.assigned = nil
	r.provisional = false
	if chosen == nil {
		r.setNextRole(RoleStopped, "unable to allocate")
		return false
	}
	r.assigned = chosen
	chosen.numResources++
	ws.consumeCapacity(chosen, r)
	if w := r.allowed.get(chosen); w != nil {
		w.count++
		r.assignedScore = w.score
	}
	return true
}

// colocationApply applies a colocation of dependent with primary to the
// dependent's scores (native_rsc_colocation_rh + colocation_match).
func (ws *workingSet) colocationApply(dep, prim *resource, c *colocation) {
	switch prim.variant {
	case vClone:
		ws.cloneColocationRH(dep, prim, c)
		return
	case vBundle:
		ws.bundleColocationRH(dep, prim, c)
		return
	case vGroup:
		if prim.provisional || len(prim.children) == 0 {
			return
		}
		colocated := prim.meta["collocated"] == "" || isTrue(prim.meta["collocated"])
		if colocated {
			if c.score >= model.Infinity {
				ws.colocationApply(dep, prim.children[len(prim.children)-1], c)
			} else {
				ws.colocationApply(dep, prim.children[0], c)
			}
			return
		}
		if c.score >= model.Infinity {
			return
		}
		for _, ch := range prim.children {
			ws.colocationApply(dep, ch, c)
		}
		return
	}
	switch ws.filterColocation(dep, prim, c, false) {
	case influencePriority:
		ws.influencePriority(dep, prim, c)
	case influenceLocation:
		ws.colocationMatch(dep, prim, c)
	}
}

type colocFilter int

const (
	influenceNothing colocFilter = iota
	influencePriority
	influenceLocation
)

func (ws *workingSet) filterColocation(dep, prim *resource, c *colocation, preview bool) colocFilter {
	if !preview && prim.provisional {
		return influenceNothing
	}
	if c.depRole >= RoleUnpromoted && dep.parent != nil && dep.parent.promotable && !dep.provisional {
		return influencePriority
	}
	if !preview && !dep.provisional {
		return influenceNothing
	}
	if c.score > 0 && c.depRole != RoleUnknown && c.depRole != dep.nextRole {
		return influenceNothing
	}
	if c.score > 0 && c.primRole != RoleUnknown && c.primRole != prim.nextRole {
		return influenceNothing
	}
	if c.score < 0 && c.depRole != RoleUnknown && c.depRole == dep.nextRole {
		return influenceNothing
	}
	if c.score < 0 && c.primRole != RoleUnknown && c.primRole == prim.nextRole {
		return influenceNothing
	}
	return influenceLocation
}

func (ws *workingSet) colocationMatch(dep, prim *resource, c *colocation) {
	attr := c.nodeAttribute
	if attr == "" {
		attr = "#uname"
	}
	var value string
	var hasValue bool
	if prim.assigned != nil {
		value, hasValue = prim.assigned.attr(attr)
	} else if c.score < 0 {
		return
	}
	// Mandatory colocations are applied in place; optional ones on a copy
	// that is kept only if some node remains available.
	mandatory := c.score <= -model.Infinity || c.score >= model.Infinity
	work := dep.allowed
	if !mandatory {
		work = dep.allowed.clone()
	}
	var added []contribution
	explaining := dep.explaining()
	note := func(n *node, s model.Score, format string, args ...any) {
		if explaining {
			added = append(added, contribution{n, s, fmt.Sprintf(format, args...)})
		}
	}
	work.each(func(w *weighted) {
		switch {
		case prim.assigned == nil:
			w.score = model.AddScores(-c.score, w.score)
			note(w.n, -c.score, "colocation %s with %s, which is not placed anywhere", c.id, prim.id)
		default:
			v, ok := w.n.attr(attr)
			if ok == hasValue && strings.EqualFold(v, value) {
				if c.score < model.Infinity {
					w.score = model.AddScores(c.score, w.score)
					note(w.n, c.score, "colocation %s with %s, which is placed here", c.id, prim.id)
				}
			} else if c.score >= model.Infinity {
				w.score = model.AddScores(-c.score, w.score)
				note(w.n, -c.score, "colocation %s: must run with %s, which is on %s", c.id, prim.id, prim.assigned.name)
			}
		}
	})
	if c.score <= -model.Infinity || c.score >= model.Infinity || work.anyAvailable() {
		dep.allowed = work
		dep.contribs = append(dep.contribs, added...)
	} else {
		dep.explain("colocation %s with %s ignored: it would leave no node", c.id, prim.id)
	}
}

type mergeFlags int

const (
	mwInit mergeFlags = 1 << iota
	mwForward
	mwPositive
	mwRollback
)

// infinityHack marks a node made unusable by a negative preference when
// only non-negative preferences may be merged (Pacemaker's INFINITY_HACK).
const infinityHack = model.Score(-100 * 1000000)

// mergeWeights folds r's node preferences (scaled by factor) into nodes
// (pcmk__native_merge_weights / pcmk__group_merge_weights).
func (ws *workingSet) mergeWeights(r *resource, rhs string, nodes *nodeTable, attr string, factor float64, flags mergeFlags, explainOn *resource) *nodeTable {
	if r.variant == vClone {
		return ws.mergeWeightsNative(r, rhs, nodes, attr, factor, flags, explainOn)
	}
	return ws.mergeWeightsNative(r, rhs, nodes, attr, factor, flags, explainOn)
}

func (ws *workingSet) mergeWeightsNative(r *resource, rhs string, nodes *nodeTable, attr string, factor float64, flags mergeFlags, explainOn *resource) *nodeTable {
	if r.merging {
		return nodes
	}
	r.merging = true
	defer func() { r.merging = false }()
	isGroup := r.variant == vGroup && len(r.children) > 0
	var work *nodeTable
	switch {
	case flags&mwInit != 0 && isGroup:
		// Only the resource ordering passes no table: start from the last
		// member's view.
		last := r.children[len(r.children)-1]
		work = ws.mergeWeightsNative(last, rhs, nil, attr, factor, flags, explainOn)
		flags &^= mwInit
	case flags&mwInit != 0:
		work = r.allowed.clone()
		flags &^= mwInit
	case isGroup:
		// The first member incorporates the rest through the group's
		// internal colocations.
		work = ws.mergeWeights(r.children[0], rhs, nodes.clone(), attr, factor, flags, explainOn)
	default:
		work = nodes.clone()
		ws.addNodeScoresMatchingAttr(work, r, attr, factor, flags&mwPositive != 0, explainOn)
	}
	if work.anyAvailable() {
		multiplier := 1.0
		if factor < 0 {
			multiplier = -1
		}
		var list []*colocation
		switch {
		case flags&mwForward != 0:
			list = r.thisWith
		case isGroup:
			list = r.children[len(r.children)-1].withThis
		default:
			list = r.withThis
		}
		for _, c := range list {
			var other *resource
			if flags&mwForward != 0 {
				other = c.primary
			} else if !colocationHasInfluence(c) {
				continue
			} else {
				other = c.dependent
			}
			work = ws.mergeWeights(other, rhs, work, c.nodeAttribute, multiplier*float64(c.score)/float64(model.Infinity), flags|mwRollback, explainOn)
		}
	} else if flags&mwRollback != 0 {
		return nodes
	}
	if flags&mwPositive != 0 {
		work.each(func(w *weighted) {
			if w.score == infinityHack {
				w.score = 1
			}
		})
	}
	return work
}

func (ws *workingSet) addNodeScoresMatchingAttr(nodes *nodeTable, r *resource, attr string, factor float64, onlyPositive bool, explainOn *resource) {
	if attr == "" {
		attr = "#uname"
	}
	nodes.each(func(w *weighted) {
		v, _ := w.n.attr(attr)
		score := ws.bestNodeScoreMatchingAttr(r, attr, v)
		if factor < 0 && score < 0 {
			return
		}
		if w.score == infinityHack {
			return
		}
		f := factor * float64(score)
		var weight model.Score
		if f < 0 {
			weight = model.Score(f - 0.5)
		} else {
			weight = model.Score(f + 0.5)
		}
		if math.IsNaN(f) {
			weight = 0
		}
		if weight == 0 && score != 0 {
			if factor > 0 {
				weight = 1
			} else if factor < 0 {
				weight = -1
			}
		}
		newScore := model.AddScores(weight, w.score)
		if onlyPositive && newScore < 0 && w.score > 0 {
			w.score = infinityHack
			return
		}
		if onlyPositive && newScore < 0 && w.score == 0 {
			return
		}
		if weight != 0 && explainOn != nil {
			explainOn.contrib(w.n, weight, "preferences of %s, which is colocated with it (factor %.2f)", r.id, factor)
		}
		w.score = newScore
	})
}

func (ws *workingSet) bestNodeScoreMatchingAttr(r *resource, attr, value string) model.Score {
	best := -model.Infinity
	if attr == "#uname" {
		// Node names are unique: only the node itself matches.
		if n := ws.nodeByName[value]; n != nil {
			if w := r.allowed.get(n); w != nil && nodeAvailable(w, false) {
				return w.score
			}
		}
		return best
	}
	r.allowed.each(func(w *weighted) {
		v, _ := w.n.attr(attr)
		if w.score > best && nodeAvailable(w, false) && strings.EqualFold(v, value) {
			best = w.score
		}
	})
	return best
}

// assignGroup is pcmk__group_allocate.
func (ws *workingSet) assignGroup(r *resource, prefer *node) *node {
	if !r.provisional {
		return r.assigned
	}
	if r.allocating {
		return nil
	}
	if len(r.children) == 0 {
		r.provisional = false
		return nil
	}
	r.allocating = true
	first := r.children[0]
	r.role = first.role
	ws.expandGroupColocations(r)
	var groupNode *node
	for i, c := range r.children {
		n := ws.assign(c, prefer)
		if i == 0 {
			groupNode = n
		}
	}
	r.setNextRole(first.nextRole, "first group member")
	r.allocating = false
	r.provisional = false
	r.assigned = groupNode
	return groupNode
}

func itoa(i int) string {
	if i >= int(model.Infinity) {
		return "INFINITY"
	}
	return strconvItoa(i)
}

func strconvItoa(i int) string { return strconv.Itoa(i) }

// expandGroupColocations treats "group with X" as "first member with X"
// (and, once a member is unmanaged, mandatory ones as "each later member
// with X"), and "X with group" as "X with last member".
func (ws *workingSet) expandGroupColocations(r *resource) {
	first := r.children[0]
	byPrimary := func(a, b *colocation) int { return cmpColocPriority(a.primary, b.primary) }
	byDependent := func(a, b *colocation) int { return cmpColocPriority(a.dependent, b.dependent) }
	for _, c := range r.thisWith {
		first.thisWith = insertSorted(first.thisWith, c, byPrimary)
	}
	anyUnmanaged := !first.managed
	for _, m := range r.children[1:] {
		if anyUnmanaged {
			for _, c := range r.thisWith {
				if c.score == model.Infinity {
					m.thisWith = insertSorted(m.thisWith, c, byPrimary)
				}
			}
		} else if !m.managed {
			anyUnmanaged = true
		}
	}
	r.thisWith = nil
	last := r.children[len(r.children)-1]
	for _, c := range r.withThis {
		last.withThis = insertSorted(last.withThis, c, byDependent)
	}
	r.withThis = nil
}

// applyShutdownLock keeps a resource of a cleanly shut down node on that
// node (shutdown-lock): it may not start anywhere else until the node
// returns or the lock expires.
func (ws *workingSet) applyShutdownLock(r *resource) {
	switch r.variant {
	case vGroup:
		for _, c := range r.children {
			ws.applyShutdownLock(c)
		}
		return
	case vClone:
		return
	}
	if (r.cfg != nil && r.cfg.Class == "stonith") || r.isRemoteConn() {
		return
	}
	if r.lockNode != nil {
		if len(r.runningOn) > 0 {
			r.lockNode = nil
			r.lockTime = 0
		}
	} else if len(r.runningOn) == 1 {
		n := r.runningOn[0]
		if n.shutdown && !n.unclean {
			r.lockNode = n
			r.lockTime = ws.now
			if v, err := strconv.ParseInt(n.attrs["shutdown"], 10, 64); err == nil && v != 0 {
				r.lockTime = v
			}
		}
	}
	if r.lockNode == nil {
		return
	}
	for _, n := range ws.nodes {
		if n != r.lockNode {
			ws.addLocation(r, n, -model.Infinity, "shutdown-lock: locked to "+r.lockNode.name)
		}
	}
}

// fillers lists the primitives that live in container c (meta container).
func (ws *workingSet) fillers(c *resource) []*resource {
	if ws.fillerMap == nil {
		ws.fillerMap = map[*resource][]*resource{}
		for _, r := range ws.resources {
			for _, p := range r.primitives() {
				if p.container != nil && p.container != p {
					ws.fillerMap[p.container] = append(ws.fillerMap[p.container], p)
				}
			}
		}
	}
	return ws.fillerMap[c]
}
