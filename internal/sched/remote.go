package sched

// Pacemaker Remote nodes and guest nodes.
//
// A remote node is a node that runs resources but is not a cluster member:
// the cluster reaches it through a connection resource (an
// ocf:pacemaker:remote primitive whose id is the node's name) running on a
// cluster node. A guest node is a remote node living inside a resource
// (its "container", usually a virtual machine); the container's meta
// attribute remote-node names the guest, and the scheduler adds the
// connection resource itself.
//
// The node's state follows its connection: online while the connection is
// started, unclean when the connection failed in a way that leaves the
// node's resources in an unknown state. Remote nodes are fenced like
// cluster nodes; guest nodes are "fenced" by recovering their container.
// Resource actions on a remote node are ordered after the connection
// starts and before it stops.

import (
	"time"

	"github.com/paceline/paceline/internal/model"
)

// isGuest reports whether n is a guest node (its connection has a
// container).
func (n *node) isGuest() bool {
	return n != nil && n.remote && n.conn != nil && n.conn.container != nil
}

// isRemoteOnly reports whether n is a Pacemaker Remote node that is not a
// guest node (pe__is_remote_node).
func (n *node) isRemoteOnly() bool {
	return n != nil && n.remote && (n.conn == nil || n.conn.container == nil)
}

func isRemoteAgent(r *model.Resource) bool {
	return r.Class == "ocf" && r.Provider == "pacemaker" && r.Type == "remote"
}

// addRemoteNodes creates the nodes that resources define: one per
// ocf:pacemaker:remote primitive at the top level, and one per guest (meta
// remote-node of a top-level primitive or a group member), for which it
// also adds the implicit connection resource to the configuration
// (unpack_remote_nodes, expand_remote_rsc_meta). The caller's
// configuration is not modified: ws.cfg becomes a shallow copy.
func (ws *workingSet) addRemoteNodes() {
	var extra []model.Resource
	defined := map[string]bool{}
	var walk func(rs []model.Resource)
	walk = func(rs []model.Resource) {
		for i := range rs {
			defined[rs[i].ID] = true
			walk(rs[i].Children)
		}
	}
	walk(ws.cfg.Resources)
	guest := func(r *model.Resource) {
		name := r.Meta["remote-node"]
		if name == "" || defined[name] {
			return
		}
		defined[name] = true
		extra = append(extra, guestConnection(r, name))
		ws.addRemoteNode(name)
	}
	for i := range ws.cfg.Resources {
		r := &ws.cfg.Resources[i]
		switch {
		case r.Kind == model.KindPrimitive && isRemoteAgent(r):
			ws.addRemoteNode(r.ID)
		case r.Kind == model.KindPrimitive:
			guest(r)
		case r.Kind == model.KindGroup:
			for j := range r.Children {
				guest(&r.Children[j])
			}
		}
	}
	if len(extra) > 0 {
		cfg := *ws.cfg
		cfg.Resources = append(append([]model.Resource(nil), ws.cfg.Resources...), extra...)
		ws.cfg = &cfg
	}
}

// guestConnection builds the connection resource of guest node name
// living in container (pe_create_remote_xml).
func guestConnection(container *model.Resource, name string) model.Resource {
	m := container.Meta
	r := model.Resource{ID: name, Kind: model.KindPrimitive, Class: "ocf", Provider: "pacemaker", Type: "remote",
		Meta: map[string]string{"internal_rsc": "true", "container": container.ID}}
	if v, ok := m["remote-allow-migrate"]; ok {
		r.Meta["allow-migrate"] = v
	}
	if v, ok := m["is-managed"]; ok {
		r.Meta["is-managed"] = v
	}
	if v := m["remote-addr"]; v != "" {
		r.Params = append(r.Params, model.NV{Name: "addr", Value: v})
	}
	if v := m["remote-port"]; v != "" {
		r.Params = append(r.Params, model.NV{Name: "port", Value: v})
	}
	timeout := "60s"
	if v, ok := m["remote-connect-timeout"]; ok {
		timeout = v
	}
	r.Ops = []model.Op{
		{ID: name + "-monitor-interval-30s", Name: "monitor", Interval: 30 * time.Second, Timeout: 30 * time.Second},
		{ID: name + "-start-interval-0", Name: "start", Timeout: time.Duration(parseIntervalMS(timeout)) * time.Millisecond},
	}
	return r
}

// addRemoteNode creates remote node name unless a node of that name
// exists.
func (ws *workingSet) addRemoteNode(name string) {
	if _, ok := ws.nodeByName[name]; ok {
		return
	}
	n := &node{name: name, id: name, index: len(ws.nodes), attrs: map[string]string{}, remote: true}
	ws.nodes = append(ws.nodes, n)
	ws.nodeByName[name] = n
}

// linkConnections ties each remote node to its connection resource and
// each resource with meta container to its container (setup_container,
// link_rsc2remotenode), then applies what follows from it: start-up
// fencing of remote nodes, reconnect_interval, and migration of remote
// connections by default.
func (ws *workingSet) linkConnections() {
	for _, r := range ws.allPrimitives() {
		if id := r.meta["container"]; id != "" && id != r.id {
			r.container = ws.byID[id]
		}
	}
	for _, n := range ws.nodes {
		if n.remote {
			// Only remote nodes with a connection are subject to start-up
			// fencing (handle_startup_fencing).
			n.unclean, n.unseen = false, false
		}
	}
	for _, r := range ws.allPrimitives() {
		if r.cfg == nil || !isRemoteAgent(r.cfg) {
			continue
		}
		ws.linkConnection(r)
	}
}

func (ws *workingSet) linkConnection(r *resource) {
	n := ws.nodeByName[r.id]
	if n == nil || !n.remote {
		return
	}
	n.conn = r
	r.connFor = n
	if r.container != nil {
		return
	}
	if ws.startupFencing {
		n.unclean = true
	}
	n.unseen = true
	if _, ok := r.meta["allow-migrate"]; !ok {
		r.allowMigrate = true
	}
	for _, p := range r.cfg.Params {
		if p.Name == "reconnect_interval" {
			r.reconnectMS = parseIntervalMS(p.Value)
			r.failureTimeout = r.reconnectMS / 1000
		}
	}
}

func (ws *workingSet) allPrimitives() []*resource {
	var out []*resource
	for _, r := range ws.resources {
		out = append(out, r.primitives()...)
	}
	return out
}

// isRemoteConn is pe__resource_is_remote_conn: the connection of a remote
// node that is not a guest node.
func (r *resource) isRemoteConn() bool {
	return r.connFor != nil && r.container == nil
}

// orphanConnection links an orphaned ocf:pacemaker:remote resource found
// in the history to its node, creating the node if needed.
func (ws *workingSet) orphanConnection(r *resource) {
	if r.cfg == nil || !isRemoteAgent(r.cfg) {
		return
	}
	ws.addRemoteNode(r.id)
	ws.linkConnection(r)
}

// unpackNodeHistories unpacks every node's resource history in
// Pacemaker's order: cluster nodes, then remote nodes once their
// connection is known to be up (and guest nodes once their container is
// too), repeating until nothing changes, then, with fencing enabled, the
// remaining nodes (unpack_status).
func (ws *workingSet) unpackNodeHistories() {
	for i := range ws.st.Nodes {
		ns := &ws.st.Nodes[i]
		if n := ws.nodeByName[ns.Name]; n != nil && n.remote {
			n.remoteFenced = ns.RemoteFenced
		}
	}
	for {
		changed := false
		for i := range ws.st.Nodes {
			if ws.unpackNodeHistory(&ws.st.Nodes[i], false) {
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	for i := range ws.st.Nodes {
		ws.unpackNodeHistory(&ws.st.Nodes[i], ws.stonithEnabled)
	}
	for _, n := range ws.nodes {
		if !n.remote {
			continue
		}
		if n.shutdown && n.conn != nil {
			n.conn.setNextRole(RoleStopped, "remote shutdown")
		}
		if !n.unpacked {
			ws.remoteOnlineState(n)
		}
	}
}

func (ws *workingSet) unpackNodeHistory(ns *model.NodeStatus, fence bool) bool {
	n := ws.nodeByName[ns.Name]
	if n == nil || n.unpacked {
		return false
	}
	switch {
	case fence:
	case n.isGuest():
		if n.conn.role != RoleStarted || n.conn.container.role != RoleStarted {
			return false
		}
	case n.remote:
		if n.conn == nil || (!ws.shutdownLock && n.conn.role != RoleStarted) {
			return false
		}
	case !ws.stonithEnabled && !ws.shutdownLock && !n.online:
		return false
	}
	if n.remote {
		ws.remoteOnlineState(n)
		if !n.remoteReset {
			n.unclean, n.unseen = false, false
		}
		if n.conn != nil && !n.conn.managed {
			n.maintenance = true
		}
	}
	n.unpacked = true
	for j := range ns.Resources {
		ws.unpackResourceHistory(n, &ns.Resources[j])
	}
	return true
}

// remoteOnlineState is determine_remote_online_status: a remote node is
// online while its connection is started, unless the connection or the
// guest's container failed or the guest's host is lost.
func (ws *workingSet) remoteOnlineState(n *node) {
	conn := n.conn
	if conn == nil {
		n.online = false
		return
	}
	container := conn.container
	var host *node
	if container != nil && len(conn.runningOn) == 1 {
		host = conn.runningOn[0]
	}
	if conn.role == RoleStarted {
		n.online = true
		if conn.nextRole == RoleStopped {
			n.shutdown = true
		}
	}
	switch {
	case container != nil && container.failed:
		n.online = false
		n.remoteReset = true
	case conn.failed:
		n.online = false
	case conn.role == RoleStopped || (container != nil && container.role == RoleStopped):
		n.online = false
		n.remoteReset = false
	case host != nil && !host.online && host.unclean:
		n.online = false
		n.remoteReset = true
	}
}

// fenceRemote is pe_fence_node for remote and guest nodes; it reports
// whether n was one.
func (ws *workingSet) fenceRemote(n *node, reason string) bool {
	switch {
	case n.isGuest():
		c := n.conn.container
		if !c.failed && c.managed {
			// The guest stays able to run resources: recovering the
			// container is its fencing.
			n.remoteReset = true
			c.failed = true
			c.stopFlag = true
		}
		return true
	case n.remote && n.conn != nil && n.conn.cfg != nil && n.conn.meta["container"] != "" && n.conn.container == nil:
		// A guest whose container is gone: just clean up the connection.
		n.conn.failed = true
		n.conn.stopFlag = true
		return true
	case n.remote:
		if n.conn == nil || n.conn.managed {
			n.remoteReset = true
		}
		n.unclean = true
		if n.fenceReason == "" {
			n.fenceReason = reason
		}
		return true
	}
	return false
}

// activeOnDownNode handles a managed resource thought active on a node
// that is down (part of process_rsc_state): the node must be fenced. A
// guest is fenced by recovering its container; a remote node's fencing is
// revoked if its connection can be re-established elsewhere.
func (ws *workingSet) activeOnDownNode(rsc *resource, n *node) {
	reason := rsc.id + " is thought to be active there"
	switch {
	case n.isGuest():
		rsc.failed = true
		rsc.stopFlag = true
	case !ws.stonithEnabled:
		return
	case n.isRemoteOnly() && n.conn != nil && !n.conn.failed:
		n.unseen = true
		reason = rsc.id + " is active there (fencing will be revoked if remote connection can be re-established elsewhere)"
	}
	ws.fenceNode(n, reason, false)
}

// restartContainer is on-fail=restart-container: the resource fails and
// its container is stopped (and so recovered).
func (ws *workingSet) restartContainer(rsc *resource, n *node) {
	rsc.failed = true
	rsc.stopFlag = true
	if rsc.container != nil {
		ws.stopAction(rsc.container, n, false)
	} else if rsc.role != RoleStopped && rsc.role != RoleUnknown {
		ws.stopAction(rsc, n, false)
	}
}

// resetRemote is on-fail=reset-remote, the default for a remote
// connection: the remote node is fenced unless it already was, and with a
// reconnect interval the connection stays stopped until the failure
// expires.
func (ws *workingSet) resetRemote(rsc *resource, n *node) {
	rsc.failed = true
	rsc.stopFlag = true
	if ws.stonithEnabled && rsc.connFor != nil && rsc.connFor.isRemoteOnly() && !rsc.connFor.remoteFenced {
		ws.fenceNode(rsc.connFor, "remote connection is unrecoverable", false)
	}
	if rsc.role > RoleStopped {
		ws.stopAction(rsc, n, false)
	}
	if rsc.reconnectMS > 0 {
		rsc.setNextRole(RoleStopped, "remote reset")
	}
}

// connectionFailed makes a failed connection's unclean node be fenced
// whether or not the connection is recovered in this transition.
func (ws *workingSet) connectionFailed(rsc *resource) {
	if rsc.failed && rsc.connFor != nil && rsc.connFor.unclean {
		rsc.connFor.unseen = false
	}
}

// remoteOnFail returns the default failure policy of a connection or a
// resource inside a container (part of unpack_operation); ok is false
// when the ordinary defaults apply.
func (ws *workingSet) remoteOnFail(r *resource, task string, intervalMS int64, value string) (onFail, Role, bool) {
	if value == "" && r.container != nil {
		return failRestartContainer, RoleStarted, true
	}
	probe := task == "monitor" && intervalMS == 0
	if (value == "" || !r.managed) && r.isRemoteConn() && !probe && task != "start" {
		if !r.managed {
			return failStop, RoleStopped, true
		}
		role := RoleStarted
		if r.reconnectMS > 0 {
			role = RoleStopped
		}
		return failResetRemote, role, true
	}
	return 0, 0, false
}

// assignConnections assigns remote connection resources before anything
// else, preferring a partial migration's target.
func (ws *workingSet) assignConnections() {
	for _, r := range ws.resources {
		if r.connFor != nil {
			ws.assign(r, r.partialTarget)
		}
	}
}

// connectionAssigned is remote_connection_assigned: a remote node whose
// connection will run is online for the rest of the decision (and no
// longer fenced just for being unseen); otherwise it shuts down.
func (ws *workingSet) connectionAssigned(r *resource) {
	n := r.connFor
	if r.assigned != nil && r.nextRole != RoleStopped {
		n.online = true
		if n.unseen {
			n.unclean = false
		}
	} else {
		n.shutdown = true
	}
}

// avoidRemoteNodes bans r from every remote node.
func avoidRemoteNodes(r *resource) {
	r.allowed.each(func(w *weighted) {
		if w.n.remote {
			w.score = -model.Infinity
		}
	})
}

// remoteInternal adds the implicit constraints of connections, containers
// and fencing devices (part of pcmk__primitive_internal_constraints).
func (ws *workingSet) remoteInternal(r *resource) {
	if c := r.container; c != nil {
		var remote *resource
		switch {
		case r.connFor != nil:
			// Bundles may run their containers on remote nodes.
			if r.parent == nil || r.parent.variant != vBundle {
				avoidRemoteNodes(c)
			}
		case c.connFor != nil:
			remote = c
		default:
			remote = ws.guestConnectionOf(c)
		}
		if remote != nil {
			r.allowed.each(func(w *weighted) {
				if w.n.conn != remote {
					w.score = -model.Infinity
				}
			})
		} else {
			ws.orderResourceActions(c, "start", r, "start", ofImpliesThen|ofRunnableLeft)
			ws.orderResourceActions(r, "stop", c, "stop", ofImpliesFirst)
			ws.newColocation("resource-with-container", "", model.Infinity, r, c, "", "", true)
		}
	}
	if r.connFor != nil || (r.cfg != nil && r.cfg.Class == "stonith") {
		avoidRemoteNodes(r)
	}
}

// guestConnectionOf returns the connection of the guest node living in
// container c, if any.
func (ws *workingSet) guestConnectionOf(c *resource) *resource {
	for _, n := range ws.nodes {
		if n.isGuest() && n.conn.container == c {
			return n.conn
		}
	}
	return nil
}

// Remote connection states as seen by the actions behind it.
type connState int

const (
	connUnknown connState = iota
	connAlive
	connResting
	connFailed
	connStopped
)

// connectionState is get_remote_node_state.
func (ws *workingSet) connectionState(n *node) connState {
	conn := n.conn
	host := conn.current()
	if conn.nextRole == RoleStopped || conn.assigned == nil {
		switch {
		case host != nil && host.unclean:
			return connFailed
		case !conn.failed:
			return connStopped
		case conn.nextRole == RoleStopped && conn.reconnectMS > 0 && n.remoteFenced && !shutdownRequested(n):
			return connUnknown
		}
		return connFailed
	}
	switch {
	case host == nil:
		return connUnknown
	case host.unclean || !host.online:
		return connResting
	case len(conn.runningOn) > 1 && conn.partialSource != nil && conn.partialTarget != nil:
		return connResting
	}
	return connAlive
}

func shutdownRequested(n *node) bool {
	v, ok := n.attrs["shutdown"]
	return ok && v != "" && v != "0"
}

// orderRemoteActions orders every resource action on a remote or guest
// node relative to the node's connection (and container), fencing the
// node where the connection cannot come back
// (pcmk__order_remote_connection_actions).
func (ws *workingSet) orderRemoteActions() {
	for _, a := range append([]*Action(nil), ws.actions...) {
		if a.rsc == nil || a.node == nil || !a.node.remote || a.is(afPseudo) {
			continue
		}
		conn := a.node.conn
		if conn == nil {
			continue
		}
		if a.Task == "start" {
			for _, x := range a.rsc.actions {
				if x.node != a.node && x.Task == "stop" {
					ws.newOrdering(conn, opKey(conn.id, "start", 0), nil, a.rsc, "", x, ofOptional)
				}
			}
		}
		if conn.container != nil {
			ws.orderBehindContainer(a)
		} else {
			ws.orderBehindConnection(a)
		}
	}
}

func remoteTask(a *Action) string {
	if a.Task == "migrate_to" || a.Task == "migrate_from" {
		return "stop"
	}
	return a.Task
}

// startThen orders "first starts, then a".
func (ws *workingSet) startThen(first *resource, a *Action, extra orderFlags) {
	ws.newOrdering(first, opKey(first.id, "start", 0), nil, a.rsc, "", a, ofPreserve|ofRunnableLeft|extra)
}

// thenStop orders "a, then then stops".
func (ws *workingSet) thenStop(a *Action, then *resource, extra orderFlags) {
	ws.newOrdering(a.rsc, "", a, then, opKey(then.id, "stop", 0), nil, ofPreserve|extra)
}

func (ws *workingSet) orderBehindConnection(a *Action) {
	n := a.node
	conn := n.conn
	state := ws.connectionState(n)
	switch remoteTask(a) {
	case "start", "promote":
		extra := ofNone
		if state == connFailed {
			extra = ofImpliesThen
		}
		ws.startThen(conn, a, extra)
	case "stop":
		switch {
		case state == connAlive:
			ws.thenStop(a, conn, ofImpliesFirst)
		case state == connFailed:
			ws.fenceNode(n, "resources are active but connection is unrecoverable", false)
		case conn.nextRole == RoleStopped:
			ws.thenStop(a, conn, ofImpliesFirst)
		default:
			ws.startThen(conn, a, ofNone)
		}
	case "demote":
		if state == connResting || state == connUnknown {
			ws.startThen(conn, a, ofNone)
		}
	default:
		if a.IntervalMS > 0 {
			ws.startThen(conn, a, ofImpliesThen)
			return
		}
		if a.Task == "monitor" && state == connFailed {
			ws.fenceNode(n, "resources are in unknown state and connection is unrecoverable", false)
		}
		if conn.current() != nil && state == connStopped {
			ws.thenStop(a, conn, ofRunnableLeft)
		} else {
			ws.startThen(conn, a, ofNone)
		}
	}
}

func (ws *workingSet) orderBehindContainer(a *Action) {
	n := a.node
	conn := n.conn
	container := conn.container
	if container.failed {
		ws.fenceNode(n, "container failed", false)
	}
	switch remoteTask(a) {
	case "start", "promote":
		ws.startThen(container, a, ofImpliesThen)
		ws.startThen(conn, a, ofNone)
	case "stop", "demote":
		if !container.failed {
			ws.thenStop(a, conn, ofNone)
		}
	default:
		if a.IntervalMS > 0 {
			ws.startThen(conn, a, ofImpliesThen)
		} else {
			ws.startThen(conn, a, ofNone)
		}
	}
}

// canFenceGuest is pe_can_fence for a guest node: its container's hosts
// must be online or fenceable.
func (ws *workingSet) canFenceGuest(n *node) bool {
	for _, h := range n.conn.container.runningOn {
		if !h.online && !ws.canFence(h) {
			return false
		}
	}
	return true
}

// fenceGuest is pcmk__fence_guest: a pseudo fencing event for a guest
// whose container is being recovered, implied by the container's stop.
func (ws *workingSet) fenceGuest(n *node) {
	container := n.conn.container
	stop := container.findTask("stop", nil)
	how := "off"
	if container.findTask("start", nil) != nil {
		how = "reboot"
	}
	key := "stonith-" + n.name + "-" + how
	var fa *Action
	for _, a := range ws.actions {
		if a.key == key {
			fa = a
		}
	}
	if fa == nil {
		ws.nextActionID++
		fa = &Action{ID: ws.nextActionID, key: key, Task: "stonith", node: n, Node: n.name, fenceAction: how, reason: "guest is unclean"}
		ws.actions = append(ws.actions, fa)
	}
	fa.set(afPseudo | afRunnable)
	fa.clear(afOptional)
	switch {
	case stop != nil && stop.is(afPseudo):
		host := ws.fenceAction(stop.node, "")
		orderActions(host, fa, ofRunnableLeft|ofImpliesThen)
	case stop != nil:
		orderActions(stop, fa, ofRunnableLeft|ofImpliesThen)
	default:
		if s := n.conn.findTask("stop", nil); s != nil {
			orderActions(s, fa, ofOptional)
		}
	}
	ws.orderVsFence(fa, n)
}
