package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/paceline/paceline/internal/model"
)

// Version is the command format this package writes and applies. Any change
// to a command's fields or meaning bumps it; Apply rejects other versions
// with ErrUnsupportedVersion, so a node never applies a command it could
// misread. (A leader must not propose a version some voter cannot apply;
// rolling upgrades will gate that on the members' versions.)
const Version = 1

// Type tags a command: it names the one payload field that is set.
type Type string

// The commands. Each names its payload type.
const (
	TypeConfigPut      Type = "config.put"       // *ConfigPut
	TypeConfigRollback Type = "config.rollback"  // *ConfigRollback
	TypeNodeJoin       Type = "node.join"        // *NodeJoin
	TypeNodeLeave      Type = "node.leave"       // *NodeLeave
	TypeNodeState      Type = "node.state"       // *NodeState
	TypeNodeBoot       Type = "node.boot"        // *NodeBoot
	TypeNodeAttrSet    Type = "node.attr.set"    // *NodeAttrSet
	TypeNodeAttrDelete Type = "node.attr.delete" // *NodeAttrDelete
	TypeOpResult       Type = "op.result"        // *OpResult
	TypeFailCountClear Type = "failcount.clear"  // *FailCountClear
	TypeTokenAdd       Type = "token.add"        // *TokenAdd
	TypeTokenRevoke    Type = "token.revoke"     // *TokenRevoke
	TypeAuditAppend    Type = "audit.append"     // *AuditAppend
	TypeEventAppend    Type = "event.append"     // *EventAppend
	TypeAlertPut       Type = "alert.put"        // *AlertPut
	TypeAlertRemove    Type = "alert.remove"     // *AlertRemove
)

// Command is one entry of the replicated log: a version, a type tag and
// exactly the payload the tag names. Build one with the New* helpers or
// directly; Encode it for the log and Decode it back.
type Command struct {
	Version int  `json:"v"`
	Type    Type `json:"type"`

	ConfigPut      *ConfigPut      `json:"config_put,omitempty"`
	ConfigRollback *ConfigRollback `json:"config_rollback,omitempty"`
	NodeJoin       *NodeJoin       `json:"node_join,omitempty"`
	NodeLeave      *NodeLeave      `json:"node_leave,omitempty"`
	NodeState      *NodeState      `json:"node_state,omitempty"`
	NodeBoot       *NodeBoot       `json:"node_boot,omitempty"`
	NodeAttrSet    *NodeAttrSet    `json:"node_attr_set,omitempty"`
	NodeAttrDelete *NodeAttrDelete `json:"node_attr_delete,omitempty"`
	OpResult       *OpResult       `json:"op_result,omitempty"`
	FailCountClear *FailCountClear `json:"fail_count_clear,omitempty"`
	TokenAdd       *TokenAdd       `json:"token_add,omitempty"`
	TokenRevoke    *TokenRevoke    `json:"token_revoke,omitempty"`
	AuditAppend    *AuditAppend    `json:"audit_append,omitempty"`
	NodeCert       *NodeCert       `json:"node_cert,omitempty"`
	CertRevoke     *CertRevoke     `json:"cert_revoke,omitempty"`
	CASet          *CASet          `json:"ca_set,omitempty"`
	FenceRecord    *FenceRecord    `json:"fence_record,omitempty"`
	FenceHold      *FenceHold      `json:"fence_hold,omitempty"`
	EventAppend    *EventAppend    `json:"event_append,omitempty"`
	AlertPut       *AlertPut       `json:"alert_put,omitempty"`
	AlertRemove    *AlertRemove    `json:"alert_remove,omitempty"`
}

// Change describes who made a configuration change and why; it is kept in
// the history. At is supplied by the proposer (Apply reads no clock).
type Change struct {
	// Author is the user or subsystem that asked for the change.
	Author string `json:"author,omitempty"`
	// Message says why (like a commit message).
	Message string `json:"message,omitempty"`
	// At is when the change was proposed, in Unix milliseconds.
	At int64 `json:"at_ms,omitempty"`
}

// ConfigPut replaces the configuration if the current epoch is
// ExpectedEpoch (compare-and-set). The new configuration's Epoch field is
// ignored: the store sets it to the previous epoch plus one. Members keep
// their node entries: a member the new configuration leaves out gets its
// default entry back (nodes leave with NodeLeave).
//
// Apply does not call model.Config.Validate: validation rules may change
// between releases while a log must apply identically everywhere, so the
// proposer validates.
type ConfigPut struct {
	ExpectedEpoch uint64       `json:"expected_epoch"`
	Config        model.Config `json:"config"`
	Change
}

// ConfigRollback makes the configuration of history epoch ToEpoch current
// again, as a new epoch, if the current epoch is ExpectedEpoch.
type ConfigRollback struct {
	ExpectedEpoch uint64 `json:"expected_epoch"`
	ToEpoch       uint64 `json:"to_epoch"`
	Change
}

// NodeJoin adds a member (or updates its role and address). A new member
// also gets a node entry in the configuration (a new epoch), unless the
// configuration already has one. A new member starts offline.
type NodeJoin struct {
	Name    string `json:"name"`
	Role    Role   `json:"role"`
	Address string `json:"address,omitempty"`
	At      int64  `json:"at_ms,omitempty"` // Unix milliseconds, for the history
}

// NodeLeave removes a member: its status, attributes and operation history,
// and its node entry in the configuration (a new epoch).
type NodeLeave struct {
	Name string `json:"name"`
	At   int64  `json:"at_ms,omitempty"` // Unix milliseconds, for the history
}

// NodeState records a member's liveness (online, offline or unclean) and
// its lease. Standby and maintenance are not liveness: they are node
// attributes ("standby", "maintenance"), transient (NodeAttrSet) or
// permanent (the configuration's node entry).
type NodeState struct {
	Name  string `json:"name"`
	State State  `json:"state"`
	Lease Lease  `json:"lease"`
}

// NodeBoot records the agent process a member runs (its boot, as its
// renewals carry it). A boot other than the recorded one clears the
// member's operation history: the new agent's executor numbers its calls
// from 1 again and runs none of the old one's recurring monitors, so the
// old records would look newer than everything it does. Probes rebuild
// the history (as Pacemaker erases a rejoining node's lrm status). Fail
// counts and attributes stay.
type NodeBoot struct {
	Name string `json:"name"`
	Boot string `json:"boot"`
}

// NodeAttrSet sets transient attributes of a member (Pacemaker's attrd
// attributes: promotion scores, ping results, standby until reboot).
type NodeAttrSet struct {
	Name  string            `json:"name"`
	Attrs map[string]string `json:"attrs"`
	// Private sets the member's private attributes instead (attrd_updater
	// --private): shared with every node, but not in what the scheduler
	// reads, and their change is quiet (Result.Quiet): Pacemaker keeps
	// them out of the CIB, so setting one aborts no transition.
	Private bool `json:"private,omitempty"`
}

// NodeAttrDelete deletes transient attributes of a member. Deleting an
// attribute that is not set is not an error.
type NodeAttrDelete struct {
	Name  string   `json:"name"`
	Attrs []string `json:"attrs"`
	// Private deletes private attributes (NodeAttrSet.Private).
	Private bool `json:"private,omitempty"`
}

// OpResult records the result of one operation of a resource on a node
// (Pacemaker's lrm_rsc_op), replacing the record with the same key:
//
//   - Op.ID when set;
//   - otherwise "<rsc>_<op>_<interval>" for a recurring operation
//     (Op.Interval > 0) and "<rsc>_last_0" for any other.
//
// A failed result (RC differs from TargetRC, or OpStatus is neither done
// (0) nor pending (-1)) whose key was derived is also recorded as
// "<rsc>_last_failure_0". FailCountAdd, when not zero, is added (with
// Pacemaker's saturating score arithmetic) to the node attribute
// "fail-count-<rsc>#<op>_<interval>", and "last-failure-<rsc>#<op>_<interval>"
// is set to Op.LastRCChange (or LastRun when that is zero). The proposer
// decides whether a failure counts (on-fail=ignore does not) and by how
// much (start-failure-is-fatal counts INFINITY).
type OpResult struct {
	Node string `json:"node"`
	// Resource is the resource's id and agent; its Ops are ignored.
	Resource     model.ResourceHistory `json:"resource"`
	Op           model.OpRecord        `json:"op"`
	FailCountAdd model.Score           `json:"fail_count_add,omitempty"`
}

// FailCountClear removes a resource's fail counts and last-failure
// attributes, and its last-failure record, on Node (every member when
// empty). Operation and Interval narrow it to one operation (Interval is in
// milliseconds and counts only with Operation). With History the
// resource's whole operation history on those nodes is forgotten too, as
// "crm_resource --cleanup" does, so the scheduler probes it again.
type FailCountClear struct {
	Node      string `json:"node,omitempty"`
	Resource  string `json:"resource"`
	Operation string `json:"operation,omitempty"`
	Interval  int64  `json:"interval_ms,omitempty"`
	History   bool   `json:"history,omitempty"`
}

// Encode returns the command's log encoding (JSON).
func Encode(c Command) ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode %s command: %w", c.Type, err)
	}
	return b, nil
}

// Decode parses a command written by Encode. It checks the encoding only;
// Apply checks the version, the tag and the payload. Unknown fields are an
// error: they would mean a newer format than Version.
func Decode(b []byte) (Command, error) {
	var c Command
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Command{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return c, nil
}

// The New* helpers build a command of the current Version.

// NewConfigPut returns a ConfigPut command.
func NewConfigPut(expectedEpoch uint64, cfg model.Config, ch Change) Command {
	return Command{Version: Version, Type: TypeConfigPut, ConfigPut: &ConfigPut{ExpectedEpoch: expectedEpoch, Config: cfg, Change: ch}}
}

// NewConfigRollback returns a ConfigRollback command.
func NewConfigRollback(expectedEpoch, toEpoch uint64, ch Change) Command {
	return Command{Version: Version, Type: TypeConfigRollback, ConfigRollback: &ConfigRollback{ExpectedEpoch: expectedEpoch, ToEpoch: toEpoch, Change: ch}}
}

// NewNodeJoin returns a NodeJoin command.
func NewNodeJoin(name string, role Role, address string) Command {
	return Command{Version: Version, Type: TypeNodeJoin, NodeJoin: &NodeJoin{Name: name, Role: role, Address: address}}
}

// NewNodeLeave returns a NodeLeave command.
func NewNodeLeave(name string) Command {
	return Command{Version: Version, Type: TypeNodeLeave, NodeLeave: &NodeLeave{Name: name}}
}

// NewNodeState returns a NodeState command.
func NewNodeState(name string, state State, lease Lease) Command {
	return Command{Version: Version, Type: TypeNodeState, NodeState: &NodeState{Name: name, State: state, Lease: lease}}
}

// NewNodeBoot returns a NodeBoot command.
func NewNodeBoot(name, boot string) Command {
	return Command{Version: Version, Type: TypeNodeBoot, NodeBoot: &NodeBoot{Name: name, Boot: boot}}
}

// NewNodeAttrSet returns a NodeAttrSet command.
func NewNodeAttrSet(name string, attrs map[string]string) Command {
	return Command{Version: Version, Type: TypeNodeAttrSet, NodeAttrSet: &NodeAttrSet{Name: name, Attrs: attrs}}
}

// NewNodeAttrDelete returns a NodeAttrDelete command.
func NewNodeAttrDelete(name string, attrs ...string) Command {
	return Command{Version: Version, Type: TypeNodeAttrDelete, NodeAttrDelete: &NodeAttrDelete{Name: name, Attrs: attrs}}
}

// NewPrivateAttrSet returns a NodeAttrSet command for private attributes.
func NewPrivateAttrSet(name string, attrs map[string]string) Command {
	c := NewNodeAttrSet(name, attrs)
	c.NodeAttrSet.Private = true
	return c
}

// NewPrivateAttrDelete returns a NodeAttrDelete command for private
// attributes.
func NewPrivateAttrDelete(name string, attrs ...string) Command {
	c := NewNodeAttrDelete(name, attrs...)
	c.NodeAttrDelete.Private = true
	return c
}

// NewOpResult returns an OpResult command.
func NewOpResult(r OpResult) Command {
	return Command{Version: Version, Type: TypeOpResult, OpResult: &r}
}

// NewFailCountClear returns a FailCountClear command.
func NewFailCountClear(f FailCountClear) Command {
	return Command{Version: Version, Type: TypeFailCountClear, FailCountClear: &f}
}

// NewTokenAdd returns a TokenAdd command.
func NewTokenAdd(t Token) Command {
	return Command{Version: Version, Type: TypeTokenAdd, TokenAdd: &TokenAdd{Token: t}}
}

// NewTokenRevoke returns a TokenRevoke command.
func NewTokenRevoke(id, by string, atMs int64) Command {
	return Command{Version: Version, Type: TypeTokenRevoke, TokenRevoke: &TokenRevoke{ID: id, By: by, At: atMs}}
}

// NewAuditAppend returns an AuditAppend command.
func NewAuditAppend(a AuditAppend) Command {
	return Command{Version: Version, Type: TypeAuditAppend, AuditAppend: &a}
}

// payloads counts the payload fields that are set and reports whether the
// one the tag names is among them.
func (c *Command) payloads() (n int, tagged bool) {
	set := map[Type]bool{
		TypeConfigPut:      c.ConfigPut != nil,
		TypeConfigRollback: c.ConfigRollback != nil,
		TypeNodeJoin:       c.NodeJoin != nil,
		TypeNodeLeave:      c.NodeLeave != nil,
		TypeNodeState:      c.NodeState != nil,
		TypeNodeBoot:       c.NodeBoot != nil,
		TypeNodeAttrSet:    c.NodeAttrSet != nil,
		TypeNodeAttrDelete: c.NodeAttrDelete != nil,
		TypeOpResult:       c.OpResult != nil,
		TypeFailCountClear: c.FailCountClear != nil,
		TypeTokenAdd:       c.TokenAdd != nil,
		TypeTokenRevoke:    c.TokenRevoke != nil,
		TypeAuditAppend:    c.AuditAppend != nil,
		TypeNodeCert:       c.NodeCert != nil,
		TypeCertRevoke:     c.CertRevoke != nil,
		TypeCASet:          c.CASet != nil,
		TypeFenceRecord:    c.FenceRecord != nil,
		TypeFenceHold:      c.FenceHold != nil,
		TypeEventAppend:    c.EventAppend != nil,
		TypeAlertPut:       c.AlertPut != nil,
		TypeAlertRemove:    c.AlertRemove != nil,
	}
	for _, v := range set {
		if v {
			n++
		}
	}
	return n, set[c.Type]
}
