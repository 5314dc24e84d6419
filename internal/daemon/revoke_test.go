package daemon

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/consensus"
	"github.com/paceline/paceline/internal/controller"
	"github.com/paceline/paceline/internal/peer"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// certClient returns an HTTP client presenting a fresh certificate of the
// cluster CA for name and role, and that certificate's serial.
func (c *apiCluster) certClient(t *testing.T, name string, role pki.Role) (*http.Client, string) {
	t.Helper()
	nc, err := c.ca.Issue(name, role, nil, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := nc.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	cfg := pki.NodeTLS(c.ca, cert)
	cfg.ServerName = "127.0.0.1"
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}, pki.Serial(leaf)
}

// peerCall posts body to a peer endpoint of node and returns the status
// and the error message.
func (c *apiCluster) peerCall(t *testing.T, hc *http.Client, node, endpoint string, body any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	if raw, ok := body.([]byte); ok {
		b = raw
	}
	resp, err := hc.Post("https://"+c.srv[node].Listener.Addr().String()+peer.Prefix+endpoint, "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("%s: %v", endpoint, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	var e struct{ Error string }
	json.Unmarshal(rb, &e)
	return resp.StatusCode, e.Error
}

// Each peer endpoint accepts only the node roles that have a reason to
// call it, and no peer may propose the commands only the leader makes
// (joins, removals, liveness, op results, certificates). Nothing changes.
func TestPeerEndpointsCheckRoles(t *testing.T) {
	c := newAPICluster(t)
	leader, follower := c.leader(), c.follower()
	client, _ := c.certClient(t, "c1", pki.RoleClient)
	witness, _ := c.certClient(t, "w1", pki.RoleWitness)
	server, _ := c.certClient(t, "n2", pki.RoleServer)
	epoch := c.nodes[leader].Epoch()
	leave, _ := store.Encode(store.NewNodeLeave(follower))
	revoke, _ := store.Encode(store.NewCertRevoke(store.CertRevoke{Serial: "ab"}))
	tests := []struct {
		name     string
		hc       *http.Client
		node     string
		endpoint string
		body     any
		want     string
	}{
		{"client execs", client, follower, "exec", controller.Op{}, "a client node may not call it"},
		{"witness reports", witness, leader, "report", peer.Report{}, "a witness node may not call it"},
		{"client removes", client, leader, "remove", peerRemove{Node: follower}, "a client node may not call it"},
		{"witness removes", witness, leader, "remove", peerRemove{Node: follower}, "a witness node may not call it"},
		{"server proposes a leave", server, leader, "propose", leave, "node.leave is made only by the leader"},
		{"client proposes a revocation", client, leader, "propose", revoke, "cert.revoke is made only by the leader"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := c.peerCall(t, tt.hc, tt.node, tt.endpoint, tt.body)
			if code != http.StatusForbidden || !strings.Contains(msg, tt.want) {
				t.Errorf("got %d %q, want 403 %q", code, msg, tt.want)
			}
		})
	}
	if _, ok := memberOf(c.nodes[leader], follower); !ok || c.nodes[leader].Epoch() != epoch {
		t.Error("a refused call changed the state")
	}
	var revoked int
	c.nodes[leader].Read(func(s *store.Store) { revoked = len(s.Revocations()) })
	if revoked != 0 {
		t.Error("a refused call revoked a certificate")
	}
}

// `node remove` through a follower's API: the leader revokes the node's
// certificate and removes it from the store (and Raft, consensus.Node.Leave); the revoked
// certificate is then refused on every peer call (403 naming the
// revocation), while another node's certificate still works. Removing an
// unknown node or the leader is refused and changes nothing.
func TestRemoveNodeRevokesItsCertificate(t *testing.T) {
	c := newAPICluster(t)
	leader := c.leader()
	var follower, victim string
	for _, n := range []string{"n1", "n2", "n3"} {
		if n == leader {
			continue
		}
		if follower == "" {
			follower = n
		} else {
			victim = n
		}
	}
	victimHC, serial := c.certClient(t, victim, pki.RoleServer)
	ctx := context.Background()
	if err := recordCert(ctx, c.nodes[leader], store.NodeCert{Name: victim, Serial: serial}); err != nil {
		t.Fatal(err)
	}
	// Before: the victim's certificate is accepted (a heartbeat reaches
	// the handler, which answers 421 without a controller).
	if code, msg := c.peerCall(t, victimHC, leader, "heartbeat", peer.Heartbeat{}); code == http.StatusForbidden {
		t.Fatalf("before removal: %d %q", code, msg)
	}
	b := NewBackend(c.nodes[follower], peer.NewClient(c.peerTLS(t, follower), c.resolve, 5*time.Second))
	for _, bad := range []string{"n9", leader} {
		if err := b.RemoveNode(ctx, bad); err == nil {
			t.Errorf("remove %s: accepted", bad)
		}
	}
	if err := b.RemoveNode(ctx, victim); err != nil {
		t.Fatalf("remove %s: %v", victim, err)
	}
	waitUntil(t, "the removal reaches "+follower, func() bool { _, ok := memberOf(c.nodes[follower], victim); return !ok })
	for _, n := range []string{leader, follower} {
		code, msg := c.peerCall(t, victimHC, n, "heartbeat", peer.Heartbeat{})
		if code != http.StatusForbidden || !strings.Contains(msg, "certificate revoked") || !strings.Contains(msg, victim) {
			t.Errorf("revoked certificate on %s: %d %q, want 403 naming the revocation", n, code, msg)
		}
	}
	other, _ := c.certClient(t, follower, pki.RoleServer)
	if code, msg := c.peerCall(t, other, leader, "heartbeat", peer.Heartbeat{}); code == http.StatusForbidden {
		t.Errorf("an unrevoked certificate was refused: %q", msg)
	}
	// The removal changed Raft's configuration: the follower may know no
	// leader for a moment.
	err := b.RemoveNode(ctx, victim)
	for deadline := time.Now().Add(5 * time.Second); errors.Is(err, consensus.ErrNotLeader) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		err = b.RemoveNode(ctx, victim)
	}
	if !errors.Is(err, peer.ErrCall) && !errors.Is(err, store.ErrUnknownNode) {
		t.Errorf("second removal: %v, want refused", err)
	}
}
