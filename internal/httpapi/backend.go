package httpapi

import (
	"context"
	"sync"
	"time"

	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// Backend is the cluster state the server reads and changes. Methods may
// be called from many goroutines at once.
type Backend interface {
	// Config returns a deep copy of the current configuration (the caller
	// owns it). It may lag the leader.
	Config() *model.Config
	// Members returns deep copies of the members, by name.
	Members() []store.Member
	// Leader returns the Raft leader's node name ("" when unknown) and
	// whether this node's partition has quorum.
	Leader() (name string, quorum bool)
	// Propose commits cmd and returns the store's result. It blocks until
	// the command is applied or ctx is done. err is a consensus failure
	// (no leader, timeout: nothing is known to have changed); res.Err a
	// rejection by the store (test with errors.Is, e.g.
	// store.ErrEpochMismatch).
	Propose(ctx context.Context, cmd store.Command) (res store.Result, err error)
	// Wait blocks until the state's change index is above after, and
	// returns the index; it returns ctx.Err() when ctx is done first. The
	// index starts at 1 and grows with every applied change.
	Wait(ctx context.Context, after uint64) (uint64, error)
	// Token returns a copy of the replicated API token record with the id
	// (store.Store.Token); it may lag the leader.
	Token(id string) (store.Token, bool)
	// Tokens returns copies of all replicated token records, by id.
	Tokens() []store.Token
	// Audit returns a copy of the kept audit entries, oldest first.
	Audit() []store.AuditEntry
	// Events returns copies of the kept cluster events numbered above
	// after, oldest first (store.Store.Events).
	Events(after uint64) []store.Event
	// Alerts returns copies of the alerts, with their secrets
	// (store.Store.Alerts).
	Alerts() []store.Alert
}

// TwoNodeReporter is implemented by the backend of a server of a
// two-node cluster (docs/two-node.md): TwoNodeLost returns what this node
// does about its lost peer, in one line ("" while it has a leader). It
// does not block.
type TwoNodeReporter interface {
	TwoNodeLost() string
}

// Freshness is implemented by a backend whose copy of the state may be
// older than the cluster's (a follower that restarted or was cut off).
// Fresh returns nil when requests may be answered from this copy, after
// waiting a little for it to catch up; otherwise an error saying why,
// which the server answers with 503 and the header
// api.HeaderRetryElsewhere: nothing was done, another node may answer.
type Freshness interface {
	Fresh(ctx context.Context) error
}

// Authenticator checks API tokens (pki.TokenSet).
type Authenticator interface {
	// Authenticate returns who holds token at now, or an error (unknown,
	// expired, malformed) that is never shown to the client.
	Authenticate(token string, now time.Time) (pki.Principal, error)
}

// JoinIssuer issues join tokens (pki.JoinTokens).
type JoinIssuer interface {
	Issue(now time.Time, ttl time.Duration) (token string, expires time.Time, err error)
}

var (
	_ Backend       = (*MemBackend)(nil)
	_ Authenticator = (*pki.TokenSet)(nil)
	_ JoinIssuer    = (*pki.JoinTokens)(nil)
)

// MemBackend is a Backend over one in-memory store: a single-node cluster
// that is always its own leader with quorum. Tests, simulations and demos
// use it; it behaves exactly as the store does.
type MemBackend struct {
	mu      sync.Mutex
	st      *store.Store
	leader  string
	index   uint64
	changed chan struct{} // closed and replaced on every change
}

// NewMemBackend returns a backend over st, led by the node named leader.
func NewMemBackend(st *store.Store, leader string) *MemBackend {
	return &MemBackend{st: st, leader: leader, index: 1, changed: make(chan struct{})}
}

func (m *MemBackend) Config() *model.Config {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.Config()
}

func (m *MemBackend) Members() []store.Member {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.Members()
}

func (m *MemBackend) Token(id string) (store.Token, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.Token(id)
}

func (m *MemBackend) Tokens() []store.Token {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.Tokens()
}

func (m *MemBackend) Audit() []store.AuditEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.Audit()
}

func (m *MemBackend) Events(after uint64) []store.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.Events(after)
}

func (m *MemBackend) Alerts() []store.Alert {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.Alerts()
}

func (m *MemBackend) Leader() (string, bool) { return m.leader, true }

func (m *MemBackend) Propose(ctx context.Context, cmd store.Command) (store.Result, error) {
	if err := ctx.Err(); err != nil {
		return store.Result{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	res := m.st.Apply(cmd)
	if res.Err == nil && res.Changed {
		m.index++
		close(m.changed)
		m.changed = make(chan struct{})
	}
	return res, nil
}

func (m *MemBackend) Wait(ctx context.Context, after uint64) (uint64, error) {
	for {
		m.mu.Lock()
		idx, ch := m.index, m.changed
		m.mu.Unlock()
		if idx > after {
			return idx, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return idx, ctx.Err()
		}
	}
}
