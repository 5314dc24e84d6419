package store

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"
	"time"
)

// A member's certificate serial is recorded; revoking it puts it on the
// replicated list, which survives a snapshot round trip and the member's
// removal; revoking twice changes nothing; bad serials are rejected
// without a change.
func TestCertRevocation(t *testing.T) {
	s := New()
	mustApply(t, s, NewNodeJoin("n1", RoleServer, "a"))
	mustApply(t, s, NewNodeJoin("n2", RoleClient, "b"))
	mustApply(t, s, NewNodeCert(NodeCert{Name: "n2", Serial: "1f2e"}))
	if m, _ := s.Member("n2"); m.CertSerial != "1f2e" {
		t.Fatalf("serial not recorded: %+v", m)
	}
	if s.Revoked("1f2e") {
		t.Fatal("revoked before the revocation")
	}
	mustApply(t, s, NewCertRevoke(CertRevoke{Serial: "1f2e", Node: "n2", At: 7}))
	mustApply(t, s, NewNodeLeave("n2"))
	if r := s.Apply(NewCertRevoke(CertRevoke{Serial: "1f2e", Node: "n2"})); r.Err != nil || r.Changed {
		t.Errorf("second revocation: %+v, want unchanged", r)
	}
	for _, bad := range []Command{NewCertRevoke(CertRevoke{Serial: ""}), NewCertRevoke(CertRevoke{Serial: "1F2E"}), NewNodeCert(NodeCert{Name: "n1", Serial: "xyz"})} {
		before := snap(t, s)
		if r := s.Apply(bad); !errors.Is(r.Err, ErrMalformed) || string(snap(t, s)) != string(before) {
			t.Errorf("%+v: got %v (or a change), want ErrMalformed and nothing changed", bad, r.Err)
		}
	}
	if r := s.Apply(NewNodeCert(NodeCert{Name: "n9", Serial: "ab"})); !errors.Is(r.Err, ErrUnknownNode) {
		t.Errorf("serial of a non-member: %v, want ErrUnknownNode", r.Err)
	}
	b := snap(t, s)
	r := New()
	if err := r.Restore(b); err != nil {
		t.Fatal(err)
	}
	if !r.Revoked("1f2e") || r.Revoked("1f2f") || len(r.Revocations()) != 1 || r.Revocations()[0].Node != "n2" {
		t.Errorf("restored list: %+v", r.Revocations())
	}
	if string(snap(t, r)) != string(b) {
		t.Error("snapshot of the restored store differs")
	}
}

func mustApply(t *testing.T, s *Store, c Command) {
	t.Helper()
	if r := s.Apply(c); r.Err != nil {
		t.Fatalf("%s: %v", c.Type, r.Err)
	}
}

// testCert returns a self-signed PEM certificate, a CA when isCA.
func testCert(t *testing.T, isCA bool) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), BasicConstraintsValid: true, IsCA: isCA}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// The CA bundle is replicated: a rotation's two steps apply, survive a
// snapshot, and a bundle that is not CA certificates, too long, or held
// by a non-member is rejected without a change. A renewed certificate
// keeps the previous serial (a removal revokes both).
func TestCASetAndRenewedCertificates(t *testing.T) {
	s := New()
	mustApply(t, s, NewNodeJoin("n1", RoleServer, "a"))
	if ca := s.CA(); len(ca.Certs) != 0 {
		t.Fatalf("fresh store has CA state %+v", ca)
	}
	oldCA, newCA := testCert(t, true), testCert(t, true)
	mustApply(t, s, NewCASet(CASet{Certs: []string{oldCA}, Holder: "n1", At: 1}))
	cross := testCert(t, true)
	mustApply(t, s, NewCASet(CASet{Certs: []string{newCA, oldCA}, Holder: "n1", Cross: cross, At: 2}))
	if ca := s.CA(); len(ca.Certs) != 2 || ca.Certs[0] != newCA || ca.Holder != "n1" || ca.Cross != cross || ca.Generation != 2 {
		t.Fatalf("during the rotation: %+v", ca)
	}
	for name, bad := range map[string]CASet{
		"empty":      {Holder: "n1"},
		"not a CA":   {Certs: []string{testCert(t, false)}, Holder: "n1"},
		"not PEM":    {Certs: []string{"hello"}, Holder: "n1"},
		"two in one": {Certs: []string{newCA + oldCA}, Holder: "n1"},
		"too many":   {Certs: []string{newCA, oldCA, newCA, oldCA, newCA}, Holder: "n1"},
		"no holder":  {Certs: []string{newCA}, Holder: "n9"},
		"bad cross":  {Certs: []string{newCA, oldCA}, Holder: "n1", Cross: testCert(t, false)},
	} {
		before := snap(t, s)
		if r := s.Apply(NewCASet(bad)); r.Err == nil || string(snap(t, s)) != string(before) {
			t.Errorf("%s: got %v (or a change), want an error and nothing changed", name, r.Err)
		}
	}
	mustApply(t, s, NewNodeCert(NodeCert{Name: "n1", Serial: "aa"}))
	mustApply(t, s, NewNodeCert(NodeCert{Name: "n1", Serial: "bb", Issuer: "sha256:00", NotAfter: 9}))
	if m, _ := s.Member("n1"); m.CertSerial != "bb" || m.PrevCertSerial != "aa" || m.CertIssuer != "sha256:00" || m.CertNotAfter != 9 {
		t.Errorf("renewed certificate: %+v", m)
	}
	b := snap(t, s)
	r := New()
	if err := r.Restore(b); err != nil {
		t.Fatal(err)
	}
	if r := s.Apply(NewCASet(CASet{Certs: []string{newCA, oldCA}, Holder: "n1", Cross: cross, At: 2, Generation: 9})); r.Err != nil || r.Changed || s.CA().Generation != 2 {
		t.Errorf("the same bundle again: %+v, generation %d, want unchanged 2", r, s.CA().Generation)
	}
	if ca := r.CA(); len(ca.Certs) != 2 || ca.Certs[1] != oldCA || ca.Generation != 2 {
		t.Errorf("restored CA state: %+v", ca)
	}
	if string(snap(t, r)) != string(b) {
		t.Error("snapshot of the restored store differs")
	}
}
