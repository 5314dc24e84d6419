package store

import "testing"

// Private node attributes (attrd_updater --private): kept apart from the
// transient ones the scheduler reads, their change is quiet (it plans
// nothing, as Pacemaker keeps them out of the CIB), they survive a
// snapshot, and a new boot of the member's agent forgets them.
func TestPrivateAttributes(t *testing.T) {
	s := New()
	mustApply(t, s, NewNodeJoin("n1", RoleServer, "a"))
	r := s.Apply(NewPrivateAttrSet("n1", map[string]string{"lsn_location-db": "0/3000"}))
	if r.Err != nil || !r.Changed || !r.Quiet {
		t.Fatalf("private set: %+v, want a quiet change", r)
	}
	if r := s.Apply(NewPrivateAttrSet("n1", map[string]string{"lsn_location-db": "0/3000"})); r.Changed || r.Quiet {
		t.Errorf("the same value again: %+v, want no change", r)
	}
	if r := s.Apply(NewNodeAttrSet("n1", map[string]string{"master-db": "5"})); !r.Changed || r.Quiet {
		t.Errorf("a transient attribute: %+v, want a change that is not quiet", r)
	}
	m, _ := s.Member("n1")
	if m.Private["lsn_location-db"] != "0/3000" || m.Attributes["lsn_location-db"] != "" || m.Private["master-db"] != "" {
		t.Errorf("member: attributes %v, private %v", m.Attributes, m.Private)
	}
	for _, n := range s.Status().Nodes {
		if _, ok := n.Attributes["lsn_location-db"]; ok {
			t.Errorf("the scheduler's status shows the private attribute: %v", n.Attributes)
		}
	}
	b, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	s2 := New()
	if err := s2.Restore(b); err != nil {
		t.Fatal(err)
	}
	if m, _ := s2.Member("n1"); m.Private["lsn_location-db"] != "0/3000" {
		t.Errorf("after a snapshot: private %v", m.Private)
	}
	if r := s.Apply(NewPrivateAttrDelete("n1", "lsn_location-db")); !r.Changed || !r.Quiet {
		t.Errorf("private delete: %+v", r)
	}
	mustApply(t, s, NewPrivateAttrSet("n1", map[string]string{"x": "1"}))
	mustApply(t, s, NewNodeBoot("n1", "boot-2"))
	if m, _ := s.Member("n1"); len(m.Private) != 0 || m.Attributes["master-db"] != "5" {
		t.Errorf("after a new boot: private %v (want none), attributes %v (kept)", m.Private, m.Attributes)
	}
}

// The audit entry of a private write is appended quietly; others are not.
func TestQuietAuditAppend(t *testing.T) {
	s := New()
	e := AuditEntry{At: 1, Action: "PUT /v1/nodes/n1/attributes", Result: "ok"}
	if r := s.Apply(NewAuditAppend(AuditAppend{Entry: e, Quiet: true})); r.Err != nil || !r.Changed || !r.Quiet {
		t.Errorf("quiet append: %+v", r)
	}
	if r := s.Apply(NewAuditAppend(AuditAppend{Entry: e})); r.Err != nil || !r.Changed || r.Quiet {
		t.Errorf("append: %+v", r)
	}
	if n := len(s.Audit()); n != 2 {
		t.Errorf("%d entries, want 2", n)
	}
}
