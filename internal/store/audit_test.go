package store

import (
	"errors"
	"testing"
)

// The audit log keeps the newest AuditLimit entries and the chain goes on
// across the cap: the oldest kept entry still points at the dropped one.
func TestAuditCapKeepsTheChain(t *testing.T) {
	s := New()
	var hashOf5 string
	for i := 1; i <= AuditLimit+5; i++ {
		if r := s.Apply(NewAuditAppend(AuditAppend{Entry: AuditEntry{At: int64(i), Action: "POST /v1/x", Result: "ok"}})); r.Err != nil {
			t.Fatal(r.Err)
		}
		if i == 5 {
			hashOf5 = s.Audit()[4].Hash
		}
	}
	a := s.Audit()
	if len(a) != AuditLimit || a[0].Seq != 6 || a[len(a)-1].Seq != AuditLimit+5 {
		t.Fatalf("kept %d entries, seq %d..%d; want %d, 6..%d", len(a), a[0].Seq, a[len(a)-1].Seq, AuditLimit, AuditLimit+5)
	}
	if a[0].Prev != hashOf5 {
		t.Errorf("oldest kept entry's prev %s, want the dropped entry 5's hash %s", a[0].Prev, hashOf5)
	}
	if err := VerifyAudit(a); err != nil {
		t.Errorf("verify after the cap: %v", err)
	}
	// Dropping an entry from the middle is detected too.
	cut := append(append([]AuditEntry(nil), a[:10]...), a[11:]...)
	if err := VerifyAudit(cut); !errors.Is(err, ErrAuditChain) {
		t.Errorf("verify with entry %d removed: %v, want ErrAuditChain", a[10].Seq, err)
	}
	// So is an entry rewritten with a recomputed hash: the next one no
	// longer chains to it.
	forged := append([]AuditEntry(nil), a[:20]...)
	forged[7].Result = "ok (forged)"
	forged[7].Hash = AuditHash(forged[7])
	if err := VerifyAudit(forged); !errors.Is(err, ErrAuditChain) {
		t.Errorf("verify with a re-hashed entry: %v, want ErrAuditChain", err)
	}
}
