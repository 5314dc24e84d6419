package model

import "time"

// Status is what the cluster has observed: node membership, transient node
// attributes and each node's operation history per resource.
type Status struct {
	// HaveQuorum is whether the partition that produced the status has
	// quorum.
	HaveQuorum bool `json:"have_quorum"`
	// DC is the name of the node coordinating the cluster, if known.
	DC string `json:"dc,omitempty"`
	// Now is the time the status describes (Pacemaker's execution-date);
	// zero means "use the scheduler's input time".
	Now time.Time `json:"now,omitempty"`
	// FeatureSet is the version of the status format (Pacemaker's
	// crm_feature_set); older histories count failures per resource
	// rather than per operation.
	FeatureSet string       `json:"feature_set,omitempty"`
	Nodes      []NodeStatus `json:"nodes,omitempty"`
	// Tickets is the state of every ticket the cluster knows, by name. A
	// ticket without an entry is not granted.
	Tickets map[string]TicketState `json:"tickets,omitempty"`
}

// TicketState is the observed state of one ticket.
type TicketState struct {
	// Granted is whether this site holds the ticket.
	Granted bool `json:"granted"`
	// Standby makes resources that depend on the ticket stop as if it
	// had been revoked, although it is still granted.
	Standby bool `json:"standby,omitempty"`
	// LastGranted is when the ticket was last granted (Unix seconds,
	// zero when unknown).
	LastGranted int64 `json:"last_granted,omitempty"`
}

// NodeStatus is one node's membership, attributes and history.
type NodeStatus struct {
	Name string `json:"name"`
	ID   string `json:"id,omitempty"`
	// InCluster is "true" or "false" (empty when never seen): membership
	// of the cluster layer.
	InCluster string `json:"in_cluster,omitempty"`
	// Peer is "online" or "offline": the node's controller process.
	Peer string `json:"peer,omitempty"`
	// Join is member, down, pending or banned.
	Join string `json:"join,omitempty"`
	// Expected is the state the node is expected to be in (member or down).
	Expected string `json:"expected,omitempty"`
	// Remote marks the entry of a Pacemaker Remote or guest node, whose
	// state comes from its connection resource rather than membership.
	Remote bool `json:"remote,omitempty"`
	// RemoteFenced says a remote node was fenced since its connection was
	// last up (Pacemaker's node_fenced).
	RemoteFenced bool `json:"remote_fenced,omitempty"`
	// Attributes are transient node attributes (fail counts, promotion
	// scores, shutdown requests, ping results).
	Attributes map[string]string `json:"attributes,omitempty"`
	// Resources is the operation history per resource on this node.
	Resources []ResourceHistory `json:"resources,omitempty"`
}

// ResourceHistory is the recorded operations of one resource on one node.
type ResourceHistory struct {
	ID        string `json:"id"`
	Class     string `json:"class,omitempty"`
	Provider  string `json:"provider,omitempty"`
	Type      string `json:"type,omitempty"`
	Container string `json:"container,omitempty"`
	// ShutdownLock is when the resource was locked to this node because
	// the node shut down cleanly (Unix seconds; 0: not locked).
	ShutdownLock int64      `json:"shutdown_lock,omitempty"`
	Ops          []OpRecord `json:"ops,omitempty"`
}

// OpRecord is one recorded operation result.
type OpRecord struct {
	ID        string `json:"id,omitempty"`
	Operation string `json:"operation"`
	// Interval is the recurring interval in milliseconds (0: one-shot).
	Interval int64 `json:"interval_ms,omitempty"`
	CallID   int   `json:"call_id"`
	// RC is the agent's exit code (OCF codes); OpStatus the executor's
	// status (0 done, -1 pending, 1 cancelled, 2 timed out, 3 not
	// supported, 4 error, 5 hard error, 6 fatal error, 7 not installed, 8
	// not connected, 9 invalid).
	RC       int `json:"rc"`
	OpStatus int `json:"op_status"`
	// TargetRC is the exit code the operation was expected to return.
	TargetRC int `json:"target_rc"`
	// TransitionKey identifies the transition that asked for the
	// operation.
	TransitionKey string `json:"transition_key,omitempty"`
	// LastRun and LastRCChange are Unix seconds.
	LastRun      int64  `json:"last_run,omitempty"`
	LastRCChange int64  `json:"last_rc_change,omitempty"`
	ExecTime     int    `json:"exec_time_ms,omitempty"`
	Digest       string `json:"digest,omitempty"`
	// RestartDigest and SecureDigest cover parameters that force a
	// restart or are not secret.
	RestartDigest string `json:"restart_digest,omitempty"`
	SecureDigest  string `json:"secure_digest,omitempty"`
	// SecureParams lists the private parameters left out of SecureDigest.
	SecureParams string `json:"secure_params,omitempty"`
	// FeatureSet is the version of the software that recorded the entry.
	FeatureSet   string `json:"feature_set,omitempty"`
	ForceRestart string `json:"force_restart,omitempty"`
	// MigrateSource and MigrateTarget are set on migrate_to/migrate_from.
	MigrateSource string `json:"migrate_source,omitempty"`
	MigrateTarget string `json:"migrate_target,omitempty"`
	// OnNode is the node the entry says it ran on (older histories leave
	// it out); it decides whether call ids of two entries are comparable.
	OnNode     string `json:"on_node,omitempty"`
	ExitReason string `json:"exit_reason,omitempty"`
}
