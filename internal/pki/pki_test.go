package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestInitWritesPrivateFiles(t *testing.T) {
	p := Paths{Dir: filepath.Join(t.TempDir(), "n1")}
	in, err := InitNode(p, "c1", "n1", RoleServer, []string{"127.0.0.1"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{
		p.Dir: 0o700, p.CAKey(): 0o600, p.NodeKey(): 0o600, p.AdminToken(): 0o600, p.Tokens(): 0o600,
		p.CACert(): 0o644, p.NodeCert(): 0o644,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o, want %04o", path, got, want)
		}
	}
	if _, err := InitNode(p, "c1", "n1", RoleServer, nil, t0); err == nil {
		t.Error("second init overwrote the CA")
	}
	ca, err := LoadCA(p)
	if err != nil || ca.Key == nil || ca.Fingerprint() != in.CA.Fingerprint() {
		t.Fatalf("LoadCA: %v", err)
	}
	tok, err := ReadTokenFile(p.AdminToken())
	if err != nil || tok != in.AdminToken {
		t.Fatalf("admin token: %q %v", tok, err)
	}
	recs, err := LoadTokens(p.Tokens())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(mustRead(t, p.Tokens()), in.AdminToken) {
		t.Error("tokens.json holds the token itself, not its hash")
	}
	pr, err := NewTokenSet(recs...).Authenticate(tok, t0)
	if err != nil || pr.Role != RoleAdmin {
		t.Fatalf("authenticate admin token: %+v %v", pr, err)
	}
}

func mustRead(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Issue 5, item 5: the agent refuses a key file that others can read.
func TestRefusesReadableKey(t *testing.T) {
	p := Paths{Dir: t.TempDir()}
	if _, err := InitNode(p, "c1", "n1", RoleServer, nil, t0); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{p.NodeKey(), p.CAKey()} {
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := LoadNode(p); !errors.Is(err, ErrInsecureFile) {
		t.Errorf("LoadNode with a 0644 key: %v, want ErrInsecureFile", err)
	}
	if _, err := LoadCA(p); !errors.Is(err, ErrInsecureFile) {
		t.Errorf("LoadCA with a 0644 key: %v, want ErrInsecureFile", err)
	}
}

func TestTokens(t *testing.T) {
	tok, rec, err := NewToken(RoleViewer, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s := NewTokenSet(rec)
	if p, err := s.Authenticate(tok, t0); err != nil || p.Role != RoleViewer || p.TokenID != rec.ID {
		t.Errorf("valid token: %+v %v", p, err)
	}
	if _, err := s.Authenticate(tok, t0.Add(2*time.Hour)); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("expired: %v", err)
	}
	if _, err := s.Authenticate(tok+"x", t0); !errors.Is(err, ErrUnknownToken) {
		t.Errorf("altered: %v", err)
	}
	if _, err := s.Authenticate("plt1.nope.secret", t0); !errors.Is(err, ErrUnknownToken) {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := s.Authenticate("garbage", t0); !errors.Is(err, ErrBadToken) {
		t.Errorf("garbage: %v", err)
	}
	if RoleViewer.Permits(RoleAdmin) || !RoleAdmin.Permits(RoleOperator) || RoleServer.Permits(RoleViewer) {
		t.Error("role order wrong")
	}
}

// A token id never starts with "-": "token revoke ID" would read it as a
// flag. Without the rule about 1 in 64 ids does.
func TestTokenIDsAreNoFlags(t *testing.T) {
	for i := 0; i < 2000; i++ {
		_, rec, err := NewToken(RoleViewer, time.Now(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(rec.ID, "-") || len(rec.ID) != 8 {
			t.Fatalf("token id %q", rec.ID)
		}
	}
}

func TestJoinTokensSingleUseAndExpiring(t *testing.T) {
	ca, err := NewCA("c1", t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	j := NewJoinTokens(ca.Fingerprint())
	tok, _, err := j.Issue(t0, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	jt, err := ParseJoinToken(tok)
	if err != nil || jt.CAFingerprint != ca.Fingerprint() {
		t.Fatalf("parse: %+v %v", jt, err)
	}
	if err := j.Redeem(tok, t0.Add(time.Minute)); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := j.Redeem(tok, t0.Add(time.Minute)); !errors.Is(err, ErrTokenUsed) {
		t.Errorf("reuse: %v, want ErrTokenUsed", err)
	}
	tok2, _, _ := j.Issue(t0, time.Minute)
	if err := j.Redeem(tok2, t0.Add(2*time.Minute)); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("expired: %v, want ErrTokenExpired", err)
	}
	other := "plj1." + strings.Repeat("a", 64) + ".secret"
	if err := j.Redeem(other, t0); !errors.Is(err, ErrUnknownToken) {
		t.Errorf("foreign: %v", err)
	}
}

func node(t *testing.T, ca *CA, name string, role Role) tls.Certificate {
	t.Helper()
	nc, err := ca.Issue(name, role, []string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, err := nc.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// handshake runs one TLS handshake between a NodeTLS server and client
// and returns the identity the server saw and the client's error.
func handshake(t *testing.T, srv, cli *tls.Config) (Identity, error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan Identity, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- Identity{}
			return
		}
		defer c.Close()
		tc := c.(*tls.Conn)
		if tc.Handshake() != nil {
			got <- Identity{}
			return
		}
		id, _ := PeerIdentity(tc.ConnectionState())
		got <- id
	}()
	cli = cli.Clone()
	cli.ServerName = "127.0.0.1"
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), cli)
	if err == nil {
		// TLS 1.3 reports a rejected client certificate on the first read.
		_, err = c.Read(make([]byte, 1))
		c.Close()
		if err != nil && strings.Contains(err.Error(), "EOF") {
			err = nil
		}
	}
	return <-got, err
}

func TestNodeTLSMutual(t *testing.T) {
	ca, _ := NewCA("c1", time.Now(), time.Hour)
	other, _ := NewCA("c2", time.Now(), time.Hour)
	srv := NodeTLS(ca, node(t, ca, "n1", RoleServer))
	id, err := handshake(t, srv, NodeTLS(ca, node(t, ca, "n2", RoleWitness)))
	if err != nil || id != (Identity{Node: "n2", Role: RoleWitness}) {
		t.Fatalf("same cluster: identity %+v, err %v", id, err)
	}
	if id, err := handshake(t, srv, NodeTLS(ca, node(t, other, "n3", RoleServer))); err == nil || id.Node != "" {
		t.Errorf("peer from another CA accepted: %+v", id)
	}
	if srv.MinVersion != tls.VersionTLS13 {
		t.Error("node TLS allows versions before 1.3")
	}
}

// A revoked node certificate is refused in the handshake, in either
// direction; the other certificates of the cluster still pass.
func TestNodeTLSRefusesRevoked(t *testing.T) {
	ca, _ := NewCA("c1", time.Now(), time.Hour)
	good, bad := node(t, ca, "n2", RoleServer), node(t, ca, "n3", RoleServer)
	badLeaf, err := x509.ParseCertificate(bad.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	revoked := func(serial string) bool { return serial == Serial(badLeaf) }
	srv := NodeTLSRevoking(ca, node(t, ca, "n1", RoleServer), revoked)
	if id, err := handshake(t, srv, NodeTLS(ca, good)); err != nil || id.Node != "n2" {
		t.Fatalf("unrevoked peer: %+v %v", id, err)
	}
	if id, err := handshake(t, srv, NodeTLS(ca, bad)); err == nil || id.Node != "" {
		t.Errorf("revoked client accepted: %+v", id)
	}
	// A node dialing a server whose certificate is revoked refuses it.
	if _, err := handshake(t, NodeTLS(ca, bad), NodeTLSRevoking(ca, good, revoked)); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("revoked server: %v, want a refusal naming the revocation", err)
	}
	if err := CheckRevoked(badLeaf, revoked); !errors.Is(err, ErrRevoked) || !strings.Contains(err.Error(), `"n3"`) {
		t.Errorf("CheckRevoked: %v", err)
	}
}

// The first step of a CA rotation: a trust bundle of the new CA and the
// old one, saved and loaded back, lets nodes with certificates of either
// CA talk to each other; without the old CA in the bundle, an old
// certificate is refused.
func TestTrustBundle(t *testing.T) {
	oldCA, _ := NewCA("c1", time.Now(), time.Hour)
	newCA, _ := NewCA("c1", time.Now(), time.Hour)
	p := Paths{Dir: filepath.Join(t.TempDir(), "n1")}
	bundle := &CA{Cert: newCA.Cert, Key: newCA.Key, Trust: []*x509.Certificate{oldCA.Cert}}
	if err := bundle.Save(p); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadCA(p)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Cert.Equal(newCA.Cert) || len(loaded.Trust) != 1 || !loaded.Trust[0].Equal(oldCA.Cert) || loaded.Key == nil {
		t.Fatalf("loaded bundle: %+v", loaded)
	}
	srv := NodeTLS(loaded, node(t, newCA, "n1", RoleServer))
	if id, err := handshake(t, srv, NodeTLS(&CA{Cert: oldCA.Cert, Trust: []*x509.Certificate{newCA.Cert}}, node(t, oldCA, "n2", RoleServer))); err != nil || id.Node != "n2" {
		t.Errorf("old-CA node during the rotation: %+v %v", id, err)
	}
	if id, err := handshake(t, NodeTLS(newCA, node(t, newCA, "n1", RoleServer)), NodeTLS(oldCA, node(t, oldCA, "n2", RoleServer))); err == nil || id.Node != "" {
		t.Errorf("old-CA node accepted after the old CA was dropped: %+v", id)
	}
}

// A keyring changes what the configurations it returned accept, without
// new configurations: the rotation's three steps (old CA; old and new;
// new only) on one listening server, with a client of each CA.
func TestKeyringRotatesWithoutANewConfig(t *testing.T) {
	oldCA, _ := NewCA("c1", time.Now(), time.Hour)
	newCA, _ := NewCA("c1", time.Now(), time.Hour)
	k, err := NewKeyring(oldCA, node(t, oldCA, "n1", RoleServer), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := k.ServerTLS()
	oldClient := NodeTLS(&CA{Cert: oldCA.Cert, Trust: []*x509.Certificate{newCA.Cert}}, node(t, oldCA, "n2", RoleServer))
	newClient := NodeTLS(&CA{Cert: newCA.Cert, Trust: []*x509.Certificate{oldCA.Cert}}, node(t, newCA, "n3", RoleServer))
	newOnly := NodeTLS(newCA, node(t, newCA, "n3", RoleServer))
	if id, err := handshake(t, srv, oldClient); err != nil || id.Node != "n2" {
		t.Fatalf("before: old-CA client: %+v %v", id, err)
	}
	if id, _ := handshake(t, srv, newClient); id.Node != "" {
		t.Fatalf("before: new-CA client accepted: %+v", id)
	}
	if err := k.Set(newCA, node(t, oldCA, "n1", RoleServer)); err == nil {
		t.Fatal("Set took a certificate its CAs do not trust")
	}
	bundle := &CA{Cert: newCA.Cert, Key: newCA.Key, Trust: []*x509.Certificate{oldCA.Cert}}
	if err := k.Set(bundle, node(t, newCA, "n1", RoleServer)); err != nil {
		t.Fatal(err)
	}
	for name, cli := range map[string]*tls.Config{"old": oldClient, "new": newClient, "new-only": newOnly} {
		if id, err := handshake(t, srv, cli); err != nil || id.Node == "" {
			t.Errorf("during: %s client: %+v %v", name, id, err)
		}
	}
	// The client side of the keyring verifies the server against both.
	if _, err := handshake(t, oldClient, k.ClientTLS()); err != nil {
		t.Errorf("during: keyring dials an old-CA server: %v", err)
	}
	if err := k.Set(newCA, k.Certificate()); err != nil {
		t.Fatal(err)
	}
	if id, _ := handshake(t, srv, oldClient); id.Node != "" {
		t.Errorf("after: old-CA client accepted: %+v", id)
	}
	if id, err := handshake(t, srv, newOnly); err != nil || id.Node != "n3" {
		t.Errorf("after: new-CA client: %+v %v", id, err)
	}
	if !k.Trusts(k.Leaf()) || k.Trusts(mustLeaf(t, node(t, oldCA, "n2", RoleServer))) {
		t.Error("Trusts does not follow the current CA")
	}
}

func mustLeaf(t *testing.T, c tls.Certificate) *x509.Certificate {
	t.Helper()
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

// Renew signs the requester's new key for the identity and hosts of its
// current certificate, whatever the request says; a request signed with
// another key than the one it carries is refused.
func TestRenewKeepsIdentityAndHosts(t *testing.T) {
	oldCA, _ := NewCA("c1", time.Now(), time.Hour)
	newCA, _ := NewCA("c1", time.Now(), time.Hour)
	cur := mustLeaf(t, node(t, oldCA, "n2", RoleWitness))
	csr, key, err := NewRenewal()
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := newCA.Renew(csr, cur, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	nc := NodeCert{CertPEM: certPEM, KeyPEM: key}
	c, err := nc.TLSCertificate()
	if err != nil {
		t.Fatalf("renewed certificate does not match the new key: %v", err)
	}
	leaf := mustLeaf(t, c)
	id, err := IdentityOf(leaf)
	if err != nil || id != (Identity{Node: "n2", Role: RoleWitness}) || !newCA.Issued(leaf) || oldCA.Issued(leaf) {
		t.Fatalf("renewed: %+v %v", id, err)
	}
	if len(leaf.IPAddresses) != 1 || leaf.IPAddresses[0].String() != "127.0.0.1" {
		t.Errorf("renewed hosts %v, want 127.0.0.1", leaf.IPAddresses)
	}
	if _, err := (&CA{Cert: newCA.Cert}).Renew(csr, cur, time.Now(), time.Hour); err == nil {
		t.Error("renewed without the CA key")
	}
	bad := []byte(strings.Replace(string(csr), string(csr[len(csr)/2:len(csr)/2+4]), "AAAA", 1))
	if _, err := newCA.Renew(bad, cur, time.Now(), time.Hour); err == nil {
		t.Error("renewed a tampered request")
	}
}

// A rotation that stopped after the new bundle was written but before
// the new key was moved into place still loads with the right key.
func TestLoadCAFindsTheNextKey(t *testing.T) {
	oldCA, _ := NewCA("c1", time.Now(), time.Hour)
	newCA, _ := NewCA("c1", time.Now(), time.Hour)
	p := Paths{Dir: filepath.Join(t.TempDir(), "n1")}
	if err := oldCA.Save(p); err != nil {
		t.Fatal(err)
	}
	if err := SaveKey(p.CANextKey(), newCA.Key); err != nil {
		t.Fatal(err)
	}
	if ca, err := LoadCA(p); err != nil || !ca.Cert.Equal(oldCA.Cert) || !ca.KeyMatches() {
		t.Fatalf("before the bundle: %v", err)
	}
	if err := (&CA{Cert: newCA.Cert, Trust: []*x509.Certificate{oldCA.Cert}}).Save(p); err != nil {
		t.Fatal(err)
	}
	ca, err := LoadCA(p)
	if err != nil || !ca.Cert.Equal(newCA.Cert) || !ca.KeyMatches() {
		t.Fatalf("after the bundle: %v", err)
	}
	os.Remove(p.CANextKey())
	if _, err := LoadCA(p); err == nil || !strings.Contains(err.Error(), "is not the key") {
		t.Errorf("mismatched key: %v", err)
	}
}

// A renewal that stopped after the new certificate was written but
// before the new key was renamed into place still loads a matching pair.
func TestLoadNodeAfterAnInterruptedRenewal(t *testing.T) {
	ca, _ := NewCA("c1", time.Now(), time.Hour)
	p := Paths{Dir: filepath.Join(t.TempDir(), "n1")}
	first, _ := ca.Issue("n1", RoleServer, nil, time.Now(), time.Hour)
	if err := SaveNode(p, first); err != nil {
		t.Fatal(err)
	}
	second, _ := ca.Issue("n1", RoleServer, nil, time.Now(), time.Hour)
	// The first two steps of SaveRenewedNode, then a crash.
	if err := WriteFile(p.NodeNextKey(), second.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p.NodeCert(), second.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadNode(p)
	if err != nil || mustLeaf(t, c).SerialNumber.Cmp(mustLeaf(t, mustPair(t, second)).SerialNumber) != 0 {
		t.Fatalf("interrupted renewal: %v", err)
	}
	if err := SaveRenewedNode(p, second); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p.NodeNextKey()); !os.IsNotExist(err) {
		t.Errorf("node-next.key left behind: %v", err)
	}
	if _, err := LoadNode(p); err != nil {
		t.Fatal(err)
	}
	if err := SaveRenewedNode(p, NodeCert{CertPEM: first.CertPEM, KeyPEM: second.KeyPEM}); err == nil {
		t.Error("saved a certificate with another certificate's key")
	}
}

func mustPair(t *testing.T, n NodeCert) tls.Certificate {
	t.Helper()
	c, err := n.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A node that still trusts only the old CA accepts a peer renewed by the
// new CA when the peer presents the cross-signed new CA after its
// certificate; without it, the handshake fails.
func TestCrossSignedCALetsOldNodesVerifyNewCertificates(t *testing.T) {
	oldCA, _ := NewCA("c1", time.Now(), time.Hour)
	newCA, _ := NewCA("c1", time.Now(), time.Hour)
	cross, err := oldCA.CrossSign(newCA.Cert)
	if err != nil {
		t.Fatal(err)
	}
	renewed := node(t, newCA, "n2", RoleServer)
	withCross := renewed
	withCross.Certificate = append(append([][]byte(nil), renewed.Certificate...), cross.Raw)
	srv := NodeTLS(oldCA, node(t, oldCA, "n1", RoleServer)) // down during the rotation's start
	bundle := &CA{Cert: newCA.Cert, Trust: []*x509.Certificate{oldCA.Cert}}
	if id, err := handshake(t, srv, NodeTLS(bundle, withCross)); err != nil || id.Node != "n2" {
		t.Errorf("renewed peer with the cross-signed CA: %+v %v", id, err)
	}
	if id, _ := handshake(t, srv, NodeTLS(bundle, renewed)); id.Node != "" {
		t.Errorf("renewed peer without it accepted: %+v", id)
	}
	k, err := NewKeyring(oldCA, node(t, oldCA, "n1", RoleServer), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !k.Trusts(mustLeaf(t, withCross), cross) || k.Trusts(mustLeaf(t, withCross)) {
		t.Error("Trusts does not follow the cross-signed chain")
	}
	legacy := &CA{Cert: oldCA.Cert, Key: oldCA.Key}
	legacy.Cert = &x509.Certificate{Raw: oldCA.Cert.Raw, IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true}
	if _, err := legacy.CrossSign(newCA.Cert); err == nil {
		t.Error("a CA that allows no CA below it cross-signed")
	}
}

// TestTrustsRemembersOnlyWhatStillHolds: Trusts remembers a verified
// chain, but never past its certificate's expiry nor past a change of
// the trusted CAs.
func TestTrustsRemembersOnlyWhatStillHolds(t *testing.T) {
	oldCA, _ := NewCA("c1", time.Now(), time.Hour)
	newCA, _ := NewCA("c2", time.Now(), time.Hour)
	bundle := &CA{Cert: newCA.Cert, Key: newCA.Key, Trust: []*x509.Certificate{oldCA.Cert}}
	k, err := NewKeyring(bundle, node(t, newCA, "n1", RoleServer), nil)
	if err != nil {
		t.Fatal(err)
	}
	old := mustLeaf(t, node(t, oldCA, "n2", RoleServer))
	for i := range 2 { // verified, then remembered
		if !k.Trusts(old) {
			t.Fatalf("call %d: a certificate of a trusted CA is refused", i)
		}
	}
	if err := k.Set(newCA, k.Certificate()); err != nil {
		t.Fatal(err)
	}
	if k.Trusts(old) {
		t.Fatal("a certificate of a CA no longer trusted is still trusted")
	}
	// A certificate that expires in a moment: trusted now, refused after.
	nc, err := newCA.Issue("n3", RoleServer, []string{"127.0.0.1"}, time.Now().Add(-time.Hour+2*time.Second), time.Hour) // NotAfter in whole seconds
	if err != nil {
		t.Fatal(err)
	}
	c, err := nc.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	short := mustLeaf(t, c)
	if !k.Trusts(short) {
		t.Fatal("a valid certificate is refused")
	}
	time.Sleep(time.Until(short.NotAfter) + 50*time.Millisecond)
	if k.Trusts(short) {
		t.Fatalf("a certificate that expired at %v is still trusted", short.NotAfter)
	}
}
