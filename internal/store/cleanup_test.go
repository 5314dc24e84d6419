package store

import (
	"testing"

	"github.com/paceline/paceline/internal/model"
)

// A cleanup of a clone (or of its primitive) clears every instance's fail
// counts and history, whether recorded under the base id (anonymous
// clones, as Pacemaker records them) or numbered (unique clones, older
// histories), and leaves other resources alone.
func TestCleanupOfACloneClearsEveryInstance(t *testing.T) {
	for _, target := range []string{"cld-clone", "cld"} {
		t.Run(target, func(t *testing.T) {
			s := New()
			for _, n := range []string{"n1", "n2"} {
				if r := s.Apply(NewNodeJoin(n, RoleServer, "")); r.Err != nil {
					t.Fatal(r.Err)
				}
			}
			cfg := model.Config{Resources: []model.Resource{
				{ID: "cld-clone", Kind: model.KindClone, Children: []model.Resource{{ID: "cld", Kind: model.KindPrimitive, Class: "ocf", Provider: "heartbeat", Type: "Dummy"}}},
				{ID: "cldx", Kind: model.KindPrimitive, Class: "ocf", Provider: "heartbeat", Type: "Dummy"},
			}}
			if r := s.Apply(NewConfigPut(s.Epoch(), cfg, Change{})); r.Err != nil {
				t.Fatal(r.Err)
			}
			fail := model.OpRecord{Operation: "stop", CallID: 3, RC: 1, TargetRC: 0}
			for _, rec := range []struct{ node, id string }{{"n1", "cld"}, {"n2", "cld:1"}, {"n1", "cldx"}} {
				r := s.Apply(NewOpResult(OpResult{Node: rec.node, Resource: model.ResourceHistory{ID: rec.id, Class: "ocf"}, Op: fail, FailCountAdd: 1}))
				if r.Err != nil {
					t.Fatal(r.Err)
				}
			}
			r := s.Apply(NewFailCountClear(FailCountClear{Resource: target, History: true}))
			if r.Err != nil || !r.Changed {
				t.Fatalf("cleanup: %+v", r)
			}
			for _, m := range s.Members() {
				for _, rh := range m.Resources {
					if rh.ID != "cldx" {
						t.Errorf("%s still has history of %s", m.Name, rh.ID)
					}
				}
				for k := range m.Attributes {
					if k != "fail-count-cldx#stop_0" && k != "last-failure-cldx#stop_0" {
						t.Errorf("%s still has %s", m.Name, k)
					}
				}
			}
			if m, _ := s.Member("n1"); m.Attributes["fail-count-cldx#stop_0"] != "1" {
				t.Errorf("the cleanup of %s cleared cldx: %v", target, m.Attributes)
			}
		})
	}
}

// Members, Member and Status return deep copies: changing what they
// return changes nothing stored.
func TestCopiesAreDeep(t *testing.T) {
	s := New()
	s.Apply(NewNodeJoin("n1", RoleServer, ""))
	s.Apply(NewNodeAttrSet("n1", map[string]string{"a": "1"}))
	s.Apply(NewOpResult(OpResult{Node: "n1", Resource: model.ResourceHistory{ID: "r"}, Op: model.OpRecord{Operation: "start", RC: 0}}))
	before := string(snap(t, s))
	m, _ := s.Member("n1")
	m.Attributes["a"] = "2"
	m.Resources[0].Ops[0].RC = 9
	ms := s.Members()
	ms[0].Attributes["b"] = "x"
	ms[0].Resources[0].Ops[0].RC = 9
	st := s.Status()
	st.Nodes[0].Attributes["c"] = "y"
	st.Nodes[0].Resources[0].Ops[0].RC = 9
	if after := string(snap(t, s)); after != before {
		t.Fatalf("a copy shares memory with the store:\n%s\n%s", before, after)
	}
}
