package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Environment variables NewFromEnv reads.
const (
	EnvAddr      = "PACELINE_ADDR"       // base URLs, comma separated
	EnvToken     = "PACELINE_TOKEN"      // the API token
	EnvTokenFile = "PACELINE_TOKEN_FILE" // a file holding the token (used when EnvToken is empty)
	EnvCACert    = "PACELINE_CACERT"     // PEM file of the cluster CA
)

// ErrNoAddress is returned when no base URL is configured.
var ErrNoAddress = errors.New("api: no server address (set " + EnvAddr + ")")

// ClientConfig configures a Client.
type ClientConfig struct {
	// Addrs are base URLs ("https://10.0.0.1:7101"), tried in order.
	Addrs []string
	// Token is the bearer token sent with every request.
	Token string
	// CACertPEM is the cluster CA that server certificates must chain to
	// (nil: the system roots).
	CACertPEM []byte
	// Timeout bounds each request except Watch (default 30s).
	Timeout time.Duration
	// Transport replaces the HTTP transport (tests); CACertPEM is then
	// ignored.
	Transport http.RoundTripper
}

// Client calls the API. It is safe for concurrent use.
type Client struct {
	addrs   []string
	token   string
	hc      *http.Client // with timeout
	watchHC *http.Client // without
	// epoch is the newest configuration epoch a server answered with.
	epoch atomic.Uint64
}

// New returns a client for cfg.
func New(cfg ClientConfig) (*Client, error) {
	var addrs []string
	for _, a := range cfg.Addrs {
		a = strings.TrimRight(strings.TrimSpace(a), "/")
		if a == "" {
			continue
		}
		u, err := url.Parse(a)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("api: address %q: want https://HOST:PORT", a)
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		return nil, ErrNoAddress
	}
	rt := cfg.Transport
	if rt == nil {
		tc := &tls.Config{MinVersion: tls.VersionTLS13}
		if cfg.CACertPEM != nil {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(cfg.CACertPEM) {
				return nil, errors.New("api: CA certificate: no PEM certificate found")
			}
			tc.RootCAs = pool
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tc
		dialer := &net.Dialer{Timeout: 3 * time.Second}
		tr.DialContext = dialer.DialContext
		tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialTLS(ctx, dialer, tc, network, addr)
		}
		rt = tr
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	return &Client{
		addrs:   addrs,
		token:   cfg.Token,
		hc:      &http.Client{Transport: rt, Timeout: timeout},
		watchHC: &http.Client{Transport: rt},
	}, nil
}

// HandshakeTimeout bounds the TLS handshake with one address: a node
// that accepts connections but does not answer (a paused process; the
// kernel still accepts) is given up for the next address after it.
const HandshakeTimeout = 2 * time.Second

// dialTLS connects and completes the TLS handshake within
// HandshakeTimeout. Its failures are dial errors (*net.OpError, Op
// "dial"): the request was never sent, so the next address may be tried
// even for a write.
func dialTLS(ctx context.Context, d *net.Dialer, tc *tls.Config, network, addr string) (net.Conn, error) {
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cfg := tc.Clone()
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg.ServerName = host
	}
	hctx, cancel := context.WithTimeout(ctx, HandshakeTimeout)
	defer cancel()
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(hctx); err != nil {
		raw.Close()
		if hctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("no TLS handshake within %v (the node accepts connections but does not answer)", HandshakeTimeout)
		}
		return nil, &net.OpError{Op: "dial", Net: network, Addr: raw.RemoteAddr(), Err: err}
	}
	return conn, nil
}

// NewFromEnv returns a client configured by PACELINE_ADDR, PACELINE_TOKEN
// or PACELINE_TOKEN_FILE, and PACELINE_CACERT.
func NewFromEnv() (*Client, error) {
	cfg := ClientConfig{Addrs: strings.Split(os.Getenv(EnvAddr), ","), Token: os.Getenv(EnvToken)}
	if cfg.Token == "" {
		if f := os.Getenv(EnvTokenFile); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("api: %s: %w", EnvTokenFile, err)
			}
			cfg.Token = strings.TrimSpace(string(b))
		}
	}
	if f := os.Getenv(EnvCACert); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("api: %s: %w", EnvCACert, err)
		}
		cfg.CACertPEM = b
	}
	return New(cfg)
}

// request describes one call.
type request struct {
	method, path string
	body         []byte
	contentType  string
	accept       string
}

// do sends r to the addresses in turn until one answers, and returns the
// successful response (the caller closes its body) or one error.
func (c *Client) do(ctx context.Context, hc *http.Client, r request) (*http.Response, error) {
	var failures []string
	var behind error // the last server that answered it is behind
	for _, addr := range c.addrs {
		var body io.Reader
		if r.body != nil {
			body = bytes.NewReader(r.body)
		}
		req, err := http.NewRequestWithContext(ctx, r.method, addr+r.path, body)
		if err != nil {
			return nil, fmt.Errorf("api: %s %s: %w", r.method, r.path, err)
		}
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		if r.contentType != "" {
			req.Header.Set("Content-Type", r.contentType)
		}
		if e := c.epoch.Load(); e > 0 {
			req.Header.Set("Paceline-Min-Epoch", strconv.FormatUint(e, 10))
		}
		req.Header.Set("Accept", "application/json")
		if r.accept != "" {
			req.Header.Set("Accept", r.accept)
		}
		resp, err := hc.Do(req)
		if err != nil {
			if ctx.Err() == nil && unreachable(err) {
				failures = append(failures, fmt.Sprintf("%s: %v", addr, rootCause(err)))
				continue
			}
			return nil, fmt.Errorf("api: %s: %v", addr, rootCause(err))
		}
		c.sawEpoch(resp.Header.Get("Paceline-Epoch"))
		if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get(HeaderRetryElsewhere) != "" {
			// The server did nothing (its state is behind): try the next.
			behind = readError(addr, resp)
			resp.Body.Close()
			failures = append(failures, behind.Error())
			continue
		}
		if resp.StatusCode >= 300 {
			defer resp.Body.Close()
			return nil, readError(addr, resp)
		}
		return resp, nil
	}
	if len(failures) == 1 && behind != nil {
		return nil, behind
	}
	return nil, fmt.Errorf("api: no server answered: %s", strings.Join(failures, "; "))
}

// sawEpoch remembers the newest configuration epoch a server answered
// with; later requests ask for a copy at least that new (header
// Paceline-Min-Epoch), so a client reads its own writes on any node.
func (c *Client) sawEpoch(v string) {
	e, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return
	}
	for {
		old := c.epoch.Load()
		if e <= old || c.epoch.CompareAndSwap(old, e) {
			return
		}
	}
}

// unreachable reports whether err means the request never reached the
// server (so another address may be tried without repeating a write).
func unreachable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// rootCause strips the url.Error wrapper, which repeats method and URL.
func rootCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func readError(addr string, resp *http.Response) error {
	e := &Error{StatusCode: resp.StatusCode, Addr: addr}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, e) != nil || e.Message == "" {
		e.Message = strings.TrimSpace(string(b))
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
		// Go's TLS server answers a plain HTTP request with this text.
		if resp.StatusCode == http.StatusBadRequest && strings.Contains(e.Message, "HTTP request to an HTTPS server") {
			e.Message = "the server speaks HTTPS: write the address as https://" + strings.TrimPrefix(addr, "http://") +
				" (in " + EnvAddr + ")"
		}
	}
	return e
}

// call sends in as JSON (when not nil) and decodes the answer into out
// (when not nil).
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	r := request{method: method, path: path}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("api: encode request: %w", err)
		}
		r.body, r.contentType = b, "application/json"
	}
	resp, err := c.do(ctx, c.hc, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("api: %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// Status returns the cluster status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var st Status
	return &st, c.call(ctx, http.MethodGet, "/v1/status", nil, &st)
}

// Resources returns the configured top-level resources.
func (c *Client) Resources(ctx context.Context) ([]Resource, error) {
	var rs []Resource
	return rs, c.call(ctx, http.MethodGet, "/v1/resources", nil, &rs)
}

// Resource returns one configured resource.
func (c *Client) Resource(ctx context.Context, id string) (*Resource, error) {
	var r Resource
	return &r, c.call(ctx, http.MethodGet, "/v1/resources/"+url.PathEscape(id), nil, &r)
}

// CreateResource creates a primitive.
func (c *Client) CreateResource(ctx context.Context, req ResourceRequest) (*Resource, error) {
	var r Resource
	return &r, c.call(ctx, http.MethodPost, "/v1/resources", req, &r)
}

// ForceCreateResource is CreateResource without the check against the
// agent's meta-data (for agents whose meta-data is wrong or absent).
func (c *Client) ForceCreateResource(ctx context.Context, req ResourceRequest) (*Resource, error) {
	var r Resource
	return &r, c.call(ctx, http.MethodPost, "/v1/resources?force=true", req, &r)
}

// Agents lists the resource agents installed on the answering node
// ("ocf:heartbeat:IPaddr2", "builtin:vip"); class and provider narrow it.
func (c *Client) Agents(ctx context.Context, class, provider string) ([]string, error) {
	q := url.Values{}
	if class != "" {
		q.Set("class", class)
	}
	if provider != "" {
		q.Set("provider", provider)
	}
	path := "/v1/agents"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var l AgentList
	return l.Agents, c.call(ctx, http.MethodGet, path, nil, &l)
}

// AgentMeta returns an agent's parameters and actions from its meta-data
// (404 for an agent not installed on the answering node).
func (c *Client) AgentMeta(ctx context.Context, agent string) (*AgentMeta, error) {
	var m AgentMeta
	return &m, c.call(ctx, http.MethodGet, "/v1/agents/"+url.PathEscape(agent), nil, &m)
}

// UpdateResource replaces a primitive's agent, params, meta and ops.
func (c *Client) UpdateResource(ctx context.Context, id string, req ResourceRequest) (*Resource, error) {
	var r Resource
	return &r, c.call(ctx, http.MethodPut, "/v1/resources/"+url.PathEscape(id), req, &r)
}

// DeleteResource deletes a resource and the constraints that name it.
func (c *Client) DeleteResource(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, "/v1/resources/"+url.PathEscape(id), nil, nil)
}

// CleanupResource forgets a resource's fail counts and operation history
// on node (every node when node is empty), so it is probed again.
func (c *Client) CleanupResource(ctx context.Context, id, node string) (*CleanupResult, error) {
	path := "/v1/resources/" + url.PathEscape(id) + "/cleanup"
	if node != "" {
		path += "?node=" + url.QueryEscape(node)
	}
	var res CleanupResult
	return &res, c.call(ctx, http.MethodPost, path, nil, &res)
}

// Nodes returns the cluster members.
func (c *Client) Nodes(ctx context.Context) ([]Node, error) {
	var ns []Node
	return ns, c.call(ctx, http.MethodGet, "/v1/nodes", nil, &ns)
}

// SetNodeAttributes sets transient attributes of a node; an empty value
// deletes that attribute.
func (c *Client) SetNodeAttributes(ctx context.Context, node string, attrs map[string]string) error {
	return c.call(ctx, http.MethodPut, "/v1/nodes/"+url.PathEscape(node)+"/attributes", attrs, nil)
}

// AddConstraint adds a location, colocation or order constraint.
func (c *Client) AddConstraint(ctx context.Context, con Constraint) error {
	return c.call(ctx, http.MethodPost, "/v1/constraints", con, nil)
}

// RemoveConstraint removes the constraint with that id.
func (c *Client) RemoveConstraint(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, "/v1/constraints/"+url.PathEscape(id), nil, nil)
}

// Properties returns the cluster properties.
func (c *Client) Properties(ctx context.Context) (map[string]string, error) {
	var m map[string]string
	return m, c.call(ctx, http.MethodGet, "/v1/properties", nil, &m)
}

// Property returns one property (404 when not set).
func (c *Client) Property(ctx context.Context, name string) (string, error) {
	var p Property
	err := c.call(ctx, http.MethodGet, "/v1/properties/"+url.PathEscape(name), nil, &p)
	return p.Value, err
}

// SetProperty sets one property: a known cluster option with a value of
// its type (model.CheckProperty), or 400.
func (c *Client) SetProperty(ctx context.Context, name, value string) error {
	return c.call(ctx, http.MethodPut, "/v1/properties/"+url.PathEscape(name), Property{Value: value}, nil)
}

// ForceProperty sets one property without checking its name or value
// (a custom property, or an option this version does not know).
func (c *Client) ForceProperty(ctx context.Context, name, value string) error {
	return c.call(ctx, http.MethodPut, "/v1/properties/"+url.PathEscape(name)+"?force=true", Property{Value: value}, nil)
}

// Config returns the current configuration (with its epoch).
func (c *Client) Config(ctx context.Context) (*Config, error) {
	var cfg Config
	return &cfg, c.call(ctx, http.MethodGet, "/v1/config", nil, &cfg)
}

// ConfigYAML returns the current configuration as the server renders it
// in YAML ("config export").
func (c *Client) ConfigYAML(ctx context.Context) ([]byte, error) {
	return c.configYAML(ctx, "/v1/config")
}

// ConfigYAMLWithSecrets is ConfigYAML with secret parameter values shown
// (a 403 *Error unless the token is an admin's).
func (c *Client) ConfigYAMLWithSecrets(ctx context.Context) ([]byte, error) {
	return c.configYAML(ctx, "/v1/config?secrets=true")
}

func (c *Client) configYAML(ctx context.Context, path string) ([]byte, error) {
	resp, err := c.do(ctx, c.hc, request{method: http.MethodGet, path: path, accept: "application/yaml"})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// ApplyConfigYAML applies a YAML configuration. Its epoch must be the
// current one unless force is set (a 409 *Error otherwise).
func (c *Client) ApplyConfigYAML(ctx context.Context, doc []byte, force bool) (*ConfigResult, error) {
	path := "/v1/config"
	if force {
		path += "?force=true"
	}
	resp, err := c.do(ctx, c.hc, request{method: http.MethodPost, path: path, body: doc, contentType: "application/yaml"})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var res ConfigResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return nil, fmt.Errorf("api: apply config: decode answer: %w", err)
	}
	return &res, nil
}

// ConfigHistory lists the kept configuration epochs, newest first.
func (c *Client) ConfigHistory(ctx context.Context) ([]ConfigHistoryEntry, error) {
	var h []ConfigHistoryEntry
	return h, c.call(ctx, http.MethodGet, "/v1/config/history", nil, &h)
}

// Rollback makes the configuration of a kept epoch the next epoch.
func (c *Client) Rollback(ctx context.Context, epoch uint64) (*ConfigResult, error) {
	var res ConfigResult
	return &res, c.call(ctx, http.MethodPost, "/v1/config/rollback", RollbackRequest{Epoch: epoch}, &res)
}

// DryRunConfigYAML asks what applying a YAML configuration would change
// (see DryRun); nothing is changed. force compares with the current
// epoch whatever the document's.
func (c *Client) DryRunConfigYAML(ctx context.Context, doc []byte, force bool) (*DryRun, error) {
	path := "/v1/config?dry_run=true"
	if force {
		path += "&force=true"
	}
	resp, err := c.do(ctx, c.hc, request{method: http.MethodPost, path: path, body: doc, contentType: "application/yaml"})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out DryRun
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("api: dry run: %w", err)
	}
	return &out, nil
}

// ApplyConfig applies a configuration (compare-and-set on cfg.Epoch unless
// force).
func (c *Client) ApplyConfig(ctx context.Context, cfg *Config, force bool) (*ConfigResult, error) {
	path := "/v1/config"
	if force {
		path += "?force=true"
	}
	var res ConfigResult
	return &res, c.call(ctx, http.MethodPost, path, cfg, &res)
}

// CreateJoinToken returns a single-use join token valid for ttl.
func (c *Client) CreateJoinToken(ctx context.Context, ttl time.Duration) (*TokenResponse, error) {
	var t TokenResponse
	return &t, c.call(ctx, http.MethodPost, "/v1/tokens", TokenRequest{Kind: TokenJoin, TTL: ttl.String()}, &t)
}

// Watch calls fn with every event of GET /v1/events until ctx is done,
// the stream ends, or fn returns an error (which Watch returns).
func (c *Client) Watch(ctx context.Context, fn func(Event) error) error {
	return c.stream(ctx, "/v1/events", func(typ string, data []byte) error {
		if typ != "status" {
			return nil
		}
		ev := Event{Type: typ}
		if err := json.Unmarshal(data, &ev.Status); err != nil {
			return fmt.Errorf("api: events: %w", err)
		}
		return fn(ev)
	})
}

// stream reads the server-sent events of GET path and calls fn with each
// entry's type and data until ctx is done, the stream ends, or fn
// returns an error (which stream returns).
func (c *Client) stream(ctx context.Context, path string, fn func(typ string, data []byte) error) error {
	resp, err := c.do(ctx, c.watchHC, request{method: http.MethodGet, path: path, accept: "text/event-stream"})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var typ string
	var data []byte
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if typ != "" {
				if err := fn(typ, data); err != nil {
					return err
				}
			}
			typ, data = "", nil
		case strings.HasPrefix(line, "event:"):
			typ = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")...)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("api: events: %w", err)
	}
	return nil
}
