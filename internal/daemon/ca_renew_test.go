package daemon

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/consensus"
	"github.com/paceline/paceline/internal/peer"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// A node certificate with less than a third of its lifetime left is
// renewed by the CA holder without any rotation: new key and serial, the
// same name, role and addresses, a full lifetime, saved to the data
// directory and recorded in the replicated state. A certificate that is
// not due is not renewed, and the holder refuses to sign one.
func TestAgingCertificateIsRenewed(t *testing.T) {
	now := time.Now()
	ca, err := pki.NewCA("test", now.Add(-30*24*time.Hour), 10*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Three weeks of lifetime, one day left.
	nc, err := ca.Issue("n1", pki.RoleServer, []string{"127.0.0.1"}, now.Add(-20*24*time.Hour), 21*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := nc.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := pki.NewKeyring(ca, cert, nil)
	if err != nil {
		t.Fatal(err)
	}
	old := keys.Leaf()
	if !pki.DueForRenewal(old, now) {
		t.Fatalf("a certificate with 1 of 21 days left is not due")
	}

	tr := consensus.NewMemTransport("raft-n1")
	cfg := consensus.DefaultConfig()
	cfg.ID, cfg.Role, cfg.InMemory = "n1", store.RoleServer, true
	cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = 50*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond
	node, err := consensus.NewNode(cfg, tr.Transport())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Shutdown() })
	if err := node.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "n1 leads", node.IsLeader)
	ctx := context.Background()
	if r, err := node.Join(ctx, "n1", tr.Addr(), store.RoleServer); err != nil || r.Err != nil {
		t.Fatalf("join: %v %v", err, r.Err)
	}
	if r, err := node.Apply(ctx, store.NewCASet(store.CASet{Certs: []string{string(pki.EncodeCert(ca.Cert))}, Holder: "n1", At: now.UnixMilli()})); err != nil || r.Err != nil {
		t.Fatalf("CA set: %v %v", err, r.Err)
	}
	waitUntil(t, "caught up", node.CaughtUp)

	dir := t.TempDir()
	peers := peer.NewClient(pki.NodeTLS(ca, cert), func(string) (string, bool) { return "", false }, time.Second)
	t.Cleanup(peers.Close)
	m := &caManager{name: "n1", paths: pki.Paths{Dir: dir}, node: node, keys: keys, peers: peers, logf: t.Logf}
	if err := m.reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	leaf := keys.Leaf()
	if pki.Serial(leaf) == pki.Serial(old) {
		t.Fatalf("the certificate was not renewed (serial %s)", pki.Serial(old))
	}
	if id, _ := pki.IdentityOf(leaf); id.Node != "n1" || id.Role != pki.RoleServer || len(leaf.IPAddresses) != 1 || !leaf.IPAddresses[0].Equal(old.IPAddresses[0]) {
		t.Errorf("renewed certificate names %+v %v, want n1 server %v", id, leaf.IPAddresses, old.IPAddresses)
	}
	if left := time.Until(leaf.NotAfter); left < certValidity-time.Hour || !ca.Issued(leaf) || pki.DueForRenewal(leaf, time.Now()) {
		t.Errorf("renewed certificate: %v left, issued by the CA %v", left, ca.Issued(leaf))
	}
	saved, err := pki.LoadNode(m.paths)
	if err != nil {
		t.Fatal(err)
	}
	if sl, err := x509.ParseCertificate(saved.Certificate[0]); err != nil || pki.Serial(sl) != pki.Serial(leaf) {
		t.Errorf("node.pem does not hold the renewed certificate: %v", err)
	}
	if fi, err := os.Stat(m.paths.NodeKey()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("node.key: %v %v, want mode 0600", fi.Mode().Perm(), err)
	}
	var me store.Member
	node.Read(func(s *store.Store) { me, _ = s.Member("n1") })
	if me.CertSerial != pki.Serial(leaf) {
		t.Errorf("recorded serial %s, want %s", me.CertSerial, pki.Serial(leaf))
	}

	// Not due: nothing happens, and the holder refuses to sign. (The
	// renewal's own record may still be on its way to the state machine:
	// the node is catching up for a moment.)
	err = m.reconcile(ctx)
	for deadline := time.Now().Add(5 * time.Second); errors.Is(err, errCatchingUp) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		err = m.reconcile(ctx)
	}
	if err != nil || pki.Serial(keys.Leaf()) != pki.Serial(leaf) {
		t.Errorf("a second reconcile: %v, serial %s -> %s", err, pki.Serial(leaf), pki.Serial(keys.Leaf()))
	}
	csr, _, err := pki.NewRenewal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.sign(csr, leaf); !errors.Is(err, errNothingToRenew) {
		t.Errorf("signing a renewal of a certificate that is not due: %v, want %v", err, errNothingToRenew)
	}
}
