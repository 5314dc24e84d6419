package api

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Operation is one entry of a resource's operation history on a node, as
// the cluster recorded it (GET /v1/resources/{id}/operations): the last
// result of each operation and interval, and the last failure.
type Operation struct {
	// Resource is the recorded id: the primitive's, or a unique clone
	// instance's (an anonymous clone's instances are recorded under the
	// primitive's id).
	Resource  string `json:"resource"`
	Node      string `json:"node"`
	Operation string `json:"operation"`
	// Interval is a recurring operation's interval in milliseconds.
	Interval int64 `json:"interval_ms,omitempty"`
	// CallID numbers the operation on its node (higher is newer).
	CallID int `json:"call_id"`
	// ExitCode is the agent's exit code (OCF) and Expected the one the
	// operation was asked for; Status the executor's status.
	ExitCode   int    `json:"exit_code"`
	Expected   int    `json:"expected_exit_code"`
	Status     string `json:"status"`
	ExitReason string `json:"exit_reason,omitempty"`
	// At is when the operation last ran (zero when unknown); Duration
	// how long it took, in milliseconds.
	At       time.Time `json:"at,omitzero"`
	Duration int       `json:"duration_ms,omitempty"`
	// MigrateSource and MigrateTarget are set on migrate_to and
	// migrate_from.
	MigrateSource string `json:"migrate_source,omitempty"`
	MigrateTarget string `json:"migrate_target,omitempty"`
}

// Operations returns the operation history of resource id (its clone
// instances' and, for a group or clone, its members') on every node,
// newest first.
func (c *Client) Operations(ctx context.Context, id string) ([]Operation, error) {
	var ops []Operation
	return ops, c.call(ctx, http.MethodGet, "/v1/resources/"+url.PathEscape(id)+"/operations", nil, &ops)
}
