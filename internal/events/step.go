package events

import (
	"time"

	"github.com/paceline/paceline/internal/store"
)

// QuorumGrace is how long a node goes without quorum before quorum-lost is
// recorded: an election (a few hundred milliseconds without a leader) is
// not a loss of quorum.
const QuorumGrace = 2 * time.Second

// StopGrace is how long a resource that left a node that is still up
// waits before it is reported stopped: a lost node's history is cleared
// a moment before the node is marked offline (its resources stopped with
// it: no stop event), and a stop followed at once by a start elsewhere is
// one move.
const StopGrace = 500 * time.Millisecond

// MoveWindow is how long a resource stopped on a node that is still up is
// remembered: started elsewhere within it, the start is a move. A resource
// whose node was lost is remembered until it is recovered.
const MoveWindow = time.Minute

// Tracker turns successive views into events. It is pure: Step reads
// nothing but its state and arguments. The zero value is ready; the first
// view only sets the baseline (no events).
type Tracker struct {
	last   *View
	leader string // the last leader seen ("" before one)
	// gone remembers where a resource last ran after it stopped there.
	gone map[string]gone
	// noQuorumSince is when quorum was last seen missing (0: it is there);
	// quorumLost when quorum-lost was emitted for it.
	noQuorumSince int64
	quorumLost    bool
}

type gone struct {
	id   string // the resource
	from string
	lost bool  // its node was lost (a start elsewhere is a recovery)
	at   int64 // Unix ms
	// announced is set once resource-stopped was emitted (after
	// StopGrace, the node still up).
	announced bool
}

// goneKey keys t.gone: the resource, and a clone instance's node.
func goneKey(id string, clone bool, node string) string {
	if clone {
		return id + "\x00" + node
	}
	return id
}

// Local reports whether events of kind k are about the observing node
// (quorum): every node records them, through the leader once there is one.
// The other kinds describe the replicated state and are recorded by the
// leader alone.
func Local(k store.EventKind) bool {
	return k == store.EventQuorumLost || k == store.EventQuorumRegained
}

// Step compares v with the previous view and returns what happened, in a
// stable order: leader, quorum, configuration, nodes, failures, resources.
func (t *Tracker) Step(v View, now time.Time) []store.Event { return t.step(v, now, false) }

// Unchanged is Step with the previous view again, but for its leader and
// quorum: the state has not changed since (the same change index). It
// spares comparing every node, failure and resource (an idle recorder
// compares once a second, for quorum and the stops that wait out
// StopGrace). Before a first view it does nothing.
func (t *Tracker) Unchanged(leader string, quorum bool, now time.Time) []store.Event {
	if t.last == nil {
		return nil
	}
	v := *t.last
	v.Leader, v.Quorum = leader, quorum
	return t.step(v, now, true)
}

// step is Step; with same, v's nodes, failures and resources are the
// last view's and are not compared.
func (t *Tracker) step(v View, now time.Time, same bool) []store.Event {
	ms := now.UnixMilli()
	var out []store.Event
	add := func(e store.Event) {
		if e.At == 0 {
			e.At = ms
		}
		out = append(out, e)
	}
	// Quorum is about this node's partition, seen with or without a
	// baseline.
	switch {
	case v.Quorum:
		if t.quorumLost {
			add(store.Event{Kind: store.EventQuorumRegained, Node: v.Self, To: v.Leader})
		}
		t.noQuorumSince, t.quorumLost = 0, false
	case t.noQuorumSince == 0:
		t.noQuorumSince = ms
	}
	if !v.Quorum && !t.quorumLost && t.last != nil && ms-t.noQuorumSince >= QuorumGrace.Milliseconds() {
		t.quorumLost = true
		out = append(out, store.Event{At: t.noQuorumSince, Kind: store.EventQuorumLost, Node: v.Self,
			Detail: "no leader reachable"})
	}
	if v.Leader != "" && v.Leader != t.leader {
		if t.last != nil {
			add(store.Event{Kind: store.EventLeaderChanged, From: t.leader, To: v.Leader})
		}
		t.leader = v.Leader
	}
	if t.last == nil {
		t.last = &v
		return out
	}
	old := t.last
	t.last = &v
	if !same {
		for _, e := range t.changes(old, &v, ms) {
			add(e)
		}
	}
	for _, key := range sortedKeys(t.gone) {
		g := t.gone[key]
		switch {
		case v.Resources[g.id].Instances == nil:
			delete(t.gone, key) // deleted from the configuration
		case g.lost || g.announced:
		case nodeLost(v, g.from):
			g.lost = true
			t.gone[key] = g
		case ms-g.at >= StopGrace.Milliseconds():
			out = append(out, store.Event{At: g.at, Kind: store.EventResourceStopped, Resource: g.id, Node: g.from})
			g.announced = true
			t.gone[key] = g
		}
	}
	return out
}

// changes returns the events between two views of different states:
// epoch, nodes, failures and resources (their At left for Step).
func (t *Tracker) changes(old, v *View, ms int64) []store.Event {
	var out []store.Event
	add := func(e store.Event) { out = append(out, e) }
	if v.Epoch > old.Epoch {
		add(store.Event{Kind: store.EventConfigChanged, Epoch: v.Epoch, Who: v.Who, Detail: v.Message})
	}
	for _, name := range sortedKeys(v.Nodes) {
		n := v.Nodes[name]
		o, had := old.Nodes[name]
		if !had {
			add(store.Event{Kind: store.EventNodeJoined, Node: name})
			continue
		}
		if k, detail := nodeChange(o, n); k != "" {
			add(store.Event{Kind: k, Node: name, Detail: detail})
		}
	}
	for _, name := range sortedKeys(old.Nodes) {
		if _, has := v.Nodes[name]; !has {
			add(store.Event{Kind: store.EventNodeLeft, Node: name})
		}
	}
	for _, key := range sortedKeys(v.Failures) {
		f := v.Failures[key]
		if o, had := old.Failures[key]; had && o.CallID == f.CallID && o.At == f.At && o.RC == f.RC {
			continue
		}
		add(store.Event{Kind: store.EventResourceFailed, Resource: f.Resource, Node: f.Node, Operation: f.Operation,
			Interval: f.Interval, RC: f.RC, Reason: f.Reason})
	}
	for _, id := range sortedKeys(v.Resources) {
		for _, e := range t.resource(id, old.Resources[id], v.Resources[id], *v, ms) {
			add(e)
		}
	}
	return out
}

// nodeChange names a member's change of liveness.
func nodeChange(o, n Node) (store.EventKind, string) {
	switch {
	case o.State == n.State:
		return "", ""
	case n.State == store.StateOnline && o.State == store.StateUnclean:
		return store.EventNodeBack, "renewed its lease again before it was fenced"
	case n.State == store.StateOnline:
		return store.EventNodeOnline, ""
	case n.State == store.StateUnclean:
		return store.EventNodeLost, "lease expired: must be fenced"
	case n.State == store.StateOffline && o.State == store.StateUnclean:
		return store.EventNodeFenced, "known down: its resources may be recovered"
	case n.State == store.StateOffline && (o.Shutdown || n.Shutdown):
		return store.EventNodeOffline, "stopped cleanly"
	case n.State == store.StateOffline:
		return store.EventNodeLost, "lease expired"
	}
	return "", ""
}

// resource returns the events of one primitive between two views.
func (t *Tracker) resource(id string, o, n Resource, v View, ms int64) []store.Event {
	var out []store.Event
	var arrived, left []string
	for _, node := range sortedKeys(n.Instances) {
		if _, had := o.Instances[node]; !had {
			arrived = append(arrived, node)
		}
	}
	for _, node := range sortedKeys(o.Instances) {
		if _, has := n.Instances[node]; !has {
			left = append(left, node)
		}
	}
	lost := func(node string) bool { return nodeLost(v, node) }
	// A resource that left a lost node stopped with it (the node events
	// say so); one that left a node that is up is reported stopped after
	// StopGrace (announce), unless it is started elsewhere first (a move).
	for _, node := range left {
		t.remember(goneKey(id, n.Clone, node), gone{id: id, from: node, lost: lost(node), at: ms})
	}
	for _, node := range arrived {
		in := n.Instances[node]
		key := goneKey(id, n.Clone, node)
		g, had := t.gone[key]
		delete(t.gone, key)
		if had && !g.lost && !g.announced && ms-g.at >= StopGrace.Milliseconds() {
			// Stopped long enough ago (no comparison in between).
			out = append(out, store.Event{At: g.at, Kind: store.EventResourceStopped, Resource: id, Node: g.from})
			g.announced = true
		}
		if had && !g.lost && ms-g.at > MoveWindow.Milliseconds() {
			had = false
		}
		switch {
		case !had && n.Clone:
			out = append(out, store.Event{Kind: store.EventResourceStarted, Resource: id, Node: node})
			if in.Role == "Promoted" {
				out = append(out, store.Event{Kind: store.EventPromoted, Resource: id, Node: node})
			}
		case n.Clone:
			// Back on the same node: a restart; announced or not.
			if g.announced {
				out = append(out, store.Event{Kind: store.EventResourceStarted, Resource: id, Node: node})
			}
		case !had || (g.from == node && (g.announced || g.lost)):
			out = append(out, store.Event{Kind: store.EventResourceStarted, Resource: id, Node: node})
		case g.from == node:
			// Stopped and started again within StopGrace: a restart in place.
			out = append(out, store.Event{Kind: store.EventRecovered, Resource: id, Node: node, From: node, To: node})
		default:
			k := store.EventMoved
			switch {
			case in.Via == "migrate_from":
				k = store.EventMigrated
			case g.lost || lost(g.from):
				k = store.EventRecovered
			}
			out = append(out, store.Event{Kind: k, Resource: id, Node: node, From: g.from, To: node})
			if n.Address != "" {
				out = append(out, store.Event{Kind: store.EventVIPMoved, Resource: id, Address: n.Address, From: g.from, To: node})
			}
		}
	}
	for _, node := range sortedKeys(n.Instances) {
		oi, had := o.Instances[node]
		ni := n.Instances[node]
		if !had || oi.Role == ni.Role {
			continue
		}
		switch {
		case ni.Role == "Promoted":
			out = append(out, store.Event{Kind: store.EventPromoted, Resource: id, Node: node})
		case oi.Role == "Promoted" && ni.Role == "Unpromoted":
			out = append(out, store.Event{Kind: store.EventDemoted, Resource: id, Node: node})
		case oi.Role == "Failed":
			// Restarted in place after a failure (Pacemaker's "recover").
			out = append(out, store.Event{Kind: store.EventRecovered, Resource: id, Node: node, From: node, To: node})
		}
	}
	for i := range out {
		if out[i].At == 0 {
			out[i].At = ms
		}
	}
	return out
}

// nodeLost reports whether node is gone from v, or down without a clean
// stop.
func nodeLost(v View, node string) bool {
	nd, ok := v.Nodes[node]
	return !ok || (nd.State != store.StateOnline && !nd.Shutdown)
}

func (t *Tracker) remember(id string, g gone) {
	if t.gone == nil {
		t.gone = map[string]gone{}
	}
	t.gone[id] = g
}
