package model

import "time"

// Config is the whole cluster configuration: what should run, where and how.
type Config struct {
	// Epoch increases by one with every accepted change (0 for a file).
	Epoch uint64 `json:"epoch,omitempty" yaml:"epoch,omitempty"`
	// Properties are cluster options by their Pacemaker names
	// (stonith-enabled, symmetric-cluster, no-quorum-policy, ...).
	Properties map[string]string `json:"properties,omitempty" yaml:"properties,omitempty"`
	// RscDefaults and OpDefaults are meta-attribute defaults for every
	// resource and every operation.
	RscDefaults map[string]string `json:"rsc_defaults,omitempty" yaml:"rsc_defaults,omitempty"`
	OpDefaults  map[string]string `json:"op_defaults,omitempty" yaml:"op_defaults,omitempty"`
	// PropertySets, RscDefaultSets and OpDefaultSets, when not empty,
	// replace Properties, RscDefaults and OpDefaults: every set in
	// document order with its score and optional rule (a maintenance
	// window, defaults for one agent or one operation). The scheduler
	// applies the matching sets by descending score, the set
	// "cib-bootstrap-options" first among property sets and the later set
	// first among equal scores; the first value of a name wins. The maps
	// then hold only what the sets without a rule give.
	PropertySets   []AttrSet `json:"property_sets,omitempty" yaml:"property_sets,omitempty"`
	RscDefaultSets []AttrSet `json:"rsc_default_sets,omitempty" yaml:"rsc_default_sets,omitempty"`
	OpDefaultSets  []AttrSet `json:"op_default_sets,omitempty" yaml:"op_default_sets,omitempty"`
	Nodes          []Node    `json:"nodes,omitempty" yaml:"nodes,omitempty"`
	// Resources are the top-level resources in configuration order.
	Resources   []Resource   `json:"resources,omitempty" yaml:"resources,omitempty"`
	Locations   []Location   `json:"locations,omitempty" yaml:"locations,omitempty"`
	Colocations []Colocation `json:"colocations,omitempty" yaml:"colocations,omitempty"`
	Orders      []Order      `json:"orders,omitempty" yaml:"orders,omitempty"`
	// Tickets make resources depend on cluster tickets (rsc_ticket).
	Tickets []TicketConstraint `json:"tickets,omitempty" yaml:"tickets,omitempty"`
	// FencingLevels is the fencing topology (`paceline fence level add`):
	// per target, the levels of fence devices tried in order.
	FencingLevels []FencingLevel `json:"fencing_levels,omitempty" yaml:"fencing_levels,omitempty"`
}

// NodeType says what a node is to the cluster.
type NodeType string

const (
	NodeMember NodeType = "member" // a full cluster node
	NodeRemote NodeType = "remote" // a Pacemaker Remote node
	NodePing   NodeType = "ping"   // a quorum-only node that runs nothing
)

// Node is a configured host.
type Node struct {
	Name string   `json:"name" yaml:"name"`
	ID   string   `json:"id,omitempty" yaml:"id,omitempty"`
	Type NodeType `json:"type,omitempty" yaml:"type,omitempty"`
	// Score is added to every resource's score for this node (Pacemaker's
	// node "score" attribute).
	Score Score `json:"score,omitempty" yaml:"score,omitempty"`
	// Attributes are permanent node attributes (standby, site, ...).
	Attributes  map[string]string `json:"attributes,omitempty" yaml:"attributes,omitempty"`
	Utilization map[string]string `json:"utilization,omitempty" yaml:"utilization,omitempty"`
	// AttributeSets and UtilizationSets, when not empty, replace
	// Attributes and Utilization (see Config.PropertySets). Their rules
	// are evaluated without a node, so only dates and nested rules of
	// dates can match.
	AttributeSets   []AttrSet `json:"attribute_sets,omitempty" yaml:"attribute_sets,omitempty"`
	UtilizationSets []AttrSet `json:"utilization_sets,omitempty" yaml:"utilization_sets,omitempty"`
}

// Kind is the kind of a resource.
type Kind string

const (
	KindPrimitive Kind = "primitive"
	KindGroup     Kind = "group"
	KindClone     Kind = "clone"
	KindBundle    Kind = "bundle"
)

// Resource is a primitive, a group of primitives, or a clone of a primitive
// or group. Promotable clones are clones with meta promotable=true.
type Resource struct {
	ID   string `json:"id" yaml:"id"`
	Kind Kind   `json:"kind" yaml:"kind"`
	// Class, Provider and Type name the agent of a primitive
	// (ocf:heartbeat:IPaddr2, systemd:nginx, stonith:fence_dummy, builtin:vip).
	Class    string `json:"class,omitempty" yaml:"class,omitempty"`
	Provider string `json:"provider,omitempty" yaml:"provider,omitempty"`
	Type     string `json:"type,omitempty" yaml:"type,omitempty"`
	// Params are the agent's instance parameters, in the order given.
	Params []NV `json:"params,omitempty" yaml:"params,omitempty"`
	// Meta are meta-attributes (target-role, resource-stickiness, ...).
	Meta map[string]string `json:"meta,omitempty" yaml:"meta,omitempty"`
	// MetaSets and UtilizationSets, when not empty, replace Meta and
	// Utilization (see Config.PropertySets); their rules are evaluated
	// without a node.
	MetaSets        []AttrSet `json:"meta_sets,omitempty" yaml:"meta_sets,omitempty"`
	UtilizationSets []AttrSet `json:"utilization_sets,omitempty" yaml:"utilization_sets,omitempty"`
	// RuleParams are instance-attribute sets that apply only where their
	// rule matches (per-node parameters); they override Params.
	RuleParams  []AttrSet         `json:"rule_params,omitempty" yaml:"rule_params,omitempty"`
	Utilization map[string]string `json:"utilization,omitempty" yaml:"utilization,omitempty"`
	Ops         []Op              `json:"ops,omitempty" yaml:"ops,omitempty"`
	// Children are a group's members in order, a clone's single child, or
	// a bundle's inner primitive (none for a bare container bundle).
	Children []Resource `json:"children,omitempty" yaml:"children,omitempty"`
	// Bundle describes a bundle's containers; set only for KindBundle.
	Bundle *Bundle `json:"bundle,omitempty" yaml:"bundle,omitempty"`
}

// Agent returns "class:provider:type" or "class:type".
func (r *Resource) Agent() string {
	if r.Provider != "" {
		return r.Class + ":" + r.Provider + ":" + r.Type
	}
	return r.Class + ":" + r.Type
}

// NV is one name/value pair of an ordered list.
type NV struct {
	Name  string `json:"name" yaml:"name"`
	Value string `json:"value" yaml:"value"`
	// Secret marks an instance parameter (a password) whose value is
	// write-only: it reaches the agent, but every view of the
	// configuration shows SecretMask instead (see Config.MaskSecrets).
	Secret bool `json:"secret,omitempty" yaml:"secret,omitempty"`
}

// AttrSet is a set of name/value pairs that applies when its rule matches.
type AttrSet struct {
	ID     string `json:"id,omitempty" yaml:"id,omitempty"`
	Score  Score  `json:"score,omitempty" yaml:"score,omitempty"`
	Rule   *Rule  `json:"rule,omitempty" yaml:"rule,omitempty"`
	Values []NV   `json:"values" yaml:"values"`
}

// Op is a configured operation of a primitive.
type Op struct {
	ID   string `json:"id,omitempty" yaml:"id,omitempty"`
	Name string `json:"name" yaml:"name"`
	// Interval is zero for one-shot operations, the repeat period for
	// recurring monitors.
	Interval time.Duration `json:"interval,omitempty" yaml:"interval,omitempty"`
	Timeout  time.Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// Role restricts a monitor to instances in that role (Promoted,
	// Unpromoted, Started, Stopped).
	Role    string `json:"role,omitempty" yaml:"role,omitempty"`
	OnFail  string `json:"on_fail,omitempty" yaml:"on_fail,omitempty"`
	Enabled *bool  `json:"enabled,omitempty" yaml:"enabled,omitempty"`
	// Meta holds any other op attributes (record-pending, start-delay, ...).
	Meta   map[string]string `json:"meta,omitempty" yaml:"meta,omitempty"`
	Params []NV              `json:"params,omitempty" yaml:"params,omitempty"`
}

// IsEnabled reports whether the operation is enabled (the default).
func (o *Op) IsEnabled() bool { return o.Enabled == nil || *o.Enabled }

// Location scores a resource for nodes: either one node with a score, or
// rules evaluated against every node.
type Location struct {
	ID string `json:"id" yaml:"id"`
	// Resource is the resource id; ResourcePattern a regular expression
	// matched against every top-level resource id instead.
	Resource        string `json:"resource,omitempty" yaml:"resource,omitempty"`
	ResourcePattern string `json:"resource_pattern,omitempty" yaml:"resource_pattern,omitempty"`
	// Role limits the constraint to instances in that role.
	Role  string `json:"role,omitempty" yaml:"role,omitempty"`
	Node  string `json:"node,omitempty" yaml:"node,omitempty"`
	Score Score  `json:"score,omitempty" yaml:"score,omitempty"`
	Rules []Rule `json:"rules,omitempty" yaml:"rules,omitempty"`
	// ResourceDiscovery is always (default), never or exclusive.
	ResourceDiscovery string `json:"resource_discovery,omitempty" yaml:"resource_discovery,omitempty"`
	// Sets holds resource sets (each resource gets the constraint).
	Sets []ResourceSet `json:"sets,omitempty" yaml:"sets,omitempty"`
}

// Rule is a boolean expression over node attributes, dates and operations.
type Rule struct {
	ID string `json:"id,omitempty" yaml:"id,omitempty"`
	// Score is the score the rule gives when it matches (locations only);
	// ScoreAttribute takes the score from that node attribute instead.
	Score          Score  `json:"score,omitempty" yaml:"score,omitempty"`
	ScoreAttribute string `json:"score_attribute,omitempty" yaml:"score_attribute,omitempty"`
	HasScore       bool   `json:"has_score,omitempty" yaml:"has_score,omitempty"`
	Role           string `json:"role,omitempty" yaml:"role,omitempty"`
	// BooleanOp joins the expressions: "and" (default) or "or".
	BooleanOp   string     `json:"boolean_op,omitempty" yaml:"boolean_op,omitempty"`
	Expressions []Expr     `json:"expressions,omitempty" yaml:"expressions,omitempty"`
	Dates       []DateExpr `json:"dates,omitempty" yaml:"dates,omitempty"`
	// Agents and Operations are rsc_expression and op_expression
	// conditions, which only rsc_defaults and op_defaults sets (and a
	// resource's own meta_attributes) can satisfy.
	Agents     []AgentExpr `json:"agents,omitempty" yaml:"agents,omitempty"`
	Operations []OpExpr    `json:"operations,omitempty" yaml:"operations,omitempty"`
	Rules      []Rule      `json:"rules,omitempty" yaml:"rules,omitempty"`
	// Unsupported names an element the rule holds that Paceline cannot
	// evaluate; such a rule never matches.
	Unsupported string `json:"unsupported,omitempty" yaml:"unsupported,omitempty"`
}

// Expr compares a node attribute with a value.
type Expr struct {
	Attribute string `json:"attribute" yaml:"attribute"`
	// Operation is lt, gt, lte, gte, eq, ne, defined or not_defined.
	Operation string `json:"operation" yaml:"operation"`
	Value     string `json:"value,omitempty" yaml:"value,omitempty"`
	// Type is string, integer, number or version (empty: Pacemaker's default).
	Type string `json:"type,omitempty" yaml:"type,omitempty"`
	// ValueSource is literal (default), param or meta.
	ValueSource string `json:"value_source,omitempty" yaml:"value_source,omitempty"`
}

// AgentExpr matches a resource's agent (Pacemaker's rsc_expression). An
// empty Class or Type matches any; Provider must equal the resource's
// provider, empty matching only resources without one.
type AgentExpr struct {
	Class    string `json:"class,omitempty" yaml:"class,omitempty"`
	Provider string `json:"provider,omitempty" yaml:"provider,omitempty"`
	Type     string `json:"type,omitempty" yaml:"type,omitempty"`
}

// OpExpr matches an operation (Pacemaker's op_expression): its name and,
// when Interval is set, its interval (as written: "10s", "PT10S"; an
// invalid interval never matches).
type OpExpr struct {
	Name     string `json:"name" yaml:"name"`
	Interval string `json:"interval,omitempty" yaml:"interval,omitempty"`
}

// DateExpr is a date_expression: in_range, gt, lt or date_spec.
type DateExpr struct {
	Operation string            `json:"operation" yaml:"operation"`
	Start     string            `json:"start,omitempty" yaml:"start,omitempty"`
	End       string            `json:"end,omitempty" yaml:"end,omitempty"`
	Duration  map[string]string `json:"duration,omitempty" yaml:"duration,omitempty"`
	Spec      map[string]string `json:"spec,omitempty" yaml:"spec,omitempty"`
}

// Colocation places Resource relative to With.
type Colocation struct {
	ID       string `json:"id" yaml:"id"`
	Resource string `json:"resource,omitempty" yaml:"resource,omitempty"`
	With     string `json:"with,omitempty" yaml:"with,omitempty"`
	Score    Score  `json:"score" yaml:"score"`
	Role     string `json:"role,omitempty" yaml:"role,omitempty"`
	WithRole string `json:"with_role,omitempty" yaml:"with_role,omitempty"`
	// NodeAttribute colocates by equal values of this node attribute
	// instead of the node name (#uname).
	NodeAttribute string `json:"node_attribute,omitempty" yaml:"node_attribute,omitempty"`
	// Influence (default true) lets Resource's preferences move With.
	Influence *bool         `json:"influence,omitempty" yaml:"influence,omitempty"`
	Sets      []ResourceSet `json:"sets,omitempty" yaml:"sets,omitempty"`
}

// Order orders actions of two resources.
type Order struct {
	ID          string `json:"id" yaml:"id"`
	First       string `json:"first,omitempty" yaml:"first,omitempty"`
	Then        string `json:"then,omitempty" yaml:"then,omitempty"`
	FirstAction string `json:"first_action,omitempty" yaml:"first_action,omitempty"`
	ThenAction  string `json:"then_action,omitempty" yaml:"then_action,omitempty"`
	// Kind is Mandatory (default), Optional or Serialize.
	Kind string `json:"kind,omitempty" yaml:"kind,omitempty"`
	// Score is the legacy alternative to Kind (0 means Optional).
	Score *Score `json:"score,omitempty" yaml:"score,omitempty"`
	// Symmetrical (default true for Mandatory) adds the reverse ordering
	// for the opposite actions.
	Symmetrical *bool `json:"symmetrical,omitempty" yaml:"symmetrical,omitempty"`
	// RequireAll (default true) set to false lets Then start once any
	// instance of a cloned First is up (rsc_order require-all).
	RequireAll *bool         `json:"require_all,omitempty" yaml:"require_all,omitempty"`
	Sets       []ResourceSet `json:"sets,omitempty" yaml:"sets,omitempty"`
}

// ResourceSet is an ordered list of resources inside a constraint.
type ResourceSet struct {
	ID         string   `json:"id,omitempty" yaml:"id,omitempty"`
	Resources  []string `json:"resources" yaml:"resources"`
	Sequential *bool    `json:"sequential,omitempty" yaml:"sequential,omitempty"`
	RequireAll *bool    `json:"require_all,omitempty" yaml:"require_all,omitempty"`
	Role       string   `json:"role,omitempty" yaml:"role,omitempty"`
	Action     string   `json:"action,omitempty" yaml:"action,omitempty"`
	Kind       string   `json:"kind,omitempty" yaml:"kind,omitempty"`
	Score      *Score   `json:"score,omitempty" yaml:"score,omitempty"`
	// Ordering is how a sequential colocation set chains its members:
	// "group" (default: each member with the one before it) or "listed"
	// (each member with the one after it).
	Ordering string `json:"ordering,omitempty" yaml:"ordering,omitempty"`
}

// TicketConstraint makes resources depend on a ticket (Pacemaker's
// rsc_ticket): while the ticket is not granted, or is in standby, the
// resources may not run (or, with Role Promoted, may not be promoted), and
// LossPolicy says what happens to those already active when it is revoked.
type TicketConstraint struct {
	ID string `json:"id" yaml:"id"`
	// Resource is the dependent resource; Sets name several instead.
	Resource string `json:"resource,omitempty" yaml:"resource,omitempty"`
	// Role limits the dependency to that role (Promoted: only promotion
	// needs the ticket); empty or Started means any active role.
	Role string `json:"role,omitempty" yaml:"role,omitempty"`
	// Ticket is the ticket's name.
	Ticket string `json:"ticket" yaml:"ticket"`
	// LossPolicy is stop, demote, fence or freeze; empty means demote for
	// Role Promoted and stop otherwise. fence falls back to stop when
	// fencing is disabled.
	LossPolicy string        `json:"loss_policy,omitempty" yaml:"loss_policy,omitempty"`
	Sets       []ResourceSet `json:"sets,omitempty" yaml:"sets,omitempty"`
}
