package store

import (
	"errors"
	"testing"
)

// A member's certificate serial is recorded; revoking it puts it on the
// replicated list, which survives a snapshot round trip and the member's
// removal; revoking twice changes nothing; bad serials are rejected
// without a change.
func TestCertRevocation(t *testing.T) {
	s := New()
	mustApply(t, s, NewNodeJoin("n1", RoleServer, "a"))
	mustApply(t, s, NewNodeJoin("n2", RoleClient, "b"))
	mustApply(t, s, NewNodeCert("n2", "1f2e"))
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
	for _, bad := range []Command{NewCertRevoke(CertRevoke{Serial: ""}), NewCertRevoke(CertRevoke{Serial: "1F2E"}), NewNodeCert("n1", "xyz")} {
		before := snap(t, s)
		if r := s.Apply(bad); !errors.Is(r.Err, ErrMalformed) || string(snap(t, s)) != string(before) {
			t.Errorf("%+v: got %v (or a change), want ErrMalformed and nothing changed", bad, r.Err)
		}
	}
	if r := s.Apply(NewNodeCert("n9", "ab")); !errors.Is(r.Err, ErrUnknownNode) {
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
