package daemon

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/agents/builtin"
	"github.com/paceline/paceline/internal/consensus"
	"github.com/paceline/paceline/internal/executor"
	"github.com/paceline/paceline/internal/httpapi"
	"github.com/paceline/paceline/internal/membership"
	"github.com/paceline/paceline/internal/node"
	"github.com/paceline/paceline/internal/peer"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/pki/pkitest"
	"github.com/paceline/paceline/internal/store"
)

// apiCluster is three consensus nodes over the in-memory transport, each
// with its API and peer endpoints on a real TLS listener on loopback,
// wired as the daemon wires them.
type apiCluster struct {
	t     *testing.T
	ca    *pki.CA
	kill  map[string]func()        // node -> stop it abruptly (with a runtime)
	rts   map[string]*node.Runtime // node -> its runtime (with a runtime)
	token string
	nodes map[string]*consensus.Node
	trans map[string]*consensus.MemTransport
	srv   map[string]*httptest.Server
	mu    sync.Mutex
	addrs map[string]string // node -> API host:port
}

func newAPICluster(t *testing.T) *apiCluster { return newCluster(t, false) }

// newCluster builds the cluster; withRuntime also gives every node an
// executor with the builtin agents and its Runtime (leases on the fast
// profile's timings).
func newCluster(t *testing.T, withRuntime bool) *apiCluster {
	t.Helper()
	now := time.Now()
	ca, err := pki.NewCA("test", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, rec, err := pki.NewToken(pki.RoleAdmin, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tokens := pki.NewTokenSet(rec)
	c := &apiCluster{t: t, kill: map[string]func(){}, rts: map[string]*node.Runtime{}, ca: ca, token: tok, nodes: map[string]*consensus.Node{}, srv: map[string]*httptest.Server{}, addrs: map[string]string{}}
	trans := map[string]*consensus.MemTransport{}
	c.trans = trans
	names := []string{"n1", "n2", "n3"}
	for _, name := range names {
		trans[name] = consensus.NewMemTransport("raft-" + name)
	}
	for _, a := range names {
		for _, b := range names {
			if a != b {
				trans[a].Connect(trans[b])
			}
		}
	}
	for _, name := range names {
		cfg := consensus.DefaultConfig()
		cfg.ID, cfg.Role, cfg.InMemory = name, store.RoleServer, true
		cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = 50*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond
		cfg.CommitTimeout = 5 * time.Millisecond
		n, err := consensus.NewNode(cfg, trans[name].Transport())
		if err != nil {
			t.Fatal(err)
		}
		c.nodes[name] = n
		cert := pkitest.Cert(t, ca, name)
		peers := peer.NewClient(pki.NodeTLS(ca, cert), c.resolve, 5*time.Second)
		hooks := peer.Hooks{}
		var rt *node.Runtime
		var ex *executor.Executor
		if withRuntime {
			bc, err := builtin.New(builtin.Config{RunDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			ex, err = executor.New(executor.Config{Node: name, Agents: map[string]executor.Agent{"builtin": bc}})
			if err != nil {
				t.Fatal(err)
			}
			rt, err = node.New(node.Config{Name: name, Node: n, Executor: ex, Peers: peers, Logf: t.Logf,
				Leases: membership.Config{Heartbeat: 100 * time.Millisecond, TTL: 500 * time.Millisecond, SelfFenceDeadline: 300 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			hooks = rt.Hooks()
			c.rts[name] = rt
		}
		mux := http.NewServeMux()
		mux.Handle(peer.Prefix, newPeerHandler(n, hooks, nil, nil))
		mux.Handle("/", httpapi.New(httpapi.Config{Backend: apiBackend{NewBackend(n, peers)}, Tokens: tokens}))
		s := httptest.NewUnstartedServer(mux)
		s.TLS = pki.APIServerTLS(ca, cert)
		s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
		s.StartTLS()
		c.srv[name] = s
		c.mu.Lock()
		c.addrs[name] = s.Listener.Addr().String()
		c.mu.Unlock()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		if rt != nil {
			go func() { rt.Run(ctx); close(done) }()
		} else {
			close(done)
		}
		var once sync.Once
		stop := func() {
			once.Do(func() {
				s.CloseClientConnections()
				s.Close()
				cancel()
				<-done
				peers.Close()
				n.Shutdown()
				if ex != nil {
					ex.Close()
				}
			})
		}
		c.kill[name] = stop
		t.Cleanup(stop)
	}
	n1 := c.nodes["n1"]
	if err := n1.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "n1 leads", n1.IsLeader)
	for _, name := range names {
		if r, err := n1.Join(context.Background(), name, trans[name].Addr(), store.RoleServer); err != nil || r.Err != nil {
			t.Fatalf("join %s: %v %v", name, err, r.Err)
		}
	}
	return c
}

// cut cuts name's Raft links to every other node, both ways (off), or
// restores them.
func (c *apiCluster) cut(name string, off bool) {
	for other, tr := range c.trans {
		if other == name {
			continue
		}
		if off {
			c.trans[name].Disconnect(tr)
			tr.Disconnect(c.trans[name])
		} else {
			c.trans[name].Connect(tr)
			tr.Connect(c.trans[name])
		}
	}
}

func (c *apiCluster) resolve(node string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.addrs[node]
	return a, ok
}

func (c *apiCluster) leader() string {
	for name, n := range c.nodes {
		if n.IsLeader() {
			return name
		}
	}
	return ""
}

// follower returns a node that does not lead.
func (c *apiCluster) follower() string {
	for _, name := range []string{"n1", "n2", "n3"} {
		if !c.nodes[name].IsLeader() {
			return name
		}
	}
	return ""
}

func (c *apiCluster) client(t *testing.T, nodes ...string) *api.Client {
	t.Helper()
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, "https://"+c.srv[n].Listener.Addr().String())
	}
	cl, err := api.New(api.ClientConfig{Addrs: addrs, Token: c.token, Timeout: 5 * time.Second,
		CACertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.ca.Cert.Raw})})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// A write sent to a follower's API is forwarded to the leader over mutual
// TLS and committed; every node then serves it, and status names the
// leader with quorum.
func TestFollowerAPIForwardsWrites(t *testing.T) {
	c := newAPICluster(t)
	leader, follower := c.leader(), c.follower()
	ctx := context.Background()
	if err := c.client(t, follower).SetProperty(ctx, "stonith-enabled", "false"); err != nil {
		t.Fatalf("set property through follower %s: %v", follower, err)
	}
	for name, n := range c.nodes {
		waitUntil(t, name+" applies the change", func() bool { return n.Config().Properties["stonith-enabled"] == "false" })
	}
	st, err := c.client(t, "n3").Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Leader != leader || !st.Quorum || len(st.Nodes) != 3 {
		t.Errorf("status through n3: leader %q quorum %v nodes %v; want leader %q, quorum, 3 nodes", st.Leader, st.Quorum, st.Nodes, leader)
	}
}

// A change made through a node that lost its leader waits for one and is
// committed once the node hears from a leader again; a node that has
// known no leader for electionWait refuses a change at once, with one
// error, and nothing changes.
func TestAPIWritesWaitForALeader(t *testing.T) {
	c := newAPICluster(t)
	leader, lone := c.leader(), c.follower()
	ctx := context.Background()
	// A read first: lone is then known caught up since it started, and
	// answers from its copy once cut off (Backend.Fresh).
	if _, err := c.client(t, lone).Status(ctx); err != nil {
		t.Fatal(err)
	}
	c.cut(lone, true)
	waitUntil(t, lone+" to know no leader", func() bool { return c.nodes[lone].LeaderID() == "" })
	done := make(chan error, 1)
	go func() { done <- c.client(t, lone).SetProperty(ctx, "stonith-enabled", "false") }()
	time.Sleep(electionWait / 3)
	c.cut(lone, false)
	if err := <-done; err != nil {
		t.Fatalf("set property through %s, its links back within the wait: %v", lone, err)
	}
	for name, n := range c.nodes {
		waitUntil(t, name+" applies the change", func() bool { return n.Config().Properties["stonith-enabled"] == "false" })
	}

	c.cut(lone, true)
	waitUntil(t, lone+" to know no leader", func() bool { return c.nodes[lone].LeaderID() == "" })
	time.Sleep(electionWait)
	epoch := c.nodes[leader].Epoch()
	start := time.Now()
	err := c.client(t, lone).SetProperty(ctx, "stonith-enabled", "true")
	t.Logf("cut off for %v: %v after %v", electionWait, err, time.Since(start))
	if err == nil || !strings.Contains(err.Error(), "not the leader") {
		t.Fatalf("set property through %s, cut off: %v, want a not-the-leader error", lone, err)
	}
	if e := c.nodes[leader].Epoch(); e != epoch {
		t.Fatalf("epoch %d -> %d after a refused change", epoch, e)
	}
}

// A store rejection on the leader reaches the follower's API caller as the
// same error (a compare-and-set conflict stays a 409).
func TestForwardedRejectionKeepsItsKind(t *testing.T) {
	c := newAPICluster(t)
	follower := c.nodes[c.follower()]
	b := NewBackend(follower, peer.NewClient(c.peerTLS(t, "n1"), c.resolve, 5*time.Second))
	e := follower.Epoch()
	res, err := b.Propose(context.Background(), store.NewConfigPut(e+5, *follower.Config(), store.Change{}))
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res.Err, store.ErrEpochMismatch) {
		t.Errorf("forwarded stale put: %v, want ErrEpochMismatch", res.Err)
	}
}

func (c *apiCluster) peerTLS(t *testing.T, name string) *tls.Config {
	t.Helper()
	nc, err := c.ca.Issue(name, pki.RoleServer, nil, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := nc.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return pki.NodeTLS(c.ca, cert)
}

// The peer endpoints refuse callers without a node certificate of this
// cluster: no certificate (403), or one from another CA (the handshake
// fails); nothing is applied.
func TestPeerEndpointsNeedClusterCertificate(t *testing.T) {
	c := newAPICluster(t)
	leader := c.leader()
	url := "https://" + c.srv[leader].Listener.Addr().String() + peer.Prefix + "propose"
	cmd, _ := store.Encode(store.NewNodeAttrSet(leader, map[string]string{"x": "1"}))
	epoch := c.nodes[leader].Epoch()

	noCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.ca.CertPool(), MinVersion: tls.VersionTLS13}}}
	resp, err := noCert.Post(url, "application/json", strings.NewReader(string(cmd)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("no client certificate: status %d, want 403", resp.StatusCode)
	}

	other, err := pki.NewCA("other", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	nc, _ := other.Issue("n9", pki.RoleServer, nil, time.Now(), time.Hour)
	cert, _ := nc.TLSCertificate()
	// Present it whatever CAs the server asks for, as an attacker would.
	foreign := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.ca.CertPool(), MinVersion: tls.VersionTLS13,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }}}}
	if resp, err := foreign.Post(url, "application/json", strings.NewReader(string(cmd))); err == nil {
		resp.Body.Close()
		t.Errorf("certificate of another cluster: got status %d, want a failed handshake", resp.StatusCode)
	}
	if m, _ := memberOf(c.nodes[leader], leader); m.Attributes["x"] != "" || c.nodes[leader].Epoch() != epoch {
		t.Errorf("a refused call changed the state")
	}
}

func memberOf(n *consensus.Node, name string) (m store.Member, ok bool) {
	n.Read(func(s *store.Store) { m, ok = s.Member(name) })
	return m, ok
}
