package fence

import (
	"fmt"
	"strconv"
	"time"
)

// Two-node clusters (docs/two-node.md): when one of two voters is lost the
// survivor has no quorum and goes on only after it fenced the other
// through a device. Race decides, on each side, whether it fences and
// after what delay, so that of two live nodes whose link is cut exactly
// one fences the other first.

// Reach is what a node's own ping resources say of its gateway.
type Reach int

const (
	// ReachUnknown: no ping resource runs on the node (no heuristics).
	ReachUnknown Reach = iota
	// Reachable: a ping resource on the node reaches at least one target.
	Reachable
	// Unreachable: every ping resource on the node reaches none of its
	// targets: the node is the isolated one.
	Unreachable
)

func (r Reach) String() string {
	switch r {
	case ReachUnknown:
		return "unknown"
	case Reachable:
		return "reachable"
	case Unreachable:
		return "unreachable"
	}
	return fmt.Sprintf("Reach(%d)", int(r))
}

// GatewayReach reads a node's latest ping values (builtin:ping's
// attribute, multiplier × reachable targets, one per ping resource
// running on the node): Reachable when any is above 0, Unreachable when
// all are 0, ReachUnknown without values. A value that is not a number
// counts as 0 (a broken ping resource vouches for nothing).
func GatewayReach(values []string) Reach {
	if len(values) == 0 {
		return ReachUnknown
	}
	for _, v := range values {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return Reachable
		}
	}
	return Unreachable
}

// IsolatedDelay is how long a node that cannot reach its gateway waits
// before it fences its peer: long enough for a peer that reaches the
// gateway to fence it first, short enough that one node goes on when the
// gateway itself failed.
const IsolatedDelay = 30 * time.Second

// DefaultTwoNodePriorityDelay is the priority delay of a two-node race
// when priority-fencing-delay is not set: it must exceed the skew between
// the two nodes noticing the loss plus one fence operation, so that the
// winner's fence is confirmed before the loser's begins.
const DefaultTwoNodePriorityDelay = 5 * time.Second

// RaceFacts is what one node of a two-node cluster knows when it lost its
// peer.
type RaceFacts struct {
	// Self and Peer are the two nodes' names.
	Self, Peer string
	// CaughtUp: this node has been caught up with the cluster since it
	// started (corosync's wait_for_all): a node that booted while its
	// peer was down may hold older state and must not go on alone.
	CaughtUp bool
	// CanFence: a fence device (or level) of the configuration can fence
	// Peer.
	CanFence bool
	// Gateway is what this node's ping resources say of its gateway.
	Gateway Reach
	// SelfPriority and PeerPriority are the summed priority of the
	// resources each node runs (NodePriority), from the last state both
	// agreed on.
	SelfPriority, PeerPriority int
	// PriorityDelay is priority-fencing-delay (0: not set, then
	// DefaultTwoNodePriorityDelay).
	PriorityDelay time.Duration
}

// RaceDecision is Race's answer.
type RaceDecision struct {
	// Fence: this node fences Peer after Delay.
	Fence bool
	// Delay before the fence starts.
	Delay time.Duration
	// Reason says why, in one line (for the log and status).
	Reason string
}

// Race decides whether this node fences its lost peer and after what
// delay. It is pure. The rules, in order:
//
//   - a node not caught up since it started fences nobody (wait_for_all);
//   - a node with no device that can fence its peer fences nobody (it can
//     never go on alone: never by waiting);
//   - a node that cannot reach its gateway waits IsolatedDelay first;
//   - the fence of the peer that runs the more important resources (a
//     larger priority sum) waits the priority delay, so the more important
//     node wins (Pacemaker's priority-fencing-delay);
//   - equal sums: the node whose name sorts last waits half the priority
//     delay, so two live nodes never start fencing each other at once.
//
// The delays add up, so a reachable node always fences before an
// isolated one, and of two nodes equally placed the priorities, then the
// names, separate them by at least half the priority delay.
func Race(f RaceFacts) RaceDecision {
	if !f.CaughtUp {
		return RaceDecision{Reason: fmt.Sprintf("%s has not been caught up with %s since it started (wait_for_all): it fences nobody and waits", f.Self, f.Peer)}
	}
	if !f.CanFence {
		return RaceDecision{Reason: fmt.Sprintf("no fence device can fence %s: %s cannot go on alone and waits", f.Peer, f.Self)}
	}
	pd := f.PriorityDelay
	if pd <= 0 {
		pd = DefaultTwoNodePriorityDelay
	}
	var d time.Duration
	why := ""
	if f.Gateway == Unreachable {
		d += IsolatedDelay
		why = fmt.Sprintf("%s cannot reach its gateway (+%v)", f.Self, IsolatedDelay)
	}
	add := func(dl time.Duration, s string) {
		d += dl
		if why != "" {
			why += ", "
		}
		why += s
	}
	switch {
	case f.PeerPriority > f.SelfPriority:
		add(pd, fmt.Sprintf("%s runs the more important resources (priority %d > %d, +%v)", f.Peer, f.PeerPriority, f.SelfPriority, pd))
	case f.PeerPriority == f.SelfPriority && f.Self > f.Peer:
		add(pd/2, fmt.Sprintf("equal priority %d: %s sorts after %s (+%v)", f.SelfPriority, f.Self, f.Peer, pd/2))
	}
	if why == "" {
		why = "no delay"
	}
	return RaceDecision{Fence: true, Delay: d, Reason: fmt.Sprintf("%s fences %s after %v: %s", f.Self, f.Peer, d, why)}
}

// Running is one resource (or clone instance) running on a node, for
// NodePriority.
type Running struct {
	// Priority is the resource's priority meta-attribute (0 when unset).
	Priority int
	// Promoted: the instance runs in the promoted role.
	Promoted bool
}

// NodePriority is a node's priority for priority-fencing-delay: the sum
// of the priority of the resources it runs, a promoted instance counting
// one more (Pacemaker's node priority). Resources of priority 0 add
// nothing, promoted or not.
func NodePriority(rs []Running) int {
	sum := 0
	for _, r := range rs {
		if r.Priority == 0 {
			continue
		}
		sum += r.Priority
		if r.Promoted {
			sum++
		}
	}
	return sum
}
