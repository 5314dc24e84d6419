package consensus

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/pki/pkitest"
	"github.com/paceline/paceline/internal/store"
)

// The pki package is used by these tests only: consensus itself takes
// *tls.Config values from the caller (deptest: consensus imports only the
// model and the store).

// testTLS returns a node TLS config (pki.NodeTLS: usable to listen and to
// dial) for a server named name with a certificate for 127.0.0.1 from ca.
func testTLS(t *testing.T, ca *pki.CA, name string) *tls.Config {
	t.Helper()
	return pki.NodeTLS(ca, pkitest.Cert(t, ca, name))
}

func testCA(t *testing.T, cluster string) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA(cluster, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newTestTLSTransport listens on 127.0.0.1:0 with conf as both server and
// client config; it is closed at the end of the test.
func newTestTLSTransport(t *testing.T, conf *tls.Config, log io.Writer) *TLSTransport {
	t.Helper()
	tc := DefaultTransportConfig()
	tc.Bind = "127.0.0.1:0"
	tc.Server, tc.Client = conf, conf
	tc.HandshakeTimeout = 300 * time.Millisecond
	tc.LogOutput, tc.LogLevel = log, "warn"
	if testing.Verbose() {
		tc.LogOutput, tc.LogLevel = io.MultiWriter(log, os.Stderr), "info"
	}
	tr, err := NewTLSTransport(tc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// tlsCluster is n nodes over TLS transports on loopback ports, with
// certificates from one CA; it reuses cluster's wait helpers.
type tlsCluster struct {
	*cluster
	ca    *pki.CA
	trans map[string]*TLSTransport
	logs  map[string]*syncBuffer // each transport's log
}

// startTLSNode starts a node named id over a new TLS transport with conf.
func startTLSNode(t *testing.T, id string, conf *tls.Config) (*Node, *TLSTransport, *syncBuffer) {
	t.Helper()
	log := &syncBuffer{}
	tr := newTestTLSTransport(t, conf, log)
	n, err := NewNode(testConfig(id, ""), tr.Transport())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown() })
	return n, tr, log
}

func newTLSCluster(t *testing.T, size int) *tlsCluster {
	t.Helper()
	return newTLSClusterWith(t, size, testTLS)
}

// newTLSClusterWith is newTLSCluster with each node's TLS config from mk.
func newTLSClusterWith(t *testing.T, size int, mk func(t *testing.T, ca *pki.CA, name string) *tls.Config) *tlsCluster {
	t.Helper()
	c := &tlsCluster{
		cluster: &cluster{t: t, nodes: map[string]*Node{}},
		ca:      testCA(t, "test"), trans: map[string]*TLSTransport{}, logs: map[string]*syncBuffer{},
	}
	for i := 1; i <= size; i++ {
		id := fmt.Sprintf("n%d", i)
		c.nodes[id], c.trans[id], c.logs[id] = startTLSNode(t, id, mk(t, c.ca, id))
	}
	n1 := c.nodes["n1"]
	if err := n1.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "n1 to lead", n1.IsLeader)
	for i := 1; i <= size; i++ {
		id := fmt.Sprintf("n%d", i)
		if r, err := n1.Join(context.Background(), id, c.trans[id].Addr(), store.RoleServer); err != nil || r.Err != nil {
			t.Fatalf("join %s: %v %v", id, err, r.Err)
		}
	}
	c.waitLeader()
	return c
}

// commitEverywhere puts a marker on the leader and waits until every node
// has applied it.
func (c *tlsCluster) commitEverywhere(marker string) {
	c.t.Helper()
	leader := c.waitLeader()
	e := put(c.t, leader, leader.Epoch(), marker)
	c.waitEpoch(e)
	for id, n := range c.nodes {
		if got := n.Config().Properties["marker"]; got != marker {
			c.t.Fatalf("%s: marker %q, want %q", id, got, marker)
		}
	}
}

// Three nodes on different TCP ports, each with its own certificate from
// one cluster CA, form a cluster over mutual TLS: a command committed on
// the leader is applied on every node.
func TestTLSClusterReplicates(t *testing.T) {
	c := newTLSCluster(t, 3)
	leader := c.waitLeader()
	if e := leader.Epoch(); e != 3 || len(leader.Config().Nodes) != 3 {
		t.Fatalf("after three joins: epoch %d, nodes %v", e, leader.Config().Nodes)
	}
	for id, tr := range c.trans {
		if !strings.HasPrefix(tr.Addr(), "127.0.0.1:") || tr.Addr() != tr.ListenAddr() {
			t.Errorf("%s: addr %q, listen addr %q", id, tr.Addr(), tr.ListenAddr())
		}
	}
	c.commitEverywhere("over-tls")
	want := snapshotOf(t, leader)
	for id, n := range c.nodes {
		if got := snapshotOf(t, n); got != want {
			t.Errorf("%s's state differs from the leader's", id)
		}
	}
}

// A node whose certificate comes from another CA can neither reach the
// cluster nor be reached by it: both handshakes fail on certificate
// verification. Added to the configuration anyway, it never receives the
// cluster's state, and the cluster keeps committing without it.
func TestTLSForeignCANodeIsRejected(t *testing.T) {
	c := newTLSCluster(t, 3)
	leader := c.waitLeader()
	foreign, ftr, _ := startTLSNode(t, "intruder", testTLS(t, testCA(t, "other"), "intruder"))

	var unknownCA x509.UnknownAuthorityError
	// The intruder dials the leader: it does not trust the leader's CA.
	if conn, err := ftr.stream.Dial(leader.trans.LocalAddr(), time.Second); err == nil {
		conn.Close()
		t.Fatal("intruder dialled the leader over TLS")
	} else if !errors.As(err, &unknownCA) {
		t.Fatalf("intruder's dial: %v, want an unknown-authority error", err)
	}
	// The leader dials the intruder: it does not trust the intruder's CA.
	if conn, err := c.trans[leader.ID()].stream.Dial(raft.ServerAddress(ftr.Addr()), time.Second); err == nil {
		conn.Close()
		t.Fatal("leader dialled the intruder over TLS")
	} else if !errors.As(err, &unknownCA) {
		t.Fatalf("leader's dial: %v, want an unknown-authority error", err)
	}

	// Raft accepts the intruder into the configuration (hashicorp/raft
	// does not contact a new voter first), yet it never gets an entry.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if r, err := leader.Join(ctx, "intruder", ftr.Addr(), store.RoleServer); err != nil || r.Err != nil {
		t.Fatalf("join intruder: %v %v", err, r.Err)
	}
	c.commitEverywhere("without-intruder")
	c.commitEverywhere("still-without-intruder")
	if e, l := foreign.Epoch(), foreign.LeaderID(); e != 0 || l != "" {
		t.Fatalf("intruder has epoch %d and knows leader %q; want nothing", e, l)
	}
	if got := c.logs[leader.ID()].String(); !strings.Contains(got, "rejected connection: TLS handshake failed") {
		t.Errorf("leader's transport log does not record the intruder's rejected connection:\n%s", got)
	}
}

// The accepting side requires a client certificate from the cluster CA:
// a client that trusts the cluster CA but presents a foreign certificate,
// or none, is refused by the server (in TLS 1.3 the client learns it on
// its first read), and the connection never reaches Raft.
func TestTLSServerRequiresClusterClientCert(t *testing.T) {
	c := newTLSCluster(t, 3)
	leader := c.waitLeader()
	follower := c.nodes["n1"]
	if follower == leader {
		follower = c.nodes["n2"]
	}
	foreignCert := testTLS(t, testCA(t, "other"), "intruder").Certificates
	expectRefused := func(addr string) {
		t.Helper()
		for name, certs := range map[string][]tls.Certificate{"foreign certificate": foreignCert, "no certificate": nil} {
			conf := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: c.ca.CertPool(), Certificates: certs}
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, conf)
			if err != nil {
				continue // refused during the handshake: fine too
			}
			conn.SetDeadline(time.Now().Add(2 * time.Second))
			_, err = conn.Read(make([]byte, 1))
			conn.Close()
			var ne net.Error
			if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
				t.Fatalf("%s: read after handshake: %v; want the server's refusal", name, err)
			}
		}
	}
	expectRefused(c.trans[follower.ID()].Addr())
	c.commitEverywhere("after-refusals")

	// The transport enforces the client certificate itself, also with a
	// caller's server config that would not ask for one.
	lax := &tls.Config{Certificates: testTLS(t, c.ca, "lax").Certificates, ClientCAs: c.ca.CertPool()}
	tc := DefaultTransportConfig()
	tc.Bind, tc.Server, tc.Client = "127.0.0.1:0", lax, testTLS(t, c.ca, "lax")
	tr, err := NewTLSTransport(tc)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	expectRefused(tr.Addr())
}

// Plain TCP on the Raft port (garbage, an HTTP request, a silent
// connections that never start a handshake) neither crashes nor blocks the
// transport: the server drops each, valid peers are still accepted while
// silent connections are open, and the cluster still commits over new
// connections.
func TestTLSTransportSurvivesPlainTCP(t *testing.T) {
	c := newTLSCluster(t, 3)
	leader := c.waitLeader()
	follower := c.nodes["n1"]
	if follower == leader {
		follower = c.nodes["n2"]
	}
	addr := c.trans[follower.ID()].Addr()

	// Ten silent connections: handled one after another, they would hold
	// the accept loop for ten handshake timeouts (3 s).
	var silent []net.Conn
	for range 10 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		silent = append(silent, conn)
	}
	for _, junk := range []string{"\x00\x01garbage that is not a TLS record", "GET / HTTP/1.0\r\n\r\n"} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write([]byte(junk))
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err = io.ReadAll(conn)
		conn.Close()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("server kept a connection that sent %q open", junk)
		}
	}
	// While the silent connections wait in their handshakes, a valid
	// peer's handshake completes within its 1 s dial timeout.
	conn, err := c.trans[leader.ID()].stream.Dial(raft.ServerAddress(addr), time.Second)
	if err != nil {
		t.Fatalf("valid dial while silent connections are open: %v", err)
	}
	conn.Close()
	// Drop every pooled connection so the next commit needs new ones.
	for _, tr := range c.trans {
		tr.net.CloseStreams()
	}
	c.commitEverywhere("after-plain-tcp")
	// The silent connections are closed after the handshake timeout.
	for _, conn := range silent {
		conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		var ne net.Error
		if _, err := conn.Read(make([]byte, 1)); err == nil {
			t.Fatal("silent connection read data")
		} else if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("silent connection still open after the handshake timeout")
		}
	}
}

// Close stops the listener and ends Accept; it may be called twice.
func TestTLSTransportClose(t *testing.T) {
	ca := testCA(t, "test")
	tr := newTestTLSTransport(t, testTLS(t, ca, "n1"), io.Discard)
	addr := tr.ListenAddr()
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := tr.stream.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("accept after close: %v", err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatal("listener still accepts after close")
	}
}

func TestTransportConfigValidate(t *testing.T) {
	conf := testTLS(t, testCA(t, "test"), "n1")
	good := DefaultTransportConfig()
	good.Bind, good.Server, good.Client = "127.0.0.1:0", conf, conf
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	insecure := conf.Clone()
	insecure.InsecureSkipVerify = true
	for name, tc := range map[string]struct {
		mod  func(*TransportConfig)
		want string
	}{
		"no bind":          {func(c *TransportConfig) { c.Bind = "" }, "bind address"},
		"no server":        {func(c *TransportConfig) { c.Server = nil }, "server TLS config is nil"},
		"no client":        {func(c *TransportConfig) { c.Client = nil }, "client TLS config is nil"},
		"nil client func":  {func(c *TransportConfig) { c.ClientFunc = func() *tls.Config { return nil } }, "client TLS config is nil"},
		"insecure func":    {func(c *TransportConfig) { c.ClientFunc = func() *tls.Config { return insecure } }, "skips verification"},
		"no client CAs":    {func(c *TransportConfig) { c.Server = &tls.Config{Certificates: conf.Certificates} }, "no client CAs"},
		"no root CAs":      {func(c *TransportConfig) { c.Client = &tls.Config{Certificates: conf.Certificates} }, "no root CAs"},
		"insecure client":  {func(c *TransportConfig) { c.Client = insecure }, "skips verification"},
		"unspecified adv":  {func(c *TransportConfig) { c.Advertise = "0.0.0.0:7101" }, "unspecified"},
		"advertise port 0": {func(c *TransportConfig) { c.Advertise = "10.0.0.1:0" }, "no port"},
		"timeouts":         {func(c *TransportConfig) { c.Timeout, c.HandshakeTimeout = 0, 0 }, "handshake timeout"},
		"pool":             {func(c *TransportConfig) { c.MaxPool = 0 }, "max pool"},
		"log level":        {func(c *TransportConfig) { c.LogLevel = "loud" }, "log level"},
	} {
		c := good
		tc.mod(&c)
		err := c.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	// Binding to every address needs an advertised one.
	unspec := good
	unspec.Bind = "0.0.0.0:0"
	if tr, err := NewTLSTransport(unspec); !errors.Is(err, ErrInvalidConfig) {
		if tr != nil {
			tr.Close()
		}
		t.Fatalf("bind 0.0.0.0 without advertise: %v", err)
	}
}

// A certificate revoked after its connections were made keeps them:
// TLS verifies a peer once, in the handshake. CloseWhere cuts them, and
// the handshakes of the new dials refuse the revoked certificate, so the
// revoked node stops receiving the cluster's entries while the others go
// on committing.
func TestCloseWhereCutsARevokedPeer(t *testing.T) {
	var revoked sync.Map // serial -> true, shared by every node
	isRevoked := func(serial string) bool { _, ok := revoked.Load(serial); return ok }
	serials := map[string]string{}
	var mu sync.Mutex
	c := newTLSClusterWith(t, 3, func(t *testing.T, ca *pki.CA, name string) *tls.Config {
		cert := pkitest.Cert(t, ca, name)
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		serials[name] = pki.Serial(leaf)
		mu.Unlock()
		return pki.NodeTLSRevoking(ca, cert, isRevoked)
	})
	leader := c.waitLeader()
	var victim string
	for id := range c.nodes {
		if id != leader.ID() {
			victim = id
			break
		}
	}
	c.commitEverywhere("before")

	revoked.Store(serials[victim], true)
	// Nothing is re-verified yet: the victim still gets entries.
	c.commitEverywhere("revoked-but-connected")

	match := func(peer []*x509.Certificate) bool { return isRevoked(pki.Serial(peer[0])) }
	cut := 0
	for id, tr := range c.trans {
		if id != victim {
			cut += tr.CloseWhere(match)
		}
	}
	if cut == 0 {
		t.Fatal("CloseWhere closed no connection to the revoked node")
	}
	e := put(t, leader, leader.Epoch(), "after-cut")
	for id, n := range c.nodes {
		if id == victim {
			continue
		}
		waitFor(t, id+" to apply the marker", func() bool { return n.Epoch() >= e })
	}
	time.Sleep(time.Second) // raft retries the victim many times in a second
	if got := c.nodes[victim].Config().Properties["marker"]; got != "revoked-but-connected" {
		t.Fatalf("revoked %s has marker %q after its connections were cut, want the last one before", victim, got)
	}
	if got := c.logs[leader.ID()].String(); !strings.Contains(got, "revoked") {
		t.Errorf("leader's transport log does not show the revoked certificate refused:\n%s", got)
	}
}
