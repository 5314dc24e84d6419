package peer

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/paceline/paceline/internal/consensus"
	"github.com/paceline/paceline/internal/controller"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/store"
)

// Client calls other nodes' peer endpoints with this node's
// certificate.
type Client struct {
	// tr carries every call but lease renewals, over HTTP/2: one
	// connection per peer, many calls at once (dispatches and results
	// when many resources start). hb carries the renewals, over HTTP/1.1:
	// one at a time, five times a second from every node to the leader,
	// they are an idle cluster's steady traffic, and Go's HTTP/2 server
	// switches goroutines about thirteen times per call, its HTTP/1.1
	// server a few: the leader woke about 130 times a second for them.
	tr, hb  atomic.Pointer[http.Transport]
	newTr   func(http2 bool) *http.Transport
	timeout time.Duration
	resolve func(node string) (apiAddr string, ok bool)
}

// NewClient returns a client that dials with tlsCfg (pki.NodeTLS) and
// finds a node's API address (host:port) with resolve. timeout bounds one
// call (0: 10 s).
func NewClient(tlsCfg *tls.Config, resolve func(node string) (string, bool), timeout time.Duration) *Client {
	return NewClientFunc(func() *tls.Config { return tlsCfg }, resolve, timeout)
}

// NewClientFunc is NewClient with the TLS configuration read at
// every dial (pki.Keyring.ClientTLS), so a renewed certificate or a new
// CA is used by the next connection (see Reset).
func NewClientFunc(tlsFor func() *tls.Config, resolve func(node string) (string, bool), timeout time.Duration) *Client {
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	c := &Client{timeout: timeout, resolve: resolve, newTr: func(http2 bool) *http.Transport {
		protos := []string{"http/1.1"}
		if http2 {
			protos = []string{"h2", "http/1.1"}
		}
		return &http.Transport{ForceAttemptHTTP2: http2, MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute,
			DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				cfg := tlsFor().Clone()
				cfg.NextProtos = protos
				return (&tls.Dialer{NetDialer: dialer, Config: cfg}).DialContext(ctx, network, addr)
			},
			// A peer that died without closing its connection (a crash, a
			// watchdog reset) leaves it half-open, and HTTP/2 would send
			// every call to it into the void: ping an idle connection and
			// drop it when the ping goes unanswered. (Over HTTP/1.1 a call
			// has its connection to itself, and a failed call drops the
			// idle ones: postAddr.)
			HTTP2: &http.HTTP2Config{SendPingTimeout: time.Second, PingTimeout: time.Second}}
	}}
	c.tr.Store(c.newTr(true))
	c.hb.Store(c.newTr(false))
	return c
}

// Reset makes every later call use a new connection: after this node's
// certificate changed, pooled connections (HTTP/2 keeps one per peer,
// busy with heartbeats) would go on presenting the old one. Calls in
// flight finish on the old connections, which are closed shortly after.
func (c *Client) Reset() {
	for _, p := range []*atomic.Pointer[http.Transport]{&c.tr, &c.hb} {
		old := p.Swap(c.newTr(p == &c.tr))
		old.CloseIdleConnections()
		time.AfterFunc(c.timeout, old.CloseIdleConnections)
	}
}

// Forward proposes cmd on the leader.
func (c *Client) Forward(ctx context.Context, leader string, cmd store.Command) (store.Result, error) {
	b, err := store.Encode(cmd)
	if err != nil {
		return store.Result{}, err
	}
	var w result
	if err := c.Post(ctx, leader, "propose", json.RawMessage(b), &w); err != nil {
		return store.Result{}, err
	}
	return fromWire(w), nil
}

// Post calls path on node with a JSON body and decodes a JSON answer.
// 421 becomes consensus.ErrNotLeader.
func (c *Client) Post(ctx context.Context, node, path string, in, out any) error {
	return c.postNode(ctx, &c.tr, node, path, in, out, c.timeout)
}

// PostAddr is Post to a node known by its API address.
func (c *Client) PostAddr(ctx context.Context, addr, path string, in, out any) error {
	return c.postAddr(ctx, &c.tr, addr, path, in, out, c.timeout)
}

// postLong is Post bounded by ctx alone, for a call that may take longer
// than the client's timeout (a fence).
func (c *Client) postLong(ctx context.Context, node, path string, in, out any) error {
	return c.postNode(ctx, &c.tr, node, path, in, out, 0)
}

// postNode is postAddr to node's API address.
func (c *Client) postNode(ctx context.Context, via *atomic.Pointer[http.Transport], node, path string, in, out any, timeout time.Duration) error {
	addr, ok := c.resolve(node)
	if !ok {
		return fmt.Errorf("%w: no API address known for node %q", ErrCall, node)
	}
	return c.postAddr(ctx, via, addr, path, in, out, timeout)
}

// postAddr posts over the transport in via with an HTTP client timeout
// (0: none but ctx's).
func (c *Client) postAddr(ctx context.Context, via *atomic.Pointer[http.Transport], addr, path string, in, out any, timeout time.Duration) error {
	node := addr
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+Prefix+path, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCall, err)
	}
	req.Header.Set("Content-Type", "application/json")
	tr := via.Load()
	resp, err := (&http.Client{Transport: tr, Timeout: timeout}).Do(req)
	if err != nil {
		// The connection may be half-open: the next call dials afresh.
		tr.CloseIdleConnections()
		return fmt.Errorf("%w: %s to %s: %v", ErrCall, path, node, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	if err != nil {
		return fmt.Errorf("%w: %s to %s: %v", ErrCall, path, node, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		json.Unmarshal(body, &e)
		switch resp.StatusCode {
		case http.StatusMisdirectedRequest:
			return fmt.Errorf("%w: %s: %s", consensus.ErrNotLeader, node, e.Error)
		case http.StatusBadRequest:
			return fmt.Errorf("%w: %s to %s: %d: %s", ErrRejected, path, node, resp.StatusCode, e.Error)
		}
		return fmt.Errorf("%w: %s to %s: %d: %s", ErrCall, path, node, resp.StatusCode, e.Error)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("%w: %s to %s: bad answer: %v", ErrCall, path, node, err)
		}
	}
	return nil
}

// Heartbeat asks the leader to renew this node's lease (the leader takes
// the node's name from its certificate, not from r.Node).
func (c *Client) Heartbeat(ctx context.Context, leader string, r controller.Renewal) error {
	return c.postNode(ctx, &c.hb, leader, "heartbeat", Heartbeat{WatchdogMS: r.Watchdog.Milliseconds(), Boot: r.Boot, Busy: r.Busy, Leaving: r.Leaving}, nil, c.timeout)
}

// Report sends an op result to the leader.
func (c *Client) Report(ctx context.Context, leader, boot string, rh model.ResourceHistory, rec model.OpRecord) error {
	return c.Post(ctx, leader, "report", Report{Resource: rh, Record: rec, Boot: boot}, nil)
}

// Exec hands op to node's executor.
func (c *Client) Exec(ctx context.Context, node string, op controller.Op) error {
	return c.Post(ctx, node, "exec", op, nil)
}

// Close releases idle connections.
func (c *Client) Close() {
	c.tr.Load().CloseIdleConnections()
	c.hb.Load().CloseIdleConnections()
}
