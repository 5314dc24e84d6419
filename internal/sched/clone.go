package sched

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// Clones: a clone of a primitive or group runs as numbered instances
// ("rsc:0", "rsc:1", ...). Anonymous clones match history to instances by
// node; globally-unique clones by instance number. Promotable clones pick
// up to promoted-max instances to promote by promotion score.

// instanceConfig copies a clone's child configuration for instance n.
func instanceConfig(cfg *model.Resource, n int) *model.Resource {
	c := *cfg
	c.ID = cfg.ID + ":" + strconv.Itoa(n)
	c.Children = nil
	for i := range cfg.Children {
		c.Children = append(c.Children, *instanceConfig(&cfg.Children[i], n))
	}
	return &c
}

func (ws *workingSet) unpackClone(r *resource) error {
	cfg := r.cfg
	if len(cfg.Children) != 1 {
		return fmt.Errorf("clone %q must have exactly one child", r.id)
	}
	m := r.meta
	r.promotable = isTrue(m["promotable"])
	r.interleave = isTrue(m["interleave"])
	r.ordered = isTrue(m["ordered"])
	r.isClone = true
	nodes := len(ws.nodes)
	if nodes < 2 {
		nodes = 1
	}
	r.cloneMax = metaInt(m, "clone-max", nodes)
	r.cloneNodeMax = metaInt(m, "clone-node-max", 1)
	r.promotedMax = metaInt(m, "promoted-max", metaInt(m, "master-max", 1))
	r.promotedNodeMax = metaInt(m, "promoted-node-max", metaInt(m, "master-node-max", 1))
	r.cloneMin = metaInt(m, "clone-min", 0)
	if ws.cloneChildren == nil {
		ws.cloneChildren = map[string]*resource{}
	}
	child := &cfg.Children[0]
	ws.cloneChildren[child.ID] = r
	for _, gc := range child.Children {
		ws.cloneChildren[gc.ID] = r
	}
	max := r.cloneMax
	if max == 0 {
		max = 1 // a :0 orphan slot to match history against
	}
	for i := 0; i < max; i++ {
		inst, err := ws.newResource(instanceConfig(child, i), r)
		if err != nil {
			return err
		}
		inst.instanceNum = i
		if i >= r.cloneMax {
			inst.orphan = true
		}
		r.children = append(r.children, inst)
	}
	r.nextInstance = max
	return nil
}

// cloneOfChild returns the clone whose child (or cloned group member) has
// this base id.
func (ws *workingSet) cloneOfChild(id string) *resource {
	return ws.cloneChildren[id]
}

func memberFor(inst *resource, base string) *resource {
	if inst.variant == vPrimitive {
		if baseID(inst.id) == base {
			return inst
		}
		return nil
	}
	for _, c := range inst.children {
		if baseID(c.id) == base {
			return c
		}
	}
	return nil
}

// instanceLocations lists where an instance (or any member of a cloned
// group) is active or pending.
func instanceLocations(inst *resource) []*node {
	var out []*node
	for _, p := range inst.primitives() {
		for _, n := range p.runningOn {
			out = appendNode(out, n)
		}
		if p.pendingNode != nil {
			out = appendNode(out, p.pendingNode)
		}
	}
	return out
}

// findCloneInstance is unpack_find_resource + find_anonymous_clone.
func (ws *workingSet) findCloneInstance(clone *resource, n *node, id string, h *model.ResourceHistory) *resource {
	base := baseID(id)
	if b := clone.parent; b != nil && b.bundle != nil && !clone.unique {
		if inst := b.replicaForNode(n); inst != nil {
			inst.historyID = id
			return inst
		}
		return ws.orphan(id, h)
	}
	if clone.unique {
		if r, ok := ws.byID[id]; ok && r.variant == vPrimitive {
			r.historyID = id
			return r
		}
		return ws.orphan(id, h)
	}
	var found, inactive *resource
	skipInactive := false
	for _, inst := range clone.children {
		if found != nil {
			break
		}
		locs := instanceLocations(inst)
		if len(locs) > 0 {
			if locs[0] == n {
				if m := memberFor(inst, base); m != nil {
					if len(m.runningOn) > 0 {
						skipInactive = true
					} else {
						found = m
					}
				}
			}
			continue
		}
		if !skipInactive && inactive == nil && !inst.block {
			inactive = memberFor(inst, base)
			if inactive != nil && inactive.pendingNode != nil && inactive.pendingNode != n {
				inactive = nil
			}
		}
	}
	if found == nil && !skipInactive && inactive != nil {
		found = inactive
	}
	if found != nil && !found.needsFencing && (!n.online || n.unclean) && !ws.universalClone(clone) {
		found = nil
	}
	if found == nil {
		inst := ws.anonymousOrphan(clone)
		found = memberFor(inst, base)
		if found == nil {
			return nil
		}
	}
	found.historyID = id
	return found
}

func (ws *workingSet) universalClone(clone *resource) bool {
	return clone.cloneMax >= len(ws.nodes)
}

func (ws *workingSet) anonymousOrphan(clone *resource) *resource {
	i := clone.nextInstance
	clone.nextInstance++
	inst, err := ws.newResource(instanceConfig(&clone.cfg.Children[0], i), clone)
	if err != nil {
		return nil
	}
	inst.instanceNum = i
	for _, p := range append([]*resource{inst}, inst.children...) {
		p.orphan = true
		ws.finishResource(p)
	}
	clone.children = append(clone.children, inst)
	return inst
}

// assignClone is pcmk__clone_allocate.
func (ws *workingSet) assignClone(r *resource, prefer *node) *node {
	if !r.provisional || r.allocating {
		return nil
	}
	if r.promotable {
		ws.addPromotionScores(r)
	}
	r.allocating = true
	for _, c := range r.thisWith {
		ws.assign(c.primary, prefer)
	}
	for _, c := range r.withThis {
		if colocationHasInfluence(c) {
			r.allowed = ws.mergeWeights(c.dependent, r.id, r.allowed, c.nodeAttribute, float64(c.score)/float64(model.Infinity), mwRollback|mwPositive, r)
		}
	}
	sort.SliceStable(r.children, func(i, j int) bool { return ws.cmpInstance(r.children[i], r.children[j]) < 0 })
	ws.distributeChildren(r, r.children)
	if r.promotable {
		ws.setInstanceRoles(r)
	}
	r.provisional = false
	r.allocating = false
	return nil
}

// distributeChildren is distribute_children: it places kids, the
// instances of clone r (or the containers of bundle r).
func (ws *workingSet) distributeChildren(r *resource, kids []*resource) {
	available := 0
	r.allowed.each(func(w *weighted) {
		w.count = 0
		if w.n.canRun() {
			available++
		}
	})
	max := r.cloneMax
	allColoc := max < available
	loopMax := 1
	if available > 0 {
		loopMax = max / available
	}
	if loopMax < 1 {
		loopMax = 1
	}
	allocated := 0
	for _, c := range kids {
		if allocated >= max {
			break
		}
		if len(instanceRunning(c)) == 0 || !c.provisional || c.anyFailed() {
			continue
		}
		cur := c.currentNode()
		local := r.allowed.get(cur)
		if !cur.canRun() {
			continue
		}
		if local != nil && local.count >= loopMax {
			continue
		}
		if ws.allocateInstance(c, cur, allColoc, r.cloneNodeMax) != nil {
			allocated++
		}
	}
	for _, c := range kids {
		if !c.provisional {
			continue
		}
		if allocated >= max {
			for _, n := range ws.nodes {
				ws.addLocation(c, n, -model.Infinity, "clone-max reached")
			}
			c.explain("not placed: clone-max %d reached", max)
			ws.assignNowhere(c)
			continue
		}
		if ws.allocateInstance(c, nil, allColoc, r.cloneNodeMax) != nil {
			allocated++
		}
	}
}

// assignNowhere finalises an instance as stopped.
func (ws *workingSet) assignNowhere(c *resource) {
	for _, p := range append([]*resource{c}, c.primitives()...) {
		if p.provisional {
			if p.variant == vPrimitive {
				ws.finalizeAssignment(p, nil, true)
			} else {
				p.provisional = false
			}
		}
	}
}

func instanceRunning(c *resource) []*node {
	var out []*node
	for _, p := range c.primitives() {
		for _, n := range p.runningOn {
			out = appendNode(out, n)
		}
	}
	return out
}

func (c *resource) currentNode() *node {
	for _, p := range c.primitives() {
		if len(p.runningOn) > 0 {
			return p.runningOn[0]
		}
	}
	return nil
}

func (c *resource) anyFailed() bool {
	for _, p := range c.primitives() {
		if p.failed {
			return true
		}
	}
	return false
}

// allocateInstance is allocate_instance.
func (ws *workingSet) allocateInstance(c *resource, prefer *node, allColoc bool, limit int) *node {
	if !c.provisional {
		return c.location()
	}
	if c.allocating {
		return nil
	}
	parent := c.parent
	for _, pc := range parent.thisWith {
		if allColoc || pc.score < 0 || pc.score == model.Infinity {
			c.thisWith = append([]*colocation{pc}, c.thisWith...)
		}
	}
	for _, pc := range parent.withThis {
		if allColoc || pc.score < 0 {
			c.withThis = append([]*colocation{pc}, c.withThis...)
		}
	}
	if prefer != nil {
		lp := c.allowed.get(prefer)
		if lp == nil || lp.score < 0 {
			return nil
		}
	}
	ws.canRunInstance(c, limit)
	backup := ws.snapshotAllowed(c)
	chosen := ws.assign(c, prefer)
	if chosen != nil && prefer != nil && chosen != prefer {
		ws.restoreAllowed(c, backup)
		ws.unassign(c)
		chosen = nil
	}
	if chosen != nil {
		if local := parent.allowed.get(chosen); local != nil {
			local.count++
		}
	}
	return chosen
}

type allowedSnapshot map[*resource]*nodeTable

func (ws *workingSet) snapshotAllowed(c *resource) allowedSnapshot {
	s := allowedSnapshot{c: c.allowed.clone()}
	for _, ch := range c.children {
		s[ch] = ch.allowed.clone()
	}
	return s
}

func (ws *workingSet) restoreAllowed(c *resource, s allowedSnapshot) {
	for r, t := range s {
		r.allowed = t
	}
}

// unassign is pcmk__unassign_resource.
func (ws *workingSet) unassign(c *resource) {
	for _, p := range append([]*resource{c}, c.children...) {
		if p.assigned != nil && p.variant == vPrimitive {
			p.assigned.numResources--
			ws.releaseCapacity(p.assigned, p)
		}
		p.assigned = nil
		p.provisional = true
		if p.variant == vPrimitive {
			p.nextRole = RoleUnknown
			if r, ok := targetRole(p); ok {
				p.nextRole = r
			}
		}
	}
}

// canRunInstance is can_run_instance over every allowed node.
func (ws *workingSet) canRunInstance(c *resource, limit int) {
	c.allowed.each(func(w *weighted) {
		n := w.n
		ok := false
		switch {
		case !n.canRun(), c.orphan:
		default:
			local := c.parent.allowed.get(n)
			switch {
			case local == nil:
			case local.score < 0:
				ws.updateScore(c, n, local.score)
				return
			case local.count < limit:
				ok = true
			}
		}
		if !ok {
			ws.updateScore(c, n, -model.Infinity)
		}
	})
}

// updateScore is common_update_score.
func (ws *workingSet) updateScore(r *resource, n *node, s model.Score) {
	if w := r.allowed.get(n); w != nil {
		w.score = model.AddScores(w.score, s)
	}
	for _, c := range r.children {
		ws.updateScore(c, n, s)
	}
}

// cmpInstance is pcmk__cmp_instance: the order instances are placed in.
func (ws *workingSet) cmpInstance(a, b *resource) int {
	na, nb := len(instanceRunning(a)), len(instanceRunning(b))
	if na > 0 && nb > 0 {
		if na < nb {
			return -1
		}
		if na > nb {
			return 1
		}
	}
	n1, n2 := a.currentNode(), b.currentNode()
	can1, can2 := true, true
	if n1 != nil {
		if w := a.allowed.get(n1); w == nil || w.score < 0 {
			n1 = nil
			can1 = false
		}
	}
	if n2 != nil {
		if w := b.allowed.get(n2); w == nil || w.score < 0 {
			n2 = nil
			can2 = false
		}
	}
	if can1 && !can2 {
		return -1
	}
	if !can1 && can2 {
		return 1
	}
	if a.priority > b.priority {
		return -1
	}
	if a.priority < b.priority {
		return 1
	}
	if n1 == nil && n2 == nil {
		return 0
	}
	if n1 == nil {
		return 1
	}
	if n2 == nil {
		return -1
	}
	c1, c2 := n1.canRun(), n2.canRun()
	if c1 && !c2 {
		return -1
	}
	if !c1 && c2 {
		return 1
	}
	l1, l2 := a.parent.allowed.get(n1), b.parent.allowed.get(n2)
	if l1 == nil && l2 == nil {
		return 0
	}
	if l1 == nil {
		return 1
	}
	if l2 == nil {
		return -1
	}
	if l1.count < l2.count {
		return -1
	}
	if l1.count > l2.count {
		return 1
	}
	f1, f2 := a.anyFailed(), b.anyFailed()
	if f1 && !f2 {
		return 1
	}
	if !f1 && f2 {
		return -1
	}
	return strings.Compare(a.id, b.id)
}

// cloneColocationRH applies a colocation whose primary is a clone to the
// dependent (clone_rsc_colocation_rh).
func (ws *workingSet) cloneColocationRH(dep, prim *resource, c *colocation) {
	if prim.promotable {
		switch {
		case prim.provisional:
			return
		case c.primRole == RoleUnknown:
		case dep.provisional:
			ws.updateDependentWithPromotable(prim, dep, c)
			return
		case c.depRole == RolePromoted:
			ws.updatePromotableDependentPriority(prim, dep, c)
			return
		}
	}
	if prim.provisional {
		return
	}
	interleave := false
	if isTrue(c.dependent.meta["interleave"]) && c.dependent.variant == vClone {
		if copiesPerNode(c.dependent) == copiesPerNode(c.primary) {
			interleave = true
		}
	}
	if interleave {
		pi := ws.findCompatibleChild(dep, prim, RoleUnknown, false)
		if pi != nil {
			ws.colocationApply(dep, pi, c)
		} else if c.score >= model.Infinity {
			for _, p := range append([]*resource{dep}, dep.primitives()...) {
				p.allowed.each(func(w *weighted) { w.score = -model.Infinity })
			}
			dep.explain("cannot pair with an instance of %s (interleaved)", prim.id)
		}
		return
	}
	if c.score >= model.Infinity {
		var affected []*node
		for _, inst := range prim.children {
			if n := inst.location(); n != nil && !inst.blockedRecursive() {
				affected = appendNode(affected, n)
			}
		}
		nodeListExclude(dep.allowed, affected, nil)
		for _, n := range ws.nodes {
			if !containsNode(affected, n) {
				dep.contrib(n, -model.Infinity, "colocation %s: no instance of %s runs here", c.id, prim.id)
			}
		}
		return
	}
	for _, inst := range prim.children {
		ws.colocationApplyPrimaryInstance(dep, inst, c)
	}
}

func (ws *workingSet) colocationApplyPrimaryInstance(dep, inst *resource, c *colocation) {
	if inst.variant == vGroup {
		if len(inst.children) == 0 {
			return
		}
		if c.score >= model.Infinity {
			inst = inst.children[len(inst.children)-1]
		} else {
			inst = inst.children[0]
		}
	}
	ws.colocationApply(dep, inst, c)
}

func (r *resource) blockedRecursive() bool {
	if r.block {
		return true
	}
	for _, c := range r.children {
		if c.blockedRecursive() {
			return true
		}
	}
	return false
}

func copiesPerNode(r *resource) int {
	if r.variant == vClone {
		return r.cloneNodeMax
	}
	return 1
}

// nodeListExclude bans nodes not in list; with scores, adds the list's
// scores to the matching nodes.
func nodeListExclude(t *nodeTable, list []*node, scores map[*node]model.Score) {
	in := map[*node]bool{}
	for _, n := range list {
		in[n] = true
	}
	t.each(func(w *weighted) {
		if !in[w.n] {
			w.score = -model.Infinity
		} else if scores != nil {
			w.score = model.AddScores(w.score, scores[w.n])
		}
	})
	for _, n := range list {
		if t.get(n) == nil {
			t.set(n, -model.Infinity)
		}
	}
}

// findCompatibleChild finds an instance of clone that is (to be) placed
// where local is.
func (ws *workingSet) findCompatibleChild(local, clone *resource, filter Role, current bool) *resource {
	var ln *node
	if current {
		ln = local.currentLocation()
	} else {
		ln = local.location()
	}
	if ln != nil {
		return ws.compatibleByNode(ln, clone, filter, current)
	}
	for _, w := range ws.sortedNodes(local.allowed, nil) {
		if p := ws.compatibleByNode(w.n, clone, filter, current); p != nil {
			return p
		}
	}
	return nil
}

func (r *resource) currentLocation() *node {
	locs := instanceRunning(r)
	if len(locs) == 1 {
		return locs[0]
	}
	return nil
}

func (ws *workingSet) compatibleByNode(n *node, clone *resource, filter Role, current bool) *resource {
	for _, inst := range clone.instances() {
		var role Role
		if current {
			role = inst.state()
		} else {
			role = inst.nextState()
		}
		var loc *node
		if !inst.blockedRecursive() {
			if current {
				loc = inst.currentLocation()
			} else {
				loc = inst.location()
			}
		}
		if filter != RoleUnknown && role != filter {
			continue
		}
		if loc != nil && loc == n {
			return inst
		}
	}
	return nil
}

// nextState is fns->state(rsc, FALSE): the highest next role.
func (r *resource) nextState() Role {
	if r.variant == vPrimitive {
		return r.nextRole
	}
	best := RoleUnknown
	for _, c := range r.children {
		if s := c.nextState(); s > best {
			best = s
		}
	}
	return best
}

// createCloneActions is clone_create_actions.
func (ws *workingSet) createCloneActions(r *resource) {
	starting, stopping, active := false, false, false
	allowDependentMigrations := true
	for _, c := range r.children {
		ws.createActions(c)
		st, sp := false, false
		cloneUpdatePseudoStatus(c, &sp, &st, &active)
		if sp && st {
			allowDependentMigrations = false
		}
		stopping = stopping || sp
		starting = starting || st
	}
	ws.pseudoStatusActions(r, starting, stopping, active, allowDependentMigrations)
	if r.ordered {
		var lastStop, lastStart *Action
		kids := append([]*resource(nil), r.children...)
		sort.SliceStable(kids, func(i, j int) bool { return kids[i].id < kids[j].id })
		for _, c := range kids {
			if s := c.findTask("stop", nil); s != nil {
				if lastStop != nil {
					orderActions(s, lastStop, ofOptional)
				}
				lastStop = s
			}
			if s := c.findTask("start", nil); s != nil {
				if lastStart != nil {
					orderActions(lastStart, s, ofOptional)
				}
				lastStart = s
			}
		}
	}
	if r.promotable {
		ws.createPromotableActions(r)
	}
}

// clonePseudoActions is clone_create_pseudo_actions over kids (already
// with their own actions).
func (ws *workingSet) clonePseudoActions(r *resource, kids []*resource) {
	starting, stopping, active := false, false, false
	allowDependentMigrations := true
	for _, c := range kids {
		st, sp := false, false
		cloneUpdatePseudoStatus(c, &sp, &st, &active)
		if sp && st {
			allowDependentMigrations = false
		}
		stopping = stopping || sp
		starting = starting || st
	}
	ws.pseudoStatusActions(r, starting, stopping, active, allowDependentMigrations)
}

// pseudoStatusActions creates a collective resource's start, running,
// stop and stopped pseudo-actions.
func (ws *workingSet) pseudoStatusActions(r *resource, starting, stopping, active, allowDependentMigrations bool) {
	ws.pseudo(r, "start", !starting, true)
	started := ws.pseudo(r, "running", !starting, false)
	if active || starting {
		started.set(afRunnable)
	}
	stop := ws.pseudo(r, "stop", !stopping, true)
	ws.pseudo(r, "stopped", !stopping, true)
	if allowDependentMigrations {
		stop.set(afMigrateRunnable)
	}
}

func (ws *workingSet) pseudo(r *resource, task string, optional, runnable bool) *Action {
	a := ws.customAction(r, opKey(r.id, task, 0), task, nil, optional)
	a.set(afPseudo)
	if runnable {
		a.set(afRunnable)
	} else {
		a.clear(afRunnable)
	}
	return a
}

func cloneUpdatePseudoStatus(r *resource, stopping, starting, active *bool) {
	if len(r.children) > 0 {
		for _, c := range r.children {
			cloneUpdatePseudoStatus(c, stopping, starting, active)
		}
		return
	}
	if len(r.runningOn) > 0 {
		*active = true
	}
	for _, a := range r.actions {
		if *starting && *stopping {
			return
		}
		if a.is(afOptional) {
			continue
		}
		if !a.is(afPseudo) && !a.is(afRunnable) {
			continue
		}
		switch a.Task {
		case "stop":
			*stopping = true
		case "start":
			if a.is(afRunnable) {
				*starting = true
			}
		}
	}
}

// cloneInternal is clone_internal_constraints.
func (ws *workingSet) cloneInternal(r *resource) {
	ws.orderResourceActions(r, "stopped", r, "start", ofOptional)
	ws.orderResourceActions(r, "start", r, "running", ofRunnableLeft)
	ws.orderResourceActions(r, "stop", r, "stopped", ofRunnableLeft)
	if r.promotable {
		ws.orderResourceActions(r, "demoted", r, "stop", ofOptional)
		ws.orderResourceActions(r, "running", r, "promote", ofRunnableLeft)
	}
	kids := r.children
	if r.ordered {
		kids = append([]*resource(nil), r.children...)
		sort.SliceStable(kids, func(i, j int) bool { return kids[i].id < kids[j].id })
	}
	var last *resource
	for _, c := range kids {
		ws.internalConstraints(c)
		ws.orderResourceActions(r, "start", c, "start", ofRunnableLeft|ofImpliesFirstPrinted)
		ws.orderResourceActions(c, "start", r, "running", ofImpliesThenPrinted)
		if r.ordered && last != nil {
			ws.orderResourceActions(last, "start", c, "start", ofOptional)
		}
		ws.orderResourceActions(r, "stop", c, "stop", ofImpliesFirstPrinted)
		ws.orderResourceActions(c, "stop", r, "stopped", ofImpliesThenPrinted)
		if r.ordered && last != nil {
			ws.orderResourceActions(c, "stop", last, "stop", ofOptional)
		}
		last = c
	}
	if r.promotable {
		ws.promotableConstraints(r)
	}
}

// cloneActionFlags is summary_action_flags.
func (ws *workingSet) cloneActionFlags(a *Action, n *node) actionFlags {
	return ws.summaryActionFlags(a, a.rsc.children, n)
}

// summaryActionFlags is summary_action_flags over kids.
func (ws *workingSet) summaryActionFlags(a *Action, kids []*resource, n *node) actionFlags {
	flags := afOptional | afRunnable | afPseudo
	task := taskToChild(a.Task)
	anyRunnable := false
	for _, c := range kids {
		var ca *Action
		if len(c.children) > 0 {
			ca = c.findTask(task, nil)
		} else {
			ca = c.findTask(task, n)
		}
		if ca == nil {
			continue
		}
		cf := ws.actionFlagsFor(ca, n)
		if flags&afOptional != 0 && cf&afOptional == 0 {
			flags &^= afOptional
			a.clear(afOptional)
		}
		if cf&afRunnable != 0 {
			anyRunnable = true
		}
	}
	if !anyRunnable {
		flags &^= afRunnable
		if n == nil {
			a.clear(afRunnable)
		}
	}
	return flags
}

func canInterleave(first, then *Action) bool {
	if first.rsc == nil || then.rsc == nil || first.rsc == then.rsc {
		return false
	}
	if first.rsc.variant < vClone || then.rsc.variant < vClone {
		return false
	}
	r := then.rsc
	if strings.HasSuffix(then.key, "_stop_0") || strings.HasSuffix(then.key, "_demote_0") {
		r = first.rsc
	}
	return isTrue(r.meta["interleave"])
}

// cloneUpdateOrdered is pcmk__multi_update_actions.
func (ws *workingSet) cloneUpdateOrdered(first, then *Action, n *node, flags, filter actionFlags, typ orderFlags, depth int) (bool, bool) {
	ct, cf := false, false
	if canInterleave(first, then) {
		current := strings.HasSuffix(first.key, "_stopped_0") || strings.HasSuffix(first.key, "_demoted_0")
		for _, tc := range then.rsc.instances() {
			fc := ws.findCompatibleChild(tc, first.rsc, RoleUnknown, current)
			if fc == nil {
				if current {
					continue
				}
				if typ&(ofRunnableLeft|ofImpliesThen) != 0 {
					for _, p := range tc.primitives() {
						if p.assigned != nil {
							p.assigned.numResources--
							ws.releaseCapacity(p.assigned, p)
							p.assigned = nil
							p.setNextRole(RoleStopped, "no instance to pair with")
							ct = true
						}
					}
				}
				continue
			}
			ftask := taskToChild(first.Task)
			fa := fc.findTask(ftask, n)
			ta := tc.findTask(then.Task, n)
			if fa == nil || ta == nil {
				continue
			}
			if orderActions(fa, ta, typ) {
				ct, cf = true, true
			}
			t, f := ws.updateOrdered(fa, ta, n, ws.actionFlagsFor(fa, n), filter, typ, depth)
			ct, cf = ct || t, cf || f
		}
		return ct, cf
	}
	t, f := ws.updatePrimitiveOrdered(first, then, n, flags, filter, typ, depth)
	ct, cf = t, f
	for _, tc := range then.rsc.instances() {
		ta := tc.findTask(then.Task, n)
		if ta == nil {
			continue
		}
		tf := ws.actionFlagsFor(ta, n)
		if tf&afRunnable != 0 {
			t, f := ws.updateOrdered(first, ta, n, flags, filter, typ, depth)
			cf = cf || f
			if t {
				ct = true
				for _, e := range newestFirst(ta.after) {
					ws.updateActionForOrderings(e.action, depth+1)
				}
			}
		}
	}
	return ct, cf
}

// influencePriority adjusts a promotable instance's promotion priority by
// a colocation with a role (influence_priority).
func (ws *workingSet) influencePriority(dep, prim *resource, c *colocation) {
	if prim.assigned == nil || dep.assigned == nil {
		if prim.variant != vPrimitive || dep.location() == nil {
			return
		}
	}
	pl, dl := prim.location(), dep.location()
	if pl == nil || dl == nil {
		return
	}
	attr := c.nodeAttribute
	if attr == "" {
		attr = "#uname"
	}
	lv, _ := dl.attr(attr)
	rv, _ := pl.attr(attr)
	if !strings.EqualFold(lv, rv) {
		if c.score == model.Infinity && c.depRole == RolePromoted {
			dep.priority = -int(model.Infinity)
		}
		return
	}
	if c.primRole != RoleUnknown && c.primRole != prim.nextRole {
		return
	}
	mult := model.Score(1)
	if c.depRole == RoleUnpromoted {
		mult = -1
	}
	dep.priority = int(model.AddScores(mult*c.score, model.Score(dep.priority)))
}
