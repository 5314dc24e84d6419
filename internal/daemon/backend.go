package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/paceline/paceline/internal/consensus"
	"github.com/paceline/paceline/internal/httpapi"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/node"
	"github.com/paceline/paceline/internal/store"
)

// Forwarder hands a proposal to the leader when this node is not it
// (peer.Client). It blocks until the leader answers or ctx ends; err is a
// transport or consensus failure, res.Err the store's verdict.
type Forwarder interface {
	Forward(ctx context.Context, leader string, cmd store.Command) (res store.Result, err error)
}

// Backend is the API server's view of the replicated state on one node:
// reads from the local copy, writes proposed on the leader, directly when
// this node leads and through the Forwarder when it does not, so every
// node's API accepts writes (PACELINE_ADDR may name any of them).
type Backend struct {
	node *consensus.Node
	fwd  Forwarder
	ca   *caManager    // nil: /v1/ca answers an error
	rt   *node.Runtime // nil: /v1/nodes/NAME/fence answers an error
	// twoNode is this server's two-node watch (nil on other nodes), set
	// once the agent started it, while the API serves.
	twoNode atomic.Pointer[twoNode]
}

var (
	_ httpapi.Backend         = (*Backend)(nil)
	_ httpapi.Freshness       = (*Backend)(nil)
	_ httpapi.NodeRemover     = (*Backend)(nil)
	_ httpapi.CAManager       = (*Backend)(nil)
	_ httpapi.TwoNodeReporter = (*Backend)(nil)
)

// TwoNodeLost implements httpapi.TwoNodeReporter.
func (b *Backend) TwoNodeLost() string {
	if tn := b.twoNode.Load(); tn != nil {
		return tn.Lost()
	}
	return ""
}

// NewBackend returns the backend of node; fwd nil makes a follower refuse
// writes with consensus.ErrNotLeader.
func NewBackend(node *consensus.Node, fwd Forwarder) *Backend {
	return &Backend{node: node, fwd: fwd}
}

func (b *Backend) Config() *model.Config { return b.node.Config() }

func (b *Backend) Members() (ms []store.Member) {
	b.node.Read(func(s *store.Store) { ms = s.Members() })
	return ms
}

// Reached reports whether the local store has applied a leader's index
// (consensus.Node.Reached).
func (b *Backend) Reached(index uint64) bool { return b.node.Reached(index) }

func (b *Backend) Token(id string) (t store.Token, ok bool) {
	b.node.Read(func(s *store.Store) { t, ok = s.Token(id) })
	return t, ok
}

func (b *Backend) Tokens() (ts []store.Token) {
	b.node.Read(func(s *store.Store) { ts = s.Tokens() })
	return ts
}

func (b *Backend) Audit() (es []store.AuditEntry) {
	b.node.Read(func(s *store.Store) { es = s.Audit() })
	return es
}

// Events returns the kept cluster events numbered above after.
func (b *Backend) Events(after uint64) (es []store.Event) {
	b.node.Read(func(s *store.Store) { es = s.Events(after) })
	return es
}

// Alerts returns the alerts, with their secrets.
func (b *Backend) Alerts() (as []store.Alert) {
	b.node.Read(func(s *store.Store) { as = s.Alerts() })
	return as
}

// History returns the kept configuration history, oldest first
// (httpapi.HistoryReader: config history).
func (b *Backend) History() (h []store.HistoryEntry) {
	b.node.Read(func(s *store.Store) { h = s.History() })
	return h
}

// Leader names the leader this node follows; a node that knows a leader
// is in the partition that has quorum (Raft forgets the leader when it
// stops hearing from it).
func (b *Backend) Leader() (string, bool) {
	l := b.node.LeaderID()
	return l, l != ""
}

// Propose applies cmd on the leader. When leadership moves between the
// check and the apply, it forwards once to the new leader.
func (b *Backend) Propose(ctx context.Context, cmd store.Command) (store.Result, error) {
	if b.node.IsLeader() {
		res, err := b.node.Apply(ctx, cmd)
		if !errors.Is(err, consensus.ErrNotLeader) {
			return res, err
		}
	}
	leader := b.node.LeaderID()
	if leader == "" {
		return store.Result{}, consensus.ErrNotLeader
	}
	if b.fwd == nil || leader == b.node.ID() {
		return store.Result{}, consensus.ErrNotLeader
	}
	return b.fwd.Forward(ctx, leader, cmd)
}

// apiBackend is the Backend the API server proposes through (the CLI's
// and the web UI's changes, the audit trail): a change made while no
// leader is known, or sent to one that has just stepped down, waits out
// the election (until the request's timeout) and goes to the new leader,
// as crm_resource waits out a DC election, instead of failing at once. A
// node that has known no leader for electionWait (cut off from the
// majority) refuses at once. Only refusals are tried again
// (consensus.ErrNotLeader: nothing was appended); a change that may have
// been committed (leadership lost while committing, a timeout) is not.
type apiBackend struct{ *Backend }

const (
	// electionWait is how long after a leader was last known apiBackend
	// still waits for one: several elections with the slowest profile.
	electionWait = 3 * time.Second
	// electionPoll is how often apiBackend tries again meanwhile.
	electionPoll = 50 * time.Millisecond
)

func (b apiBackend) Propose(ctx context.Context, cmd store.Command) (store.Result, error) {
	for {
		res, err := b.Backend.Propose(ctx, cmd)
		if !errors.Is(err, consensus.ErrNotLeader) || errors.Is(err, consensus.ErrLeadershipLost) ||
			time.Since(b.node.LeaderSeen()) > electionWait {
			return res, err
		}
		t := time.NewTimer(electionPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return res, err
		case <-t.C:
		}
	}
}

func (b *Backend) Wait(ctx context.Context, after uint64) (uint64, error) {
	return b.node.WaitChange(ctx, after)
}

// freshWait is how long a request waits for this node to catch up with
// the cluster (Fresh): a restarted node hears from the leader within a
// Raft heartbeat or an election.
const freshWait = 1500 * time.Millisecond

// Fresh implements httpapi.Freshness: nil once this node's copy of the
// state is the cluster's (consensus.Node.CaughtUp), waiting up to
// freshWait. A node that knows no leader but has been caught up since it
// started answers from its copy at once: cut off from the majority, it
// shows what it knows (no leader, no quorum). One that has not been caught
// up since it started (its copy is from before it restarted), or that is
// behind a leader it knows, is refused.
func (b *Backend) Fresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, freshWait)
	defer cancel()
	for !b.node.CaughtUp() {
		if b.node.LeaderID() == "" && b.node.Synced() {
			return nil
		}
		select {
		case <-ctx.Done():
			if b.node.LeaderID() == "" {
				return fmt.Errorf("%s has not reached the cluster since it started: its state may be old; ask another node", b.node.ID())
			}
			return fmt.Errorf("%s is catching up with the cluster's state; ask another node", b.node.ID())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}
