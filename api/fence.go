package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// FenceEntry is one fence attempt in the replicated fence history (GET
// /v1/fence/history): one run of one fence device against a target, or an
// operator's confirm-down. `paceline fence history --json` prints these.
type FenceEntry struct {
	// Seq numbers the entries of the history from 1.
	Seq uint64 `json:"seq"`
	// Op groups the attempts of one fence operation ("NODE/N").
	Op string `json:"op,omitempty"`
	// Target is the node fenced; Action what was asked (off, on, reboot,
	// confirm-down); AgentAction what the agent ran.
	Target      string `json:"target"`
	Action      string `json:"action"`
	AgentAction string `json:"agent_action,omitempty"`
	// Device is the fence device's id and Level its fencing level (0:
	// the target has no levels).
	Device string `json:"device,omitempty"`
	Level  int    `json:"level,omitempty"`
	// Attempt counts the runs of this device in the operation.
	Attempt int `json:"attempt,omitempty"`
	// Origin is who asked: "controller" (the scheduler planned it) or an
	// API token id.
	Origin string `json:"origin,omitempty"`
	// Executor is the node that ran the device.
	Executor string `json:"executor,omitempty"`
	// Result is "success", "failed" or "timed out"; Reason explains a
	// failure in one line.
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
	// Start and End bound the run.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// FenceLevel is one level of the fencing topology.
type FenceLevel struct {
	Target  string   `json:"target"`
	Index   int      `json:"index"`
	Devices []string `json:"devices"`
}

// FenceDevice is a configured fence device (GET /v1/fence/devices).
type FenceDevice struct {
	ID    string `json:"id"`
	Agent string `json:"agent"`
	// HostCheck is pcmk_host_check as it applies (static-list,
	// dynamic-list, status or none; "" when the agent decides at
	// fence time).
	HostCheck string `json:"host_check,omitempty"`
	// Targets are the nodes of pcmk_host_list and pcmk_host_map.
	Targets []string `json:"targets,omitempty"`
	// Levels are the levels that name the device ("NODE/INDEX").
	Levels []string `json:"levels,omitempty"`
	// Nodes are the nodes where the device (the resource) is started.
	Nodes []string `json:"nodes,omitempty"`
}

// FenceRequest asks for a fence (POST /v1/nodes/NAME/fence).
type FenceRequest struct {
	// Action is off or reboot ("": the cluster's stonith-action).
	Action string `json:"action,omitempty"`
}

// FenceResult is the outcome of POST /v1/nodes/NAME/fence and
// /confirm-down: the attempts made, and whether the node is fenced.
type FenceResult struct {
	Target  string       `json:"target"`
	Fenced  bool         `json:"fenced"`
	By      string       `json:"by,omitempty"`
	Reason  string       `json:"reason,omitempty"`
	Entries []FenceEntry `json:"entries,omitempty"`
}

// FenceHistory returns the fence history, of one target ("": every
// target), oldest first.
func (c *Client) FenceHistory(ctx context.Context, target string) ([]FenceEntry, error) {
	path := "/v1/fence/history"
	if target != "" {
		path += "?target=" + url.QueryEscape(target)
	}
	var out []FenceEntry
	return out, c.call(ctx, http.MethodGet, path, nil, &out)
}

// FenceLevels returns the fencing topology.
func (c *Client) FenceLevels(ctx context.Context) ([]FenceLevel, error) {
	var out []FenceLevel
	return out, c.call(ctx, http.MethodGet, "/v1/fence/levels", nil, &out)
}

// AddFenceLevel adds a level (POST /v1/fence/levels, admin).
func (c *Client) AddFenceLevel(ctx context.Context, l FenceLevel) error {
	return c.call(ctx, http.MethodPost, "/v1/fence/levels", l, nil)
}

// RemoveFenceLevel removes a target's level (DELETE
// /v1/fence/levels/TARGET/INDEX, admin).
func (c *Client) RemoveFenceLevel(ctx context.Context, target string, index int) error {
	return c.call(ctx, http.MethodDelete, "/v1/fence/levels/"+url.PathEscape(target)+"/"+strconv.Itoa(index), nil, nil)
}

// FenceDevices returns the configured fence devices.
func (c *Client) FenceDevices(ctx context.Context) ([]FenceDevice, error) {
	var out []FenceDevice
	return out, c.call(ctx, http.MethodGet, "/v1/fence/devices", nil, &out)
}

// FenceNode fences a node now through its devices (POST
// /v1/nodes/NAME/fence, admin) and returns when the operation ended.
func (c *Client) FenceNode(ctx context.Context, node, action string) (*FenceResult, error) {
	var out FenceResult
	return &out, c.call(ctx, http.MethodPost, "/v1/nodes/"+url.PathEscape(node)+"/fence", FenceRequest{Action: action}, &out)
}

// ConfirmDown tells the cluster that a lost node is down (POST
// /v1/nodes/NAME/confirm-down, admin): its held resources are recovered.
func (c *Client) ConfirmDown(ctx context.Context, node string) (*FenceResult, error) {
	var out FenceResult
	return &out, c.call(ctx, http.MethodPost, "/v1/nodes/"+url.PathEscape(node)+"/confirm-down", nil, &out)
}
