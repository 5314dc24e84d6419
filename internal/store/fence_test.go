package store

import (
	"errors"
	"fmt"
	"testing"
)

// A confirmed fence marks the member fenced until it is online again; the
// fence history is numbered, bounded to FenceHistoryLimit (newest kept),
// filtered by target and survives a snapshot; a hold reason goes when the
// member is offline; records for non-members or without entries are
// rejected with nothing changed.
func TestFenceRecordAndHold(t *testing.T) {
	s := New()
	mustApply(t, s, NewNodeJoin("n1", RoleServer, "a"))
	mustApply(t, s, NewNodeJoin("n2", RoleServer, "b"))
	mustApply(t, s, NewNodeState("n2", StateUnclean, Lease{}))
	mustApply(t, s, NewFenceHold("n2", "no fence device confirmed n2"))
	if m, _ := s.Member("n2"); m.Hold == "" || m.Fenced != nil {
		t.Fatalf("after the hold: %+v", m)
	}
	fail := FenceEntry{Target: "n2", Action: "reboot", Device: "ipmi1", Level: 1, Result: "failed", Reason: "unreachable", Start: 1, End: 2}
	ok := FenceEntry{Target: "n2", Action: "reboot", Device: "ipmi2", Level: 2, Result: "success", Start: 2, End: 3}
	mustApply(t, s, NewFenceRecord(FenceRecord{Target: "n2", Entries: []FenceEntry{fail, ok},
		Fenced: &FenceMark{At: 3, By: "ipmi2", Action: "reboot"}}))
	m, _ := s.Member("n2")
	if m.Fenced == nil || m.Fenced.By != "ipmi2" {
		t.Fatalf("not marked fenced: %+v", m)
	}
	h := s.FenceHistory("n2")
	if len(h) != 2 || h[0].Seq != 1 || h[1].Seq != 2 || h[0].Device != "ipmi1" || len(s.FenceHistory("n1")) != 0 {
		t.Fatalf("history: %+v", h)
	}
	b := snap(t, s)
	s2 := New()
	if err := s2.Restore(b); err != nil {
		t.Fatal(err)
	}
	if m2, _ := s2.Member("n2"); m2.Fenced == nil || len(s2.FenceHistory("")) != 2 || string(snap(t, s2)) != string(b) {
		t.Errorf("snapshot lost the fencing state: %+v", m2)
	}
	mustApply(t, s, NewNodeState("n2", StateOffline, Lease{}))
	if m, _ := s.Member("n2"); m.Hold != "" || m.Fenced == nil {
		t.Errorf("offline: hold %q, fenced %+v; want no hold, still fenced", m.Hold, m.Fenced)
	}
	mustApply(t, s, NewNodeState("n2", StateOnline, Lease{}))
	if m, _ := s.Member("n2"); m.Fenced != nil {
		t.Errorf("online again and still fenced: %+v", m.Fenced)
	}
	for i := 0; i < FenceHistoryLimit+5; i++ {
		e := fail
		e.Reason = fmt.Sprint(i)
		mustApply(t, s, NewFenceRecord(FenceRecord{Target: "n2", Entries: []FenceEntry{e}}))
	}
	h = s.FenceHistory("")
	if len(h) != FenceHistoryLimit || h[len(h)-1].Reason != fmt.Sprint(FenceHistoryLimit+4) || h[len(h)-1].Seq != FenceHistoryLimit+7 {
		t.Errorf("bounded history: %d entries, last %+v", len(h), h[len(h)-1])
	}
	for _, bad := range []Command{
		NewFenceRecord(FenceRecord{Target: "n9", Entries: []FenceEntry{{Target: "n9", Result: "failed"}}}),
		NewFenceRecord(FenceRecord{Target: "n2"}),
		NewFenceRecord(FenceRecord{Target: "n2", Entries: []FenceEntry{{Target: "n1", Result: "failed"}}}),
		NewFenceHold("n9", "x"),
	} {
		before := snap(t, s)
		r := s.Apply(bad)
		if r.Err == nil || (!errors.Is(r.Err, ErrMalformed) && !errors.Is(r.Err, ErrUnknownNode)) || string(snap(t, s)) != string(before) {
			t.Errorf("%+v: %v (or a change), want a rejection and nothing changed", bad, r.Err)
		}
	}
}
