package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// NodeInfo describes the node that answers GET /v1/node (viewer): its
// name, the version of its binary and its Raft state as hashicorp/raft
// reports it (state, term, last_log_index, commit_index, applied_index,
// last_contact, latest_configuration, ...).
type NodeInfo struct {
	Name      string            `json:"name"`
	Version   string            `json:"version"`
	Revision  string            `json:"revision,omitempty"`
	GoVersion string            `json:"go_version"`
	Platform  string            `json:"platform"`
	Raft      map[string]string `json:"raft,omitempty"`
	// LogFile is whether the node writes a log file (log_file), which
	// GET /v1/node/log serves.
	LogFile bool `json:"log_file"`
}

// NodeInfo returns the answering node's description. Use a client with
// one address to ask a given node.
func (c *Client) NodeInfo(ctx context.Context) (*NodeInfo, error) {
	var ni NodeInfo
	return &ni, c.call(ctx, http.MethodGet, "/v1/node", nil, &ni)
}

// NodeLog returns the answering node's agent log (GET /v1/node/log,
// admin): the lines of the last since (0: all kept), the newest 16 MiB at
// most.
func (c *Client) NodeLog(ctx context.Context, since time.Duration) ([]byte, error) {
	path := "/v1/node/log"
	if since > 0 {
		path += "?since=" + url.QueryEscape(since.String())
	}
	return c.raw(ctx, path, "text/plain")
}

// Metrics returns the answering node's Prometheus metrics in the text
// format (GET /metrics, viewer).
func (c *Client) Metrics(ctx context.Context) ([]byte, error) {
	return c.raw(ctx, "/metrics", "text/plain")
}

// raw GETs path and returns the body as it is.
func (c *Client) raw(ctx context.Context, path, accept string) ([]byte, error) {
	resp, err := c.do(ctx, c.hc, request{method: http.MethodGet, path: path, accept: accept})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// MaxLogBytes bounds the log GET /v1/node/log returns: its newest part.
const MaxLogBytes = 16 << 20

// At returns a client that asks only the node at addr ("https://HOST:PORT"
// or "HOST:PORT"), with this client's token, CA and timeouts: to reach one
// given node, as `paceline report` does for each member.
func (c *Client) At(addr string) (*Client, error) {
	if !strings.Contains(addr, "://") {
		addr = "https://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("api: address %q: want https://HOST:PORT", addr)
	}
	return &Client{addrs: []string{strings.TrimRight(addr, "/")}, token: c.token, hc: c.hc, watchHC: c.watchHC}, nil
}
