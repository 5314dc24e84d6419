package api

import (
	"fmt"
	"strings"
	"time"

	"github.com/paceline/paceline/internal/model"
)

// The configuration types, shared with the engine (see the package doc).
type (
	Config      = model.Config
	Resource    = model.Resource
	Op          = model.Op
	NV          = model.NV
	Location    = model.Location
	Colocation  = model.Colocation
	Order       = model.Order
	ResourceSet = model.ResourceSet
	Score       = model.Score
)

// Node states in Status.
const (
	NodeOnline      = "online"
	NodeOffline     = "offline"
	NodeStandby     = "standby"
	NodeMaintenance = "maintenance"
	NodeUnclean     = "unclean"
)

// Resource roles in Status.
const (
	RoleStarted    = "Started"
	RoleStopped    = "Stopped"
	RolePromoted   = "Promoted"
	RoleUnpromoted = "Unpromoted"
	RoleFailed     = "Failed"
)

// Status is GET /v1/status and the payload of "status" events; it is also
// what "paceline status --json" prints. Fields are only ever added.
type Status struct {
	// Leader is the Raft leader's node name ("" when there is none).
	Leader string `json:"leader"`
	// Quorum is whether the answering node's partition has quorum.
	Quorum bool `json:"quorum"`
	// Epoch is the configuration epoch.
	Epoch     uint64           `json:"epoch"`
	Nodes     []NodeStatus     `json:"nodes"`
	Resources []ResourceStatus `json:"resources"`
	// LastChange is the last change accepted through the API, from the
	// audit log (absent when none is kept).
	LastChange *LastChange `json:"last_change,omitempty"`
	// Collectives are the groups and clones in configuration order (a
	// cloned group after its clone): the tree the primitives of
	// Resources hang in by their Parent.
	Collectives []CollectiveStatus `json:"collectives"`
	// FailedActions are the last failed operation of each resource on
	// each node, kept until "paceline resource cleanup" (crm_mon's
	// Failed Resource Actions), by node and resource.
	FailedActions []FailedAction `json:"failed_actions"`
	// VMs are the VMs (builtin:vm primitives at the top level) in
	// configuration order, each with its VM state.
	VMs []VMStatus `json:"vms"`
	// Gate says what a two-node cluster lacks before it runs anything
	// but fence devices and ping resources, in one line (docs/two-node.md;
	// absent when nothing is held).
	Gate string `json:"gate,omitempty"`
	// TwoNode is set in a cluster of two servers without a witness, or
	// one created with `paceline init --two-node` (docs/two-node.md).
	TwoNode *TwoNodeStatus `json:"two_node,omitempty"`
}

// TwoNodeStatus is the two-node part of Status.
type TwoNodeStatus struct {
	// Servers are the servers, sorted (two once both joined).
	Servers []string `json:"servers"`
	// Declared: the cluster was created with `paceline init --two-node`
	// (the two-node property): a witness or a third server cannot join.
	Declared bool `json:"declared"`
	// Lost is, while the node that answers has no leader, what it does
	// about its lost peer in one line: the race, the fence, or why it
	// holds on to what it runs without going on alone (a fence that
	// failed). Empty while it has a leader.
	Lost string `json:"lost,omitempty"`
}

// VMStatus is one VM in Status: its state as VM high availability sees
// it (internal/vmha).
type VMStatus struct {
	ID string `json:"id"`
	// State is Starting, Running, Stopping, Stopped, Migrating, Unknown
	// (its host is unreachable) or Recovering (being restarted).
	State string `json:"state"`
	// Host is the node it runs on (or ran on, when Unknown); "" when it
	// runs nowhere.
	Host string `json:"host"`
	// HALevel is NeverStop or None (meta ha-level).
	HALevel string `json:"ha_level"`
	// Storage is shared or local.
	Storage string `json:"storage"`
	// Reason says why: a stop (by the user, by itself, its host lost), a
	// recovery, a migration's target.
	Reason string `json:"reason,omitempty"`
}

// LastChange is who changed the cluster last, and how.
type LastChange struct {
	At time.Time `json:"at"`
	// By is the API token id (or local:... for the local helpers) and
	// Role its role.
	By   string `json:"by"`
	Role string `json:"role,omitempty"`
	// Action is the request ("POST /v1/resources").
	Action string `json:"action"`
}

// CollectiveStatus is a group or a clone in Status.
type CollectiveStatus struct {
	ID string `json:"id"`
	// Kind is group or clone.
	Kind string `json:"kind"`
	// Parent is the clone of a cloned group.
	Parent string `json:"parent,omitempty"`
	// Promotable marks a promotable clone.
	Promotable bool `json:"promotable,omitempty"`
	// Children are the member or cloned resource ids, in order.
	Children []string `json:"children"`
}

// FailedAction is one failed operation in Status.
type FailedAction struct {
	Resource  string `json:"resource"`
	Operation string `json:"operation"`
	// Interval is a recurring operation's interval in milliseconds.
	Interval int64  `json:"interval_ms,omitempty"`
	Node     string `json:"node"`
	// ExitCode is the agent's exit code (OCF), ExitReason its reason.
	ExitCode   int    `json:"exit_code"`
	ExitReason string `json:"exit_reason,omitempty"`
	// Status is the executor's status: complete, cancelled, timeout,
	// not supported, error, hard error, fatal error, not installed, ...
	Status string `json:"status"`
	// CallID numbers the operation on its node.
	CallID int `json:"call_id"`
	// At is when the result last changed (zero when unknown).
	At time.Time `json:"at,omitzero"`
}

// NodeStatus is one node in Status.
type NodeStatus struct {
	Name string `json:"name"`
	// State is online, offline, standby, maintenance or unclean.
	State string `json:"state"`
	// Role is server, witness or client.
	Role string `json:"role,omitempty"`
	// Attributes are the node's transient attributes (standby,
	// maintenance, fail-count-RSC#OP_INTERVAL, promotion scores, pingd).
	Attributes map[string]string `json:"attributes,omitempty"`
	// Hold says why a lost node's resources are held (no fence device
	// confirmed it, no watchdog guards its lease).
	Hold string `json:"hold,omitempty"`
	// FencedBy names what fenced the node (a device, or "operator
	// TOKEN"), while it has not come back.
	FencedBy string `json:"fenced_by,omitempty"`
}

// ResourceStatus is one primitive in Status.
type ResourceStatus struct {
	ID    string `json:"id"`
	Agent string `json:"agent"`
	// Role is Started, Stopped, Promoted, Unpromoted or Failed; for a
	// clone's primitive the highest role of its instances (Promoted over
	// Unpromoted over Started over Failed).
	Role string `json:"role"`
	// Nodes are the nodes where the resource is active, by name (for a
	// clone's primitive: every node where an instance is active).
	Nodes []string `json:"nodes"`
	// Parent is the id of the group or clone the primitive is in (the
	// group, for a member of a cloned group); absent at the top level.
	Parent string `json:"parent,omitempty"`
	// Instances are the active instances, one per node where one is
	// active (a primitive outside a clone has at most one, unless it is
	// wrongly active on several nodes).
	Instances []Instance `json:"instances"`
	// Address is a virtual IP's address (builtin:vip and IPaddr2's ip
	// parameter).
	Address string `json:"address,omitempty"`
	// Managed is false for a resource the cluster leaves alone
	// (is-managed=false, maintenance).
	Managed bool `json:"managed"`
}

// Instance is one active instance of a primitive in Status.
type Instance struct {
	Node string `json:"node"`
	// Role is Started, Promoted, Unpromoted or Failed (active, but its
	// last operation failed: it must be recovered).
	Role string `json:"role"`
	// Replication is a replicated database's health on this node, as its
	// agent last published it (builtin:postgresql's monitors); absent for
	// other agents.
	Replication *Replication `json:"replication,omitempty"`
}

// Replication is one database instance's replication health, as
// patronictl list shows it.
type Replication struct {
	// Role is the database's own view: primary, standby, demoting,
	// starting, empty (no data yet) or stopped.
	Role string `json:"role"`
	// Timeline is the WAL timeline (0: unknown).
	Timeline int `json:"timeline,omitempty"`
	// LSN is the WAL position written (primary) or received (standby).
	LSN string `json:"lsn,omitempty"`
	// LagBytes is how far a standby's received WAL is behind the
	// primary's last published position (0 on the primary).
	LagBytes int64 `json:"lag_bytes"`
	// Sync is primary, or a standby's state in the primary's view: sync
	// (commits wait for it), potential or async.
	Sync string `json:"sync,omitempty"`
}

// OpSpec is one operation of a ResourceRequest, pcs style:
// "--op monitor interval=5s timeout=20s".
type OpSpec struct {
	Name string `json:"name"`
	// Interval and Timeout are Go durations ("5s", "1m30s"); empty: zero.
	Interval string `json:"interval,omitempty"`
	Timeout  string `json:"timeout,omitempty"`
	Role     string `json:"role,omitempty"`
	OnFail   string `json:"on_fail,omitempty"`
	// Meta holds any other operation attribute.
	Meta map[string]string `json:"meta,omitempty"`
}

// ResourceRequest creates (POST) or replaces (PUT) a primitive.
type ResourceRequest struct {
	// ID is required on POST; on PUT it may be empty or must equal the
	// path's ID.
	ID string `json:"id,omitempty"`
	// Agent is "class:provider:type" or "class:type"
	// (ocf:heartbeat:IPaddr2, builtin:dummy).
	Agent  string            `json:"agent"`
	Params []NV              `json:"params,omitempty"`
	Meta   map[string]string `json:"meta,omitempty"`
	Ops    []OpSpec          `json:"ops,omitempty"`
	// Group (POST only) makes the new primitive a member of that group,
	// which is created when it does not exist. The member is added last,
	// or right before the member named by Before, or right after the one
	// named by After (at most one of them).
	Group  string `json:"group,omitempty"`
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	// Clone (POST only, not with Group) wraps the new primitive in a clone
	// named ID-clone, as pcs names it.
	Clone *CloneSpec `json:"clone,omitempty"`
}

// CloneSpec is the clone a ResourceRequest wraps its primitive in.
type CloneSpec struct {
	// Promotable makes a promotable clone (meta promotable=true).
	Promotable bool `json:"promotable,omitempty"`
	// Meta are the clone's meta-attributes (clone-max, clone-node-max,
	// promoted-max, promoted-node-max, notify, interleave, ordered,
	// globally-unique, ...).
	Meta map[string]string `json:"meta,omitempty"`
}

// CloneID is the id of the clone "resource create --clone" makes of the
// primitive id: id-clone, as pcs names it.
func CloneID(id string) string { return id + "-clone" }

// Primitive converts the request to a model resource.
func (r *ResourceRequest) Primitive() (Resource, error) {
	res := Resource{ID: r.ID, Kind: model.KindPrimitive, Params: r.Params, Meta: r.Meta}
	parts := strings.Split(r.Agent, ":")
	switch {
	case len(parts) == 2 && parts[0] != "" && parts[1] != "":
		res.Class, res.Type = parts[0], parts[1]
	case len(parts) == 3 && parts[0] != "" && parts[1] != "" && parts[2] != "":
		res.Class, res.Provider, res.Type = parts[0], parts[1], parts[2]
	default:
		return Resource{}, fmt.Errorf("agent %q: want class:type or class:provider:type", r.Agent)
	}
	for i, o := range r.Ops {
		op := model.Op{Name: o.Name, Role: o.Role, OnFail: o.OnFail, Meta: o.Meta}
		if o.Name == "" {
			return Resource{}, fmt.Errorf("ops[%d]: name is empty", i)
		}
		var err error
		if op.Interval, err = duration(o.Interval); err != nil {
			return Resource{}, fmt.Errorf("ops[%d] %s: interval: %w", i, o.Name, err)
		}
		if op.Timeout, err = duration(o.Timeout); err != nil {
			return Resource{}, fmt.Errorf("ops[%d] %s: timeout: %w", i, o.Name, err)
		}
		res.Ops = append(res.Ops, op)
	}
	return res, nil
}

func duration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// Constraint kinds.
const (
	ConstraintLocation   = "location"
	ConstraintColocation = "colocation"
	ConstraintOrder      = "order"
)

// Constraint is POST /v1/constraints: a kind and exactly the one payload
// it names.
type Constraint struct {
	Kind       string      `json:"kind"`
	Location   *Location   `json:"location,omitempty"`
	Colocation *Colocation `json:"colocation,omitempty"`
	Order      *Order      `json:"order,omitempty"`
}

// Property is one cluster property.
type Property struct {
	Name  string `json:"name,omitempty"`
	Value string `json:"value"`
}

// ConfigResult answers a configuration change.
type ConfigResult struct {
	// Epoch is the configuration epoch after the change.
	Epoch uint64 `json:"epoch"`
	// Changed is false when the applied configuration equalled the
	// current one (no new epoch).
	Changed bool `json:"changed"`
}

// ConfigChange is one difference between two configurations (see
// model.DiffConfigs).
type ConfigChange = model.ConfigChange

// DryRun answers POST /v1/config?dry_run=true: what applying the body
// would change, and nothing is changed.
type DryRun struct {
	// Epoch is the current configuration epoch.
	Epoch uint64 `json:"epoch"`
	// Changes are the configuration's differences, object by object.
	Changes []ConfigChange `json:"changes"`
	// Transition is the scheduler's Transition Summary on the current
	// status, one line per change ("Start web ( n1 )").
	Transition []string `json:"transition"`
}

// ConfigHistoryEntry is one kept epoch in GET /v1/config/history.
type ConfigHistoryEntry struct {
	Epoch uint64 `json:"epoch"`
	// At is when the change was proposed; Author who asked for it
	// (token id and role, or a subsystem) and Message what it was.
	At      time.Time `json:"at,omitzero"`
	Author  string    `json:"author,omitempty"`
	Message string    `json:"message,omitempty"`
	// Changes are the differences from the epoch before (absent for the
	// oldest kept epoch).
	Changes []ConfigChange `json:"changes,omitempty"`
}

// RollbackRequest is POST /v1/config/rollback: the kept epoch whose
// configuration becomes the next epoch.
type RollbackRequest struct {
	Epoch uint64 `json:"epoch"`
}

// Token kinds of TokenRequest.
const TokenJoin = "join"

// HeaderRetryElsewhere is set on a 503 from a node that did nothing with
// the request because its copy of the cluster's state is behind (it
// restarted, or was cut off and has not caught up): another node may
// answer. The Client then tries its next address.
const HeaderRetryElsewhere = "Paceline-Retry-Elsewhere"

// TokenAPI is the kind of an API token (Role says which).
const TokenAPI = "api"

// TokenRequest is POST /v1/tokens.
type TokenRequest struct {
	// Kind is "join" (a single-use join token) or "api" (an API token).
	Kind string `json:"kind"`
	// Role is an API token's role: "viewer" (reads), "operator" (reads
	// and operational commands: standby, move, ban, clear, cleanup,
	// enable, disable) or "admin" (everything). Empty for a join token.
	Role string `json:"role,omitempty"`
	// TTL is a Go duration ("10m"). Empty means 1h for a join token and
	// 720h (30 days) for an API token; "0" means an API token never
	// expires.
	TTL string `json:"ttl,omitempty"`
}

// TokenResponse carries a new token, shown only once.
type TokenResponse struct {
	Token string `json:"token"`
	// ID and Role are set for an API token.
	ID   string `json:"id,omitempty"`
	Role string `json:"role,omitempty"`
	// Expires is absent for an API token that never expires.
	Expires time.Time `json:"expires,omitzero"`
}

// Where a token record is kept (TokenInfo.Source).
const (
	TokenSourceCluster = "cluster" // replicated: made by "paceline token create --role"
	TokenSourceLocal   = "local"   // the node's tokens file: the bootstrap admin token
)

// TokenInfo is one entry of GET /v1/tokens: never the token or its hash.
type TokenInfo struct {
	ID      string    `json:"id"`
	Role    string    `json:"role"`
	Source  string    `json:"source"`
	Creator string    `json:"creator,omitempty"`
	Created time.Time `json:"created,omitzero"`
	Expires time.Time `json:"expires,omitzero"`
	// Revoked is when the token was revoked (absent: it is not).
	Revoked   time.Time `json:"revoked,omitzero"`
	RevokedBy string    `json:"revoked_by,omitempty"`
}

// Error is the body of every error response, and the error the client
// returns for one.
type Error struct {
	// StatusCode is the HTTP status (not part of the body).
	StatusCode int `json:"-"`
	// Addr is the base URL that answered (not part of the body).
	Addr    string `json:"-"`
	Message string `json:"error"`
}

func (e *Error) Error() string {
	if e.Addr == "" {
		return e.Message
	}
	return fmt.Sprintf("%s: %s (HTTP %d)", e.Addr, e.Message, e.StatusCode)
}

// Event is one server-sent event of GET /v1/events.
type Event struct {
	// Type is "status".
	Type   string
	Status Status
}

// Node is one member in GET /v1/nodes.
type Node struct {
	Name string `json:"name"`
	// Role is server, witness or client.
	Role    string `json:"role"`
	Address string `json:"address,omitempty"`
	// State is online, offline, standby, maintenance or unclean (as in
	// Status).
	State string `json:"state"`
	// Attributes are the transient node attributes (standby, maintenance,
	// fail counts, ...).
	Attributes map[string]string `json:"attributes,omitempty"`
}

// AgentList answers GET /v1/agents.
type AgentList struct {
	// Agents are "class:provider:type" or "class:type", sorted.
	Agents []string `json:"agents"`
}

// AgentMeta answers GET /v1/agents/AGENT: the agent's parameters and
// actions from its meta-data.
type AgentMeta = model.AgentMeta

// CleanupResult answers POST /v1/resources/ID/cleanup.
type CleanupResult struct {
	// Changed is false when there was nothing to forget.
	Changed bool `json:"changed"`
}
