package sched

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/paceline/paceline/internal/model"
)

func isTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "on", "yes", "y", "1":
		return true
	}
	return false
}

// intervalSpecMS reads an interval the way Pacemaker's
// crm_parse_interval_spec does, reporting whether it was valid
// (model.ParseTimeSpec).
func intervalSpecMS(s string) (int64, bool) {
	d, ok := model.ParseTimeSpec(s)
	return d.Milliseconds(), ok
}

// parseIntervalMS reads Pacemaker durations ("10s", "1min", "500ms", "60",
// "PT10S") as milliseconds, 0 for what it cannot read (model.TimeSpec).
func parseIntervalMS(s string) int64 { return model.TimeSpec(s).Milliseconds() }

func scoreOf(s string) model.Score {
	v, err := model.ParseScore(s)
	if err != nil {
		return 0
	}
	return v
}

// unpackConfig reads cluster options.
func (ws *workingSet) unpackConfig() {
	p := ws.mergeSets(ws.cfg.PropertySets, ws.cfg.Properties, bootstrapSet, ruleContext{})
	if p == nil {
		p = map[string]string{}
	}
	ws.props = p
	o := model.ParseClusterOptions(p)
	ws.symmetric = o.SymmetricCluster
	ws.stonithEnabled = o.StonithEnabled
	// A watchdog (SBD) can fence a node itself: that counts as a device.
	ws.haveStonith = o.HaveWatchdog
	ws.noQuorumPolicy = o.NoQuorumPolicy
	ws.stopOrphans = o.StopOrphanResources
	ws.stopOrphanActions = o.StopOrphanActions
	ws.startFailFatal = o.StartFailureIsFatal
	ws.maintenanceMode = o.MaintenanceMode
	ws.stopEverything = o.StopAllResources
	ws.startupFencing = o.StartupFencing
	ws.enableProbes = o.EnableStartupProbes
	ws.placementStrategy = o.PlacementStrategy
	ws.stonithAction = o.StonithAction
	ws.shutdownLock = o.ShutdownLock
	if ws.shutdownLock {
		ws.shutdownLockLimit = int64(o.ShutdownLockLimit / time.Second)
	}
	ws.haveQuorum = ws.st == nil || ws.st.HaveQuorum
}

// unpackNodes builds nodes from the configuration and their status.
func (ws *workingSet) unpackNodes() {
	ws.nodeByName = map[string]*node{}
	for i, cn := range ws.cfg.Nodes {
		n := &node{name: cn.Name, id: cn.ID, index: i, attrs: map[string]string{}, score: cn.Score}
		if cn.Type == model.NodeRemote {
			n.remote = true
		}
		n.ping = cn.Type == model.NodePing
		// Node attribute sets are evaluated without a node (as in
		// Pacemaker's add_node_attrs): only date rules can match.
		for k, v := range ws.mergeSets(cn.AttributeSets, cn.Attributes, "", ruleContext{}) {
			n.attrs[k] = v
		}
		if ws.startupFencing {
			n.unclean = true
		}
		n.unseen = true
		ws.nodes = append(ws.nodes, n)
		ws.nodeByName[n.name] = n
	}
	ws.addRemoteNodes()
	ws.addBundleNodes()
	if ws.st == nil {
		return
	}
	if ws.st.DC != "" {
		ws.dcNode = ws.nodeByName[ws.st.DC]
	}
	for i := range ws.st.Nodes {
		ns := &ws.st.Nodes[i]
		n := ws.nodeByName[ns.Name]
		if n == nil {
			continue
		}
		for k, v := range ns.Attributes {
			n.attrs[k] = v
		}
	}
	for _, n := range ws.nodes {
		if isTrue(n.attrs["standby"]) {
			n.standby = true
		}
		if isTrue(n.attrs["maintenance"]) {
			n.maintenance = true
		}
		if v, ok := n.attrs["shutdown"]; ok && v != "" && v != "0" {
			n.shutdown = true
		}
		if n == ws.dcNode {
			n.attrs["#is_dc"] = "true"
		}
	}
	for i := range ws.st.Nodes {
		ns := &ws.st.Nodes[i]
		n := ws.nodeByName[ns.Name]
		if n == nil || n.remote {
			continue
		}
		n.unclean = false
		n.unseen = false
		n.expectedUp = ns.Expected == "member"
		if n.ping {
			// A quorum-only node (a witness) is, as far as resources
			// are concerned, safely offline (Pacemaker's ping nodes).
			n.online = false
			continue
		}
		if ws.stonithEnabled {
			n.online = ws.onlineFencing(n, ns)
		} else {
			n.online = ws.onlineNoFencing(n, ns)
		}
		if n.online {
			if n.shutdown {
				// A node shutting down cannot run resources.
			}
		}
	}
}

func (ws *workingSet) onlineNoFencing(n *node, ns *model.NodeStatus) bool {
	if !isTrue(ns.InCluster) {
		return false
	}
	if ns.Peer == "online" {
		return ns.Join == "member"
	}
	if !n.expectedUp {
		return false
	}
	ws.fenceNode(n, "peer is unexpectedly down", false)
	return false
}

func (ws *workingSet) onlineFencing(n *node, ns *model.NodeStatus) bool {
	terminate := false
	if v := n.attrs["terminate"]; isTrue(v) {
		terminate = true
	} else if v != "" && v[0] != '0' && v[0] >= '0' && v[0] <= '9' {
		terminate = true
	}
	online := isTrue(ns.InCluster)
	peerOnline := ns.Peer == "online"
	exp := ns.Expected
	if exp == "" {
		exp = "down"
	}
	switch {
	case n.shutdown:
		online = peerOnline
	case ns.InCluster == "":
		ws.fenceNode(n, "peer has not been seen by the cluster", false)
	case ns.Join == "banned":
		ws.fenceNode(n, "peer failed Pacemaker membership criteria", false)
	case !terminate && exp == "down":
		if isTrue(ns.InCluster) || peerOnline {
			n.standby = true
			n.pending = true
		}
	case terminate && ns.Join == "down" && !isTrue(ns.InCluster) && !peerOnline:
		online = false
	case !isTrue(ns.InCluster):
		ws.fenceNode(n, "peer is no longer part of the cluster", true)
	case !peerOnline:
		ws.fenceNode(n, "peer process is no longer available", false)
	case terminate:
		ws.fenceNode(n, "termination was requested", false)
	case ns.Join == "member":
	case ns.Join == "pending" || ns.Join == "down":
		n.standby = true
		n.pending = true
	default:
		ws.fenceNode(n, "peer was in an unknown state", false)
	}
	return online
}

// fenceNode marks a node unclean and records why it must be fenced (the
// first reason wins), as pe_fence_node does.
func (ws *workingSet) fenceNode(n *node, reason string, priorityDelay bool) {
	if ws.fenceRemote(n, reason) {
		return
	}
	if n.unclean {
		if n.fenceReason == "" {
			// unclean from start-up: keep it reason-less
		}
		return
	}
	n.unclean = true
	if n.fenceReason == "" {
		n.fenceReason = reason
	}
}

// canFence is pe_can_fence.
func (ws *workingSet) canFence(n *node) bool {
	switch {
	case n.isGuest():
		return ws.canFenceGuest(n)
	case !ws.stonithEnabled:
		return false
	case !ws.haveStonith:
		return false
	case ws.haveQuorum:
		return true
	case ws.noQuorumPolicy == "ignore":
		return true
	case n == nil:
		return false
	case n.online:
		return true
	}
	return false
}

// newTable returns an empty node table sized for the cluster, carved from a
// shared slab to keep allocation cheap on large clusters.
func (ws *workingSet) newTable() *nodeTable {
	n := len(ws.nodes)
	if len(ws.tableSlab) < n {
		ws.tableSlab = make([]weighted, n*256)
	}
	t := &nodeTable{entries: ws.tableSlab[:n:n]}
	ws.tableSlab = ws.tableSlab[n:]
	return t
}

// effectiveMeta merges a resource's meta attributes as Pacemaker's
// get_meta_attributes does, each source filling only names still unset:
// the resource's own sets, its ancestors' own sets (nearest first), the
// rsc_defaults, then everything its parent ended up with. Rules are
// evaluated without a node, with r as the rsc_expression's resource.
func (ws *workingSet) effectiveMeta(r *model.Resource, parent *resource) map[string]string {
	m := map[string]string{}
	fill := func(src map[string]string) {
		for k, v := range src {
			if _, ok := m[k]; !ok {
				m[k] = v
			}
		}
	}
	c := ruleContext{agent: r}
	fill(ws.mergeSets(r.MetaSets, r.Meta, "", c))
	for p := parent; p != nil; p = p.parent {
		if p.cfg != nil {
			fill(ws.mergeSets(p.cfg.MetaSets, p.cfg.Meta, "", c))
		}
	}
	fill(ws.mergeSets(ws.cfg.RscDefaultSets, ws.cfg.RscDefaults, "", c))
	if parent != nil {
		fill(parent.meta)
	}
	return m
}

func metaInt(m map[string]string, key string, def int) int {
	v, ok := m[key]
	if !ok || v == "" {
		return def
	}
	s := scoreOf(v)
	return int(s)
}

// unpackResources builds the resource tree.
func (ws *workingSet) unpackResources() error {
	ws.byID = map[string]*resource{}
	ws.enableUnfencing = ws.unfencingDevices()
	for i := range ws.cfg.Resources {
		r, err := ws.newResource(&ws.cfg.Resources[i], nil)
		if err != nil {
			return err
		}
		ws.resources = append(ws.resources, r)
	}
	for _, r := range ws.resources {
		for _, p := range r.primitives() {
			if p.cfg != nil && p.cfg.Class == "stonith" {
				ws.haveStonith = true
			}
		}
	}
	ws.linkConnections()
	for _, r := range ws.resources {
		ws.finishResource(r)
	}
	return nil
}

func (ws *workingSet) newResource(cfg *model.Resource, parent *resource) (*resource, error) {
	r := &resource{id: cfg.ID, cfg: cfg, parent: parent, ws: ws, knownOn: map[*node]bool{}}
	r.meta = ws.effectiveMeta(cfg, parent)
	switch cfg.Kind {
	case model.KindPrimitive, "":
		r.variant = vPrimitive
		r.ops = cfg.Ops
	case model.KindGroup:
		r.variant = vGroup
	case model.KindClone:
		r.variant = vClone
	case model.KindBundle:
		r.variant = vBundle
	default:
		return nil, fmt.Errorf("resource %q: kind %q is not supported", cfg.ID, cfg.Kind)
	}
	if _, dup := ws.byID[r.id]; dup {
		return nil, fmt.Errorf("resource %q is defined twice", r.id)
	}
	ws.byID[r.id] = r
	ws.commonUnpack(r)
	switch r.variant {
	case vGroup:
		if parent != nil && parent.promotable {
			r.meta["stateful"] = "true"
		}
		for i := range cfg.Children {
			c, err := ws.newResource(&cfg.Children[i], r)
			if err != nil {
				return nil, err
			}
			r.children = append(r.children, c)
		}
	case vClone:
		if err := ws.unpackClone(r); err != nil {
			return nil, err
		}
	case vBundle:
		if err := ws.unpackBundle(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// commonUnpack reads meta-attributes every resource kind shares.
func (ws *workingSet) commonUnpack(r *resource) {
	m := r.meta
	r.priority = metaInt(m, "priority", 0)
	r.role = RoleStopped
	r.nextRole = RoleUnknown
	r.managed = true
	if v, ok := m["is-managed"]; ok {
		r.managed = isTrue(v)
	}
	if isTrue(m["maintenance"]) {
		r.managed = false
		r.maintenance = true
	}
	if ws.maintenanceMode {
		r.managed = false
	}
	r.critical = true
	if v, ok := m["critical"]; ok {
		r.critical = isTrue(v)
	}
	r.notify = isTrue(m["notify"])
	// Everything but anonymous clone instances is "unique" to Pacemaker.
	if r.variant == vClone || r.isCloneInstance() {
		r.unique = isTrue(m["globally-unique"])
	} else {
		r.unique = true
	}
	r.allowMigrate = isTrue(m["allow-migrate"])
	if v, ok := m["resource-stickiness"]; ok && v != "default" {
		r.stickiness = scoreOf(v)
	} else if v, ok := ws.props["default-resource-stickiness"]; ok {
		r.stickiness = scoreOf(v)
	}
	r.migrationThreshold = int(model.Infinity)
	if v, ok := m["migration-threshold"]; ok {
		r.migrationThreshold = int(scoreOf(v))
		if r.migrationThreshold < 0 {
			r.migrationThreshold = 1 // as Pacemaker does
		}
	}
	if v, ok := m["failure-timeout"]; ok {
		r.failureTimeout = parseIntervalMS(v) / 1000
	}
	r.recovery = m["multiple-active"]
	if r.recovery == "" {
		r.recovery = "stop_start"
	}
	r.restartType = m["restart-type"]
	r.provisional = true
	r.allowed = ws.newTable()
	if tr, ok := m["target-role"]; ok {
		r.targetRole = parseRole(tr)
		r.targetRoleSet = true
	}
}

// finishResource sets flags that depend on the whole tree (requires,
// allowed nodes) for r and its descendants.
func (ws *workingSet) finishResource(r *resource) {
	for _, c := range r.children {
		ws.finishResource(c)
	}
	req := r.meta["requires"]
	isFence := r.variant == vPrimitive && r.cfg != nil && r.cfg.Class == "stonith"
	if req == "" {
		switch {
		case isFence:
			req = "quorum"
		case ws.enableUnfencing:
			req = "unfencing"
		case ws.stonithEnabled:
			req = "fencing"
		default:
			req = "quorum"
		}
	}
	switch req {
	case "nothing":
	case "quorum":
		r.needsQuorum = true
	case "fencing", "unfencing":
		if ws.stonithEnabled && !isFence {
			r.needsFencing = true
			r.needsUnfencing = req == "unfencing" && ws.enableUnfencing
		}
		r.needsQuorum = true
	default:
		r.needsQuorum = true
	}
	// Allowed nodes: every node in a symmetric cluster, with the node's
	// own score.
	if ws.symmetric {
		for _, n := range ws.nodes {
			r.allowed.set(n, n.score)
		}
	}
	if r.bundle != nil {
		ws.finishBundle(r)
	}
}

// instanceOf finds the configured resource a history entry belongs to.
func (ws *workingSet) lookupHistoryResource(id string) *resource {
	if r, ok := ws.byID[id]; ok && r.variant == vPrimitive {
		return r
	}
	return nil
}

// unpackStatus processes every node's operation history.
func (ws *workingSet) unpackStatus() {
	if ws.st == nil {
		return
	}
	ws.unpackNodeHistories()
	// Target roles apply to every primitive.
	for _, r := range ws.resources {
		for _, p := range r.primitives() {
			ws.applyTargetRole(p)
		}
	}
}

func (ws *workingSet) applyTargetRole(p *resource) {
	req, ok := targetRole(p)
	if !ok {
		return
	}
	if p.nextRole == RoleUnknown || req < p.nextRole {
		p.setNextRole(req, "target-role")
	}
}

// targetRole is get_target_role: only Stopped, and Unpromoted for
// promotable clones, restrict a resource.
func targetRole(r *resource) (Role, bool) {
	v, ok := r.meta["target-role"]
	if !ok || strings.EqualFold(v, "started") || strings.EqualFold(v, "default") || v == "" {
		return RoleUnknown, false
	}
	role := parseRole(v)
	if role == RoleUnknown {
		return RoleUnknown, false
	}
	if role > RoleStarted {
		if r.top().promotable {
			if role > RoleUnpromoted {
				return RoleUnknown, false
			}
		} else {
			return RoleUnknown, false
		}
	}
	return role, true
}

// sortOps orders a history by call id, pending operations last.
func sortOps(ops []model.OpRecord) []model.OpRecord {
	out := append([]model.OpRecord(nil), ops...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].CallID, out[j].CallID
		if a < 0 && b < 0 {
			return false
		}
		if a < 0 {
			return false
		}
		if b < 0 {
			return true
		}
		if a == b {
			return out[i].LastRCChange < out[j].LastRCChange
		}
		return a < b
	})
	return out
}

func (ws *workingSet) unpackResourceHistory(n *node, h *model.ResourceHistory) {
	if len(h.Ops) == 0 && !ws.shutdownLock {
		return
	}
	if len(h.Ops) == 0 && ws.lookupHistoryResource(h.ID) == nil {
		return
	}
	rsc := ws.findHistoryResource(n, h)
	if rsc == nil {
		return
	}
	if ws.shutdownLock && h.ShutdownLock != 0 {
		if ws.shutdownLockLimit > 0 && ws.now > h.ShutdownLock+ws.shutdownLockLimit {
			rsc.explain("shutdown lock on %s expired", n.name)
		} else {
			rsc.lockNode = n
			rsc.lockTime = h.ShutdownLock
		}
	}
	if len(h.Ops) == 0 {
		return
	}
	ops := sortOps(h.Ops)
	saved := rsc.role
	rsc.role = RoleUnknown
	onFail := failIgnore
	var lastFailure *model.OpRecord
	var migrateOp *model.OpRecord
	for i := range ops {
		op := &ops[i]
		if op.Operation == "migrate_from" {
			migrateOp = op
		}
		ws.unpackOp(rsc, n, op, &lastFailure, &onFail, ops)
	}
	_ = migrateOp
	ws.processRscState(rsc, n, onFail)
	if req, ok := targetRole(rsc); ok {
		if rsc.nextRole == RoleUnknown || req < rsc.nextRole {
			rsc.setNextRole(req, "target-role")
		}
	}
	if saved > rsc.role {
		rsc.role = saved
	}
	rsc.historyNodes = append(rsc.historyNodes, n)
}

// findHistoryResource maps a history entry to a resource, creating an
// orphan when the configuration no longer has it.
func (ws *workingSet) findHistoryResource(n *node, h *model.ResourceHistory) *resource {
	id := h.ID
	base := id
	if i := strings.IndexByte(id, ':'); i >= 0 {
		base = id[:i]
	}
	if r, ok := ws.byID[id]; ok && r.variant == vPrimitive && !r.isCloneInstance() {
		return r
	}
	// A clone instance?
	if clone := ws.cloneOfChild(base); clone != nil {
		return ws.findCloneInstance(clone, n, id, h)
	}
	if r, ok := ws.byID[id]; ok && r.variant == vPrimitive {
		return r
	}
	if r, ok := ws.byID[id]; ok && r.variant != vPrimitive {
		// History for a collective id: ignore.
		return nil
	}
	return ws.orphan(id, h)
}

func (r *resource) isCloneInstance() bool {
	for p := r.parent; p != nil; p = p.parent {
		if p.variant == vClone {
			return true
		}
	}
	return false
}

func (ws *workingSet) orphan(id string, h *model.ResourceHistory) *resource {
	if r, ok := ws.byID[id]; ok {
		return r
	}
	cfg := &model.Resource{ID: id, Kind: model.KindPrimitive, Class: h.Class, Provider: h.Provider, Type: h.Type}
	r := &resource{id: id, cfg: cfg, ws: ws, knownOn: map[*node]bool{}, variant: vPrimitive}
	r.meta = ws.effectiveMeta(cfg, nil)
	ws.commonUnpack(r)
	r.orphan = true
	ws.byID[id] = r
	ws.orphanConnection(r)
	ws.finishResource(r)
	if !ws.stopOrphans {
		r.managed = false
	} else {
		for _, n := range ws.nodes {
			r.allowed.set(n, -model.Infinity)
		}
		r.explain("orphan: no longer configured, must not run")
	}
	ws.resources = append(ws.resources, r)
	return r
}

// contribution is one addition to a resource's score on a node.
type contribution struct {
	node  *node
	score model.Score
	why   string
}

// explaining reports whether explanations are recorded for r (it, or a
// collective resource it belongs to, was asked about).
func (r *resource) explaining() bool {
	if r.ws == nil || r.ws.explainIDs == nil {
		return false
	}
	for p := r; p != nil; p = p.parent {
		if r.ws.explainIDs[p.id] || r.ws.explainIDs[baseID(p.id)] {
			return true
		}
	}
	return false
}

// explain records a note about a decision for r.
func (r *resource) explain(format string, args ...any) {
	if !r.explaining() {
		return
	}
	r.explanations = append(r.explanations, fmt.Sprintf(format, args...))
}

// contrib records that s was added to r's score on n, and why.
func (r *resource) contrib(n *node, s model.Score, format string, args ...any) {
	if !r.explaining() || n == nil {
		return
	}
	r.contribs = append(r.contribs, contribution{node: n, score: s, why: fmt.Sprintf(format, args...)})
}

// setActive is set_active: a started resource, or unpromoted for
// promotable clones.
func (r *resource) setActive() {
	if r.top().promotable {
		r.role = RoleUnpromoted
	} else {
		r.role = RoleStarted
	}
}
