package store

import (
	"errors"
	"fmt"

	"github.com/paceline/paceline/internal/model"
)

// Errors Apply returns in Result.Err (wrapped with context; test with
// errors.Is).
var (
	ErrUnsupportedVersion = errors.New("store: unsupported command version")
	ErrUnknownCommand     = errors.New("store: unknown command type")
	ErrMalformed          = errors.New("store: malformed command")
	ErrEpochMismatch      = errors.New("store: config epoch mismatch")
	ErrUnknownEpoch       = errors.New("store: epoch not in history")
	ErrUnknownNode        = errors.New("store: unknown node")
	ErrInvalidRole        = errors.New("store: invalid node role")
	ErrInvalidState       = errors.New("store: invalid node state")
	ErrEmptyName          = errors.New("store: empty name")
	ErrBadSnapshot        = errors.New("store: bad snapshot")
	ErrTokenExists        = errors.New("store: token id already exists")
	ErrInvalidToken       = errors.New("store: invalid token record")
	ErrAuditChain         = model.ErrAuditChain
)

// HistoryLimit is how many configurations the history keeps (the newest).
// It is a constant, not an option: it shapes the replicated state, which
// must be the same on every node.
const HistoryLimit = 64

// Role is what a member is to the cluster.
type Role string

const (
	RoleServer  Role = "server"  // a Raft voter that runs resources
	RoleWitness Role = "witness" // a Raft voter that runs nothing
	RoleClient  Role = "client"  // runs resources, does not vote
)

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool { return r == RoleServer || r == RoleWitness || r == RoleClient }

// Voter reports whether members of this role vote in Raft.
func (r Role) Voter() bool { return r == RoleServer || r == RoleWitness }

// State is a member's state as status shows it. Stored liveness is one of
// Online, Offline and Unclean; Standby and Maintenance are shown for an
// online member with that node attribute set (see Member.Display).
type State string

const (
	StateOnline      State = "online"
	StateOffline     State = "offline" // left cleanly, or never came up
	StateUnclean     State = "unclean" // lost without a clean stop: must be fenced
	StateStandby     State = "standby"
	StateMaintenance State = "maintenance"
)

// liveness reports whether s may be stored by NodeState.
func (s State) liveness() bool {
	return s == StateOnline || s == StateOffline || s == StateUnclean
}

// Lease is what the store records of a member's lease. The lease itself
// lives in the leader's memory on its monotonic clock (DESIGN.md, Safety);
// these fields are for display and for a new leader's bookkeeping.
type Lease struct {
	// Leader is the node that granted the lease.
	Leader string `json:"leader,omitempty"`
	// GrantedAt is the leader's wall-clock time of the grant, in Unix
	// milliseconds.
	GrantedAt int64 `json:"granted_at_ms,omitempty"`
	// TTL is the lease's length in milliseconds.
	TTL int64 `json:"ttl_ms,omitempty"`
	// Watchdog is the timeout in milliseconds of the watchdog the node
	// feeds only while its lease is valid (0: none): a leader that took
	// over recovers such a node at its lease expiry (membership.Guard).
	Watchdog int64 `json:"watchdog_ms,omitempty"`
}

// Member is one node of the cluster: membership, liveness, transient
// attributes and the operation history of its resources.
type Member struct {
	Name    string `json:"name"`
	Role    Role   `json:"role"`
	Address string `json:"address,omitempty"`
	State   State  `json:"state"`
	Lease   Lease  `json:"lease"`
	// Boot identifies the member's agent process (NodeBoot).
	Boot string `json:"boot,omitempty"`
	// Attributes are the transient node attributes.
	Attributes map[string]string `json:"attributes,omitempty"`
	// Private are the private transient attributes (NodeAttrSet.Private),
	// which the scheduler never reads; a new boot of the member's agent
	// clears them (Pacemaker's attrd forgets them when it restarts).
	Private map[string]string `json:"private,omitempty"`
	// Resources is the operation history per resource, in the order the
	// resources were first recorded.
	Resources []model.ResourceHistory `json:"resources,omitempty"`
	// CertSerial is the serial (lowercase hex) of the node certificate
	// the member joined with ("" when not recorded).
	CertSerial string `json:"cert_serial,omitempty"`
	// CertIssuer is the fingerprint of the CA that signed it and
	// CertNotAfter when it expires (Unix ms), when known.
	CertIssuer   string `json:"cert_issuer,omitempty"`
	CertNotAfter int64  `json:"cert_not_after_ms,omitempty"`
	// PrevCertSerial is the serial of the certificate before the current
	// one (a CA rotation renews certificates; removal revokes both).
	PrevCertSerial string `json:"prev_cert_serial,omitempty"`
	// Fenced is set while the member is fenced (FenceRecord): a device or
	// an operator confirmed it off, and it has not been online since.
	Fenced *FenceMark `json:"fenced,omitempty"`
	// Hold says why the lost member's resources are held (FenceHold).
	Hold string `json:"hold,omitempty"`
}

// Display returns the state status shows: unclean or offline as stored;
// for an online member, maintenance or standby when the transient
// attribute of that name is true, otherwise online.
func (m *Member) Display() State {
	if m.State != StateOnline {
		return m.State
	}
	switch {
	case isTrue(m.Attributes["maintenance"]):
		return StateMaintenance
	case isTrue(m.Attributes["standby"]):
		return StateStandby
	}
	return StateOnline
}

// HistoryEntry is one accepted configuration: the configuration as of
// Epoch and the change that produced it.
type HistoryEntry struct {
	Epoch  uint64       `json:"epoch"`
	Config model.Config `json:"config"`
	Change
}

// Result is what Apply returns. It is a value: the same command on the
// same state gives the same Result on every node.
type Result struct {
	// Err is nil when the command was accepted, or one of the package's
	// errors wrapped with context. A rejected command changes nothing.
	Err error
	// Epoch is the configuration epoch after the command.
	Epoch uint64
	// Changed reports whether the command changed the state (setting an
	// attribute to its current value does not).
	Changed bool
	// Quiet reports a change of private node attributes only: nothing the
	// scheduler reads changed, so watchers that plan need not wake.
	Quiet bool
}

// Store is the cluster's replicated state machine. It is not safe for
// concurrent use: one goroutine owns it (the consensus layer guards it).
// The zero value is not usable; call New.
type Store struct {
	config model.Config
	// options are config's cluster options, parsed once per change
	// (Options).
	options model.ClusterOptions
	history []HistoryEntry
	members map[string]*Member
	tokens  map[string]*Token     // by ID
	audit   []AuditEntry          // oldest first, at most AuditLimit
	revoked map[string]Revocation // by serial
	ca      CA
	// fences is the fence history, oldest first, at most
	// FenceHistoryLimit; fenceSeq numbers its entries.
	fences   []FenceEntry
	fenceSeq uint64
	events   []Event           // oldest first, at most EventLimit (events.go)
	alerts   map[string]*Alert // by ID (alerts.go)
}

// New returns an empty store: epoch 0, no members.
func New() *Store {
	return &Store{members: map[string]*Member{}, tokens: map[string]*Token{}, options: model.ParseClusterOptions(nil)}
}

// Epoch returns the current configuration epoch.
func (s *Store) Epoch() uint64 { return s.config.Epoch }

// Apply applies one command. It is deterministic: it reads nothing but the
// store and the command, and a rejected command leaves the store as it
// was.
func (s *Store) Apply(c Command) Result {
	if c.Version != Version {
		return s.reject(fmt.Errorf("%w: %d (this node applies %d)", ErrUnsupportedVersion, c.Version, Version))
	}
	n, tagged := c.payloads()
	switch {
	case !knownType(c.Type):
		return s.reject(fmt.Errorf("%w: %q", ErrUnknownCommand, c.Type))
	case !tagged:
		return s.reject(fmt.Errorf("%w: %s without its payload", ErrMalformed, c.Type))
	case n > 1:
		return s.reject(fmt.Errorf("%w: %s with %d payloads", ErrMalformed, c.Type, n))
	}
	var changed, quiet bool
	var err error
	switch c.Type {
	case TypeConfigPut:
		changed, err = s.configPut(c.ConfigPut)
	case TypeConfigRollback:
		changed, err = s.configRollback(c.ConfigRollback)
	case TypeNodeJoin:
		changed, err = s.nodeJoin(c.NodeJoin)
	case TypeNodeLeave:
		changed, err = s.nodeLeave(c.NodeLeave)
	case TypeNodeState:
		changed, err = s.nodeState(c.NodeState)
	case TypeNodeBoot:
		changed, err = s.nodeBoot(c.NodeBoot)
	case TypeNodeAttrSet:
		changed, err = s.nodeAttrSet(c.NodeAttrSet)
		quiet = c.NodeAttrSet.Private
	case TypeNodeAttrDelete:
		changed, err = s.nodeAttrDelete(c.NodeAttrDelete)
		quiet = c.NodeAttrDelete.Private
	case TypeOpResult:
		changed, err = s.opResult(c.OpResult)
	case TypeFailCountClear:
		changed, err = s.failCountClear(c.FailCountClear)
	case TypeTokenAdd:
		changed, err = s.tokenAdd(c.TokenAdd)
	case TypeTokenRevoke:
		changed, err = s.tokenRevoke(c.TokenRevoke)
	case TypeAuditAppend:
		changed, err = s.auditAppend(c.AuditAppend)
		quiet = c.AuditAppend.Quiet
	case TypeNodeCert:
		changed, err = s.nodeCert(c.NodeCert)
	case TypeCertRevoke:
		changed, err = s.certRevoke(c.CertRevoke)
	case TypeCASet:
		changed, err = s.caSet(c.CASet)
	case TypeFenceRecord:
		changed, err = s.fenceRecord(c.FenceRecord)
	case TypeFenceHold:
		changed, err = s.fenceHold(c.FenceHold)
	case TypeEventAppend:
		changed, err = s.eventAppend(c.EventAppend)
	case TypeAlertPut:
		changed, err = s.alertPut(c.AlertPut)
	case TypeAlertRemove:
		changed, err = s.alertRemove(c.AlertRemove)
	}
	if err != nil {
		return s.reject(err)
	}
	return Result{Epoch: s.config.Epoch, Changed: changed, Quiet: changed && quiet}
}

func (s *Store) reject(err error) Result {
	return Result{Err: err, Epoch: s.config.Epoch}
}

func knownType(t Type) bool {
	switch t {
	case TypeConfigPut, TypeConfigRollback, TypeNodeJoin, TypeNodeLeave, TypeNodeState, TypeNodeBoot,
		TypeNodeAttrSet, TypeNodeAttrDelete, TypeOpResult, TypeFailCountClear,
		TypeTokenAdd, TypeTokenRevoke, TypeAuditAppend,
		TypeNodeCert, TypeCertRevoke, TypeCASet, TypeFenceRecord, TypeFenceHold,
		TypeEventAppend, TypeAlertPut, TypeAlertRemove:
		return true
	}
	return false
}

// member returns the named member or ErrUnknownNode.
func (s *Store) member(name string) (*Member, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: node name", ErrEmptyName)
	}
	m := s.members[name]
	if m == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownNode, name)
	}
	return m, nil
}

// isTrue is Pacemaker's crm_is_true.
func isTrue(v string) bool {
	switch v {
	case "true", "on", "yes", "y", "1", "TRUE", "True", "ON", "On", "YES", "Yes":
		return true
	}
	return false
}
