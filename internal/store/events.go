package store

import (
	"errors"
	"fmt"
	"slices"
)

// EventLimit is how many cluster events the store keeps (the newest), like
// AuditLimit for the audit log. A constant: it shapes the replicated state.
const EventLimit = 5000

// maxEventBatch bounds the events one EventAppend may carry.
const maxEventBatch = 256

// ErrInvalidEvent reports an event without a known kind or time.
var ErrInvalidEvent = errors.New("store: invalid event")

// EventKind names what happened. The words follow Pacemaker's alert agents
// where they overlap (a node is "lost", a resource operation has a node
// and a result).
type EventKind string

// The event kinds. A filter may also name a kind's first word ("node",
// "resource", "alert": see EventKind.Matches).
const (
	EventNodeJoined      EventKind = "node-joined"      // Node became a member
	EventNodeLeft        EventKind = "node-left"        // Node was removed from the cluster
	EventNodeOnline      EventKind = "node-online"      // Node came up (was offline)
	EventNodeOffline     EventKind = "node-offline"     // Node stopped cleanly (drained)
	EventNodeLost        EventKind = "node-lost"        // Node stopped renewing its lease
	EventNodeFenced      EventKind = "node-fenced"      // lost Node is known down: its resources may be recovered
	EventNodeBack        EventKind = "node-back"        // lost Node renewed again before it was fenced
	EventQuorumLost      EventKind = "quorum-lost"      // Node's partition has no quorum
	EventQuorumRegained  EventKind = "quorum-regained"  // Node's partition has quorum again
	EventLeaderChanged   EventKind = "leader-changed"   // From led, To leads
	EventResourceStarted EventKind = "resource-started" // Resource became active on Node
	EventResourceStopped EventKind = "resource-stopped" // Resource stopped on Node
	EventResourceFailed  EventKind = "resource-failed"  // an operation failed: Operation, RC, Reason
	EventRecovered       EventKind = "resource-recovered"
	EventMoved           EventKind = "resource-moved"
	EventPromoted        EventKind = "resource-promoted"
	EventDemoted         EventKind = "resource-demoted"
	EventMigrated        EventKind = "resource-migrated"
	EventVIPMoved        EventKind = "vip-moved"       // Address moved From To
	EventConfigChanged   EventKind = "config-changed"  // Epoch, Who
	EventAlertDelivered  EventKind = "alert-delivered" // Alert delivered event Detail
	EventAlertFailed     EventKind = "alert-failed"    // Alert failed: Reason
	EventAlertTest       EventKind = "alert-test"      // a test event (paceline alert test); never stored
)

// EventKinds lists every kind, for validation and help texts.
var EventKinds = []EventKind{EventNodeJoined, EventNodeLeft, EventNodeOnline, EventNodeOffline, EventNodeLost,
	EventNodeFenced, EventNodeBack, EventQuorumLost, EventQuorumRegained, EventLeaderChanged,
	EventResourceStarted, EventResourceStopped, EventResourceFailed, EventRecovered, EventMoved,
	EventPromoted, EventDemoted, EventMigrated, EventVIPMoved, EventConfigChanged,
	EventAlertDelivered, EventAlertFailed, EventAlertTest}

// Valid reports whether k is one of the kinds.
func (k EventKind) Valid() bool { return slices.Contains(EventKinds, k) }

// Matches reports whether k is selected by filter: a kind ("node-lost")
// or a kind's first word ("node" selects every node-* kind).
func (k EventKind) Matches(filter string) bool {
	if string(k) == filter {
		return true
	}
	return len(k) > len(filter) && string(k[:len(filter)]) == filter && k[len(filter)] == '-'
}

// ValidEventFilter reports whether filter selects at least one kind.
func ValidEventFilter(filter string) bool {
	for _, k := range EventKinds {
		if k.Matches(filter) {
			return true
		}
	}
	return false
}

// Event is one thing that happened to the cluster. Which fields are set
// depends on Kind (see the constants).
type Event struct {
	// Seq numbers the kept events from 1, without gaps (set by Apply).
	Seq uint64 `json:"seq"`
	// At is when it happened, in Unix milliseconds (the proposer's clock;
	// an event from a time without quorum keeps its time: see
	// events.Recorder).
	At   int64     `json:"at_ms"`
	Kind EventKind `json:"kind"`
	// Node is the node it happened on (or to).
	Node string `json:"node,omitempty"`
	// Resource is the resource's id.
	Resource string `json:"resource,omitempty"`
	// From and To are the nodes (or leaders) of a move, recovery,
	// migration or leader change.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Address is a virtual IP's address.
	Address string `json:"address,omitempty"`
	// Operation, Interval (ms) and RC are a failed operation's.
	Operation string `json:"operation,omitempty"`
	Interval  int64  `json:"interval_ms,omitempty"`
	RC        int    `json:"rc,omitempty"`
	// Reason is a failure's exit reason or error; Detail any other text.
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Epoch and Who are a configuration change's epoch and author.
	Epoch uint64 `json:"epoch,omitempty"`
	Who   string `json:"who,omitempty"`
	// Alert is the alert of an alert-delivered or alert-failed event,
	// and Ref the Seq of the event it delivered (0: none).
	Alert string `json:"alert,omitempty"`
	Ref   uint64 `json:"ref,omitempty"`
}

// EventAppend appends events (Apply numbers them). The whole batch is
// refused when one event is invalid.
type EventAppend struct {
	Events []Event `json:"events"`
}

// NewEventAppend returns an EventAppend command.
func NewEventAppend(evs ...Event) Command {
	return Command{Version: Version, Type: TypeEventAppend, EventAppend: &EventAppend{Events: evs}}
}

func (s *Store) eventAppend(c *EventAppend) (bool, error) {
	if len(c.Events) == 0 || len(c.Events) > maxEventBatch {
		return false, fmt.Errorf("%w: %d events in one append (want 1 to %d)", ErrInvalidEvent, len(c.Events), maxEventBatch)
	}
	for i, e := range c.Events {
		if !e.Kind.Valid() || e.Kind == EventAlertTest || e.At <= 0 {
			return false, fmt.Errorf("%w: event %d: kind %q at %d", ErrInvalidEvent, i, e.Kind, e.At)
		}
	}
	seq := uint64(0)
	if n := len(s.events); n > 0 {
		seq = s.events[n-1].Seq
	}
	for _, e := range c.Events {
		seq++
		e.Seq = seq
		s.events = append(s.events, e)
	}
	if over := len(s.events) - EventLimit; over > 0 {
		s.events = append([]Event(nil), s.events[over:]...)
	}
	return true, nil
}

// Events returns a copy of the kept events with Seq above after, oldest
// first.
func (s *Store) Events(after uint64) []Event {
	i, _ := slices.BinarySearchFunc(s.events, after+1, func(e Event, seq uint64) int {
		switch {
		case e.Seq < seq:
			return -1
		case e.Seq > seq:
			return 1
		}
		return 0
	})
	return slices.Clone(s.events[i:])
}

// LastEvents returns a copy of the newest n events, oldest first (the web
// UI's "newest events").
func (s *Store) LastEvents(n int) []Event {
	if n <= 0 {
		return nil
	}
	return slices.Clone(s.events[max(0, len(s.events)-n):])
}

// LastChange returns who made the current configuration epoch and why (the
// newest history entry's Change; zero when there is none).
func (s *Store) LastChange() Change {
	if n := len(s.history); n > 0 {
		return s.history[n-1].Change
	}
	return Change{}
}
