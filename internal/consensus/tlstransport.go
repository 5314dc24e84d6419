package consensus

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// TransportConfig configures a TLS transport (NewTLSTransport). Start from
// DefaultTransportConfig and set Bind, Server and Client.
type TransportConfig struct {
	// Bind is the host:port the transport listens on, e.g.
	// "10.0.0.1:7101" or "0.0.0.0:7101"; port 0 picks a free port.
	// Required.
	Bind string
	// Advertise is the host:port other nodes dial to reach this one (the
	// Raft address recorded in the cluster configuration). It must be a
	// specific IP address or host name (the peer's certificate must name
	// it) with a non-zero port. Default: the bound listener's address,
	// which then must not be unspecified (0.0.0.0 or ::).
	Advertise string
	// Server is the TLS configuration for accepted connections: this
	// node's certificate and the cluster CA in ClientCAs. It is cloned;
	// the clone is narrowed to TLS 1.3 and
	// tls.RequireAndVerifyClientCert whatever the caller set.
	// pki.NodeTLS returns a suitable value. Required.
	Server *tls.Config
	// Client is the TLS configuration for dialled connections: this
	// node's certificate and the cluster CA in RootCAs. It is cloned and
	// narrowed to TLS 1.3. When ServerName is empty the host of the
	// dialled address is verified against the peer's certificate, as
	// crypto/tls does. pki.NodeTLS returns a suitable value (the same one
	// may serve as Server). Required unless ClientFunc is set.
	Client *tls.Config
	// ClientFunc, when set, returns the client configuration for each
	// dial instead of Client (checked like Client, cloned and narrowed to
	// TLS 1.3 on every dial): the node's certificate and trusted CAs can
	// then change at run time (a CA rotation) without a new transport.
	ClientFunc func() *tls.Config

	// HandshakeTimeout bounds the TLS handshake of an accepted or dialled
	// connection, so a silent or slow peer cannot hold the transport.
	// Default 2 s; must be positive.
	HandshakeTimeout time.Duration
	// Timeout is raft's I/O deadline for one RPC (an InstallSnapshot gets
	// a multiple of it). Default 2 s; must be positive.
	Timeout time.Duration
	// MaxPool is how many idle outgoing connections are kept per peer.
	// Default 3; at least 1.
	MaxPool int
	// MaxPendingHandshakes bounds accepted connections still in their
	// handshake; further connections are closed at once until one
	// finishes. Default 64; at least 1.
	MaxPendingHandshakes int

	// LogOutput receives the transport's log lines (rejected
	// connections, raft's own transport messages). Default io.Discard.
	LogOutput io.Writer
	// LogLevel is the log level: trace, debug, info, warn or error.
	// Default "warn".
	LogLevel string
}

// DefaultTransportConfig returns a TransportConfig with every default
// set; Bind, Server and Client are left for the caller.
func DefaultTransportConfig() TransportConfig {
	return TransportConfig{
		HandshakeTimeout:     2 * time.Second,
		Timeout:              2 * time.Second,
		MaxPool:              3,
		MaxPendingHandshakes: 64,
		LogOutput:            io.Discard,
		LogLevel:             "warn",
	}
}

// Validate reports every problem at once (joined), each wrapping
// ErrInvalidConfig. It checks what can be checked before listening; the
// advertised address is checked again once the listener is bound.
func (c *TransportConfig) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: transport: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if _, _, err := net.SplitHostPort(c.Bind); err != nil {
		bad("bind address %q: %v", c.Bind, err)
	}
	if c.Advertise != "" {
		if err := checkAdvertise(c.Advertise); err != nil {
			bad("%v", err)
		}
	}
	switch {
	case c.Server == nil:
		bad("server TLS config is nil")
	default:
		if len(c.Server.Certificates) == 0 && c.Server.GetCertificate == nil && c.Server.GetConfigForClient == nil {
			bad("server TLS config has no certificate")
		}
		if c.Server.ClientCAs == nil && c.Server.GetConfigForClient == nil {
			bad("server TLS config has no client CAs (the cluster CA must verify peers)")
		}
	}
	client := c.Client
	if c.ClientFunc != nil {
		client = c.ClientFunc()
	}
	if err := checkClientTLS(client); err != nil {
		bad("%v", err)
	}
	if c.HandshakeTimeout <= 0 {
		bad("handshake timeout %s is not positive", c.HandshakeTimeout)
	}
	if c.Timeout <= 0 {
		bad("timeout %s is not positive", c.Timeout)
	}
	if c.MaxPool < 1 {
		bad("max pool %d is below 1", c.MaxPool)
	}
	if c.MaxPendingHandshakes < 1 {
		bad("max pending handshakes %d is below 1", c.MaxPendingHandshakes)
	}
	switch c.LogLevel {
	case "trace", "debug", "info", "warn", "error":
	default:
		bad("log level %q is not trace, debug, info, warn or error", c.LogLevel)
	}
	return errors.Join(errs...)
}

// checkClientTLS checks a configuration for dialled connections.
func checkClientTLS(c *tls.Config) error {
	var errs []error
	switch {
	case c == nil:
		errs = append(errs, errors.New("client TLS config is nil"))
	default:
		if len(c.Certificates) == 0 && c.GetClientCertificate == nil {
			errs = append(errs, errors.New("client TLS config has no certificate (peers require one)"))
		}
		if c.RootCAs == nil {
			errs = append(errs, errors.New("client TLS config has no root CAs (the cluster CA must verify peers)"))
		}
		if c.InsecureSkipVerify {
			errs = append(errs, errors.New("client TLS config skips verification"))
		}
	}
	return errors.Join(errs...)
}

// checkAdvertise checks that addr is host:port with a specific host and a
// non-zero port.
func checkAdvertise(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("advertise address %q: %w", addr, err)
	}
	if host == "" {
		return fmt.Errorf("advertise address %q has no host", addr)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return fmt.Errorf("advertise address %q is unspecified; set Advertise to an address peers can reach", addr)
	}
	if port == "" || port == "0" {
		return fmt.Errorf("advertise address %q has no port", addr)
	}
	return nil
}

// TLSTransport is a Raft transport over mutual TLS 1.3 on TCP, for nodes
// on different hosts. Both ends present a certificate that must chain to
// the cluster CA; a connection whose handshake fails is closed and never
// reaches Raft. It keeps hashicorp/raft behind this package: callers pass
// Transport() to NewNode without importing raft.
type TLSTransport struct {
	stream *tlsStream
	net    *raft.NetworkTransport
}

// NewTLSTransport listens on cfg.Bind and returns the transport. Close it
// (or shut down the Node that uses it, which closes it) to stop listening
// and close every connection.
func NewTLSTransport(cfg TransportConfig) (*TLSTransport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	out := cfg.LogOutput
	if out == nil {
		out = io.Discard
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "raft-tls", Output: out, Level: hclog.LevelFromString(cfg.LogLevel)})

	server := cfg.Server.Clone()
	server.MinVersion, server.MaxVersion = tls.VersionTLS13, 0
	server.ClientAuth = tls.RequireAndVerifyClientCert
	client := func() (*tls.Config, error) {
		c := cfg.Client
		if cfg.ClientFunc != nil {
			c = cfg.ClientFunc()
			if err := checkClientTLS(c); err != nil {
				return nil, err
			}
		}
		c = c.Clone()
		c.MinVersion, c.MaxVersion = tls.VersionTLS13, 0
		return c, nil
	}

	ln, err := net.Listen("tcp", cfg.Bind)
	if err != nil {
		return nil, fmt.Errorf("consensus: transport: listen: %w", err)
	}
	advertise := cfg.Advertise
	if advertise == "" {
		advertise = ln.Addr().String()
	}
	if err := checkAdvertise(advertise); err != nil {
		ln.Close()
		return nil, fmt.Errorf("%w: transport: %w", ErrInvalidConfig, err)
	}
	s := newTLSStream(ln, advertise, server, client, cfg.HandshakeTimeout, cfg.MaxPendingHandshakes, logger)
	nt := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  s,
		MaxPool: cfg.MaxPool,
		Timeout: cfg.Timeout,
		Logger:  logger,
	})
	return &TLSTransport{stream: s, net: nt}, nil
}

// Addr is the advertised address other nodes use to reach this transport
// (pass it to Join).
func (t *TLSTransport) Addr() string { return string(t.net.LocalAddr()) }

// ListenAddr is the address the listener is bound to (with the chosen
// port when Bind asked for port 0).
func (t *TLSTransport) ListenAddr() string { return t.stream.ln.Addr().String() }

// Transport is the value NewNode takes.
func (t *TLSTransport) Transport() raft.Transport { return t.net }

// CloseWhere closes every open connection, accepted or dialled, whose
// peer certificates (leaf first) match reports (a revoked certificate, one from a CA
// no longer trusted) and returns how many it closed. Raft dials again
// when it next needs the peer, and the new handshake checks the
// certificate anew. Established TLS connections are otherwise never
// re-verified.
func (t *TLSTransport) CloseWhere(match func(peer []*x509.Certificate) bool) int {
	return t.stream.closeWhere(match)
}

// Close stops listening, waits for pending handshakes to end and closes
// every connection. It is safe to call more than once, also after the
// Node using the transport has shut down (which closes it too).
func (t *TLSTransport) Close() error {
	err := t.net.Close()
	t.stream.Close()
	return err
}

// tlsStream is a raft.StreamLayer over crypto/tls. A goroutine accepts TCP
// connections and hands each to its own handshake goroutine, bounded by
// the handshake timeout; only connections whose handshake succeeded are
// returned by Accept. So a peer that fails the handshake, or never sends
// one, neither blocks the accept loop nor makes Accept return an error
// (raft's listener backs off for up to a second after each one).
type tlsStream struct {
	ln        net.Listener
	advertise tlsAddr
	server    *tls.Config
	client    func() (*tls.Config, error) // per dial
	timeout   time.Duration
	logger    hclog.Logger

	ready   chan net.Conn // handshaken connections for Accept
	pending chan struct{} // a token per handshake in progress
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu     sync.Mutex
	conns  map[*trackedConn]struct{} // open connections, closed by Close
	closed bool
	once   sync.Once
}

var _ raft.StreamLayer = (*tlsStream)(nil)

// tlsAddr is the advertised address as a net.Addr (raft takes the local
// address from the stream layer's Addr).
type tlsAddr string

func (a tlsAddr) Network() string { return "tcp" }
func (a tlsAddr) String() string  { return string(a) }

func newTLSStream(ln net.Listener, advertise string, server *tls.Config, client func() (*tls.Config, error), timeout time.Duration, maxPending int, logger hclog.Logger) *tlsStream {
	ctx, cancel := context.WithCancel(context.Background())
	s := &tlsStream{
		ln: ln, advertise: tlsAddr(advertise), server: server, client: client, timeout: timeout, logger: logger,
		ready: make(chan net.Conn), pending: make(chan struct{}, maxPending),
		ctx: ctx, cancel: cancel, conns: map[*trackedConn]struct{}{},
	}
	s.wg.Add(1)
	go s.acceptLoop()
	return s
}

// acceptLoop accepts TCP connections until the listener is closed and
// starts a handshake for each.
func (s *tlsStream) acceptLoop() {
	defer s.wg.Done()
	var delay time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// A transient error (out of file descriptors): back off.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.logger.Warn("accept failed", "error", err, "retry-in", delay)
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(delay):
			}
			continue
		}
		delay = 0
		select {
		case s.pending <- struct{}{}:
		default:
			s.logger.Warn("too many pending handshakes; closing connection", "remote-address", c.RemoteAddr().String())
			c.Close()
			continue
		}
		s.wg.Add(1)
		go s.handshake(c)
	}
}

// handshake completes the server side of the TLS handshake within the
// timeout and hands the connection to Accept, or closes it.
func (s *tlsStream) handshake(raw net.Conn) {
	defer s.wg.Done()
	ctx, cancel := context.WithTimeout(s.ctx, s.timeout)
	defer cancel()
	tc := tls.Server(raw, s.server)
	err := tc.HandshakeContext(ctx)
	<-s.pending
	if err != nil {
		s.logger.Warn("rejected connection: TLS handshake failed", "remote-address", raw.RemoteAddr().String(), "error", err)
		tc.Close()
		return
	}
	c, ok := s.track(tc)
	if !ok {
		return
	}
	select {
	case s.ready <- c:
	case <-s.ctx.Done():
		c.Close()
	}
}

// Accept returns the next connection whose handshake succeeded. After
// Close it returns net.ErrClosed.
func (s *tlsStream) Accept() (net.Conn, error) {
	select {
	case c := <-s.ready:
		return c, nil
	case <-s.ctx.Done():
		return nil, fmt.Errorf("consensus: transport: accept: %w", net.ErrClosed)
	}
}

// Dial connects to a peer and completes the TLS handshake within timeout.
func (s *tlsStream) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	if timeout <= 0 || timeout > s.timeout {
		timeout = s.timeout
	}
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	defer cancel()
	cfg, err := s.client()
	if err != nil {
		return nil, fmt.Errorf("consensus: transport: dial %s: %w", address, err)
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: cfg}
	c, err := d.DialContext(ctx, "tcp", string(address))
	if err != nil {
		return nil, fmt.Errorf("consensus: transport: dial %s: %w", address, err)
	}
	tc, ok := s.track(c)
	if !ok {
		return nil, fmt.Errorf("consensus: transport: dial %s: %w", address, net.ErrClosed)
	}
	return tc, nil
}

// Addr is the advertised address.
func (s *tlsStream) Addr() net.Addr { return s.advertise }

// Close stops accepting, ends pending handshakes and closes every
// connection. It is safe to call more than once.
func (s *tlsStream) Close() error {
	var err error
	s.once.Do(func() {
		s.cancel()
		err = s.ln.Close()
		s.wg.Wait()
		s.mu.Lock()
		s.closed = true
		conns := s.conns
		s.conns = nil
		s.mu.Unlock()
		for c := range conns {
			c.Conn.Close()
		}
	})
	return err
}

// closeWhere closes every open connection whose peer certificates (leaf
// first, as the peer sent them) match reports, and returns how many.
func (s *tlsStream) closeWhere(match func(peer []*x509.Certificate) bool) int {
	s.mu.Lock()
	var hit []*trackedConn
	for c := range s.conns {
		tc, ok := c.Conn.(*tls.Conn)
		if !ok {
			continue
		}
		if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 && match(certs) {
			hit = append(hit, c)
		}
	}
	s.mu.Unlock()
	for _, c := range hit {
		c.Close()
	}
	return len(hit)
}

// track records an open connection so Close can close it; after Close it
// closes c and reports false.
func (s *tlsStream) track(c net.Conn) (net.Conn, bool) {
	tc := &trackedConn{Conn: c, s: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return nil, false
	}
	s.conns[tc] = struct{}{}
	return tc, true
}

// trackedConn forgets itself in its stream when closed.
type trackedConn struct {
	net.Conn
	s    *tlsStream
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}
