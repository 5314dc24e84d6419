package store

import (
	"errors"
	"testing"

	"github.com/paceline/paceline/internal/model"
)

func TestApplyRejects(t *testing.T) {
	join := NewNodeJoin("n1", RoleServer, "a")
	tests := []struct {
		name string
		cmd  Command
		want error
	}{
		{"newer version", Command{Version: Version + 1, Type: TypeNodeJoin, NodeJoin: join.NodeJoin}, ErrUnsupportedVersion},
		{"version zero", Command{Type: TypeNodeJoin, NodeJoin: join.NodeJoin}, ErrUnsupportedVersion},
		{"unknown type", Command{Version: Version, Type: "node.explode"}, ErrUnknownCommand},
		{"missing payload", Command{Version: Version, Type: TypeNodeJoin}, ErrMalformed},
		{"wrong payload", Command{Version: Version, Type: TypeNodeLeave, NodeJoin: join.NodeJoin}, ErrMalformed},
		{"two payloads", Command{Version: Version, Type: TypeNodeJoin, NodeJoin: join.NodeJoin, NodeLeave: &NodeLeave{Name: "n1"}}, ErrMalformed},
		{"empty node name", NewNodeJoin("", RoleServer, ""), ErrEmptyName},
		{"bad role", NewNodeJoin("n2", "voter", ""), ErrInvalidRole},
		{"stale put", NewConfigPut(0, model.Config{}, Change{}), ErrEpochMismatch},
		{"future put", NewConfigPut(5, model.Config{}, Change{}), ErrEpochMismatch},
		{"rollback to unkept", NewConfigRollback(1, 0, Change{}), ErrUnknownEpoch},
		{"state of unknown node", NewNodeState("n9", StateOnline, Lease{}), ErrUnknownNode},
		{"state not liveness", NewNodeState("n1", StateMaintenance, Lease{}), ErrInvalidState},
		{"empty attribute name", NewNodeAttrSet("n1", map[string]string{"": "x"}), ErrEmptyName},
		{"op without resource", NewOpResult(OpResult{Node: "n1", Op: model.OpRecord{Operation: "start"}}), ErrEmptyName},
		{"op on unknown node", NewOpResult(OpResult{Node: "n9", Resource: model.ResourceHistory{ID: "web"}, Op: model.OpRecord{Operation: "start"}}), ErrUnknownNode},
		{"clear without resource", NewFailCountClear(FailCountClear{}), ErrEmptyName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			if r := s.Apply(join); r.Err != nil || r.Epoch != 1 {
				t.Fatalf("join: %+v", r)
			}
			before := snap(t, s)
			r := s.Apply(tt.cmd)
			if !errors.Is(r.Err, tt.want) {
				t.Fatalf("got %v, want %v", r.Err, tt.want)
			}
			if r.Changed || r.Epoch != 1 || string(snap(t, s)) != string(before) {
				t.Fatalf("a rejected command changed the store: %+v", r)
			}
		})
	}
}

func TestDecodeRejectsUnknownFields(t *testing.T) {
	_, err := Decode([]byte(`{"v":1,"type":"node.leave","node_leave":{"name":"n1","force":true}}`))
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v, want ErrMalformed", err)
	}
	c, err := Decode([]byte(`{"v":1,"type":"node.leave","node_leave":{"name":"n1"}}`))
	if err != nil || c.NodeLeave == nil || c.NodeLeave.Name != "n1" {
		t.Fatalf("got %+v, %v", c, err)
	}
}

// The history keeps the newest HistoryLimit configurations; older epochs
// can no longer be rolled back to.
func TestHistoryBounded(t *testing.T) {
	s := New()
	for e := range uint64(HistoryLimit + 10) {
		if r := s.Apply(NewConfigPut(e, model.Config{}, Change{})); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	h := s.History()
	if len(h) != HistoryLimit || h[0].Epoch != 11 || h[len(h)-1].Epoch != HistoryLimit+10 {
		t.Fatalf("history holds %d entries, epochs %d..%d", len(h), h[0].Epoch, h[len(h)-1].Epoch)
	}
	if r := s.Apply(NewConfigRollback(s.Epoch(), 10, Change{})); !errors.Is(r.Err, ErrUnknownEpoch) {
		t.Fatalf("rollback to an evicted epoch: %v", r.Err)
	}
	if _, err := s.ConfigAt(11); err != nil {
		t.Fatal(err)
	}
}

// A put that leaves a member out keeps the member's node entry: nodes
// leave with NodeLeave. Node entries it carries (attributes) are kept.
func TestConfigPutKeepsMembers(t *testing.T) {
	s := New()
	s.Apply(NewNodeJoin("n1", RoleServer, "a"))
	s.Apply(NewNodeJoin("n2", RoleClient, "b"))
	cfg := model.Config{Nodes: []model.Node{{Name: "n2", Attributes: map[string]string{"site": "x"}}}}
	if r := s.Apply(NewConfigPut(2, cfg, Change{})); r.Err != nil || r.Epoch != 3 {
		t.Fatalf("%+v", r)
	}
	got := s.Config().Nodes
	if len(got) != 2 || got[0].Name != "n2" || got[0].Attributes["site"] != "x" || got[1].Name != "n1" || got[1].Type != model.NodeMember {
		t.Fatalf("nodes: %+v", got)
	}
}

func TestRestoreRejectsBadSnapshots(t *testing.T) {
	s := New()
	s.Apply(NewNodeJoin("n1", RoleServer, "a"))
	before := snap(t, s)
	for _, b := range []string{``, `{`, `{"v":2,"config":{}}`, `{"v":1,"config":{},"members":[{"name":"a"},{"name":"a"}]}`, `{"v":1,"extra":1}`} {
		if err := s.Restore([]byte(b)); !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("restore %q: %v", b, err)
		}
	}
	if string(snap(t, s)) != string(before) {
		t.Fatal("a failed restore changed the store")
	}
}
