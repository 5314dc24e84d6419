package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// SwitchoverRequest is the body of POST /v1/resources/{id}/switchover
// (operator): a planned move of a promotable clone's promoted role.
type SwitchoverRequest struct {
	// Node is the node to promote; empty: the eligible node with the
	// highest promotion score.
	Node string `json:"node,omitempty"`
	// Wait bounds the whole switchover (a Go duration, "2m"; empty: the
	// server's default, DefaultSwitchoverWait).
	Wait string `json:"wait,omitempty"`
}

// DefaultSwitchoverWait is how long a switchover may take unless the
// request says otherwise.
const DefaultSwitchoverWait = "2m"

// SwitchoverResult is the answer of a switchover that completed: the
// promoted role moved from From to To, what is colocated with it followed,
// and the temporary constraint was removed.
type SwitchoverResult struct {
	// Resource is the promotable clone.
	Resource string `json:"resource"`
	From     string `json:"from"`
	To       string `json:"to"`
	// Constraint is the id of the temporary location constraint the
	// switchover added and removed.
	Constraint string `json:"constraint"`
	// Milliseconds is how long it took, from the request to the cluster
	// settled with the promoted role on To.
	Milliseconds int64 `json:"milliseconds"`
}

// Switchover moves the promoted role of a promotable clone (ID is the
// clone or its primitive) to node (empty: the best eligible one) and
// blocks until it is done, failed, or req.Wait passed. It uses no client
// timeout of its own: ctx bounds it.
func (c *Client) Switchover(ctx context.Context, id string, req SwitchoverRequest) (*SwitchoverResult, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("api: encode request: %w", err)
	}
	path := "/v1/resources/" + url.PathEscape(id) + "/switchover"
	resp, err := c.do(ctx, c.watchHC, request{method: http.MethodPost, path: path, body: b, contentType: "application/json"})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out SwitchoverResult
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("api: POST %s: decode answer: %w", path, err)
	}
	return &out, nil
}
