package sched

import (
	"testing"
	"time"

	"github.com/paceline/paceline/internal/model"
)

// rsc_action_default prints "Start ... (blocked)" for a stopped resource
// that was assigned a node even when its start cannot run and so stays
// optional (here: no quorum with no-quorum-policy=stop).
func TestSummaryBlockedStartWithoutQuorum(t *testing.T) {
	cfg, st := testCluster(map[string]string{"no-quorum-policy": "stop"},
		[]model.Node{{Name: "node1"}, {Name: "node2"}}, []model.Resource{dummy("rsc", nil)})
	st.HaveQuorum = false
	res, err := Schedule(Input{Config: cfg, Status: st, Now: time.Unix(1700000000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 1 {
		t.Fatalf("changes = %+v, want one blocked start", res.Changes)
	}
	c := res.Changes[0]
	if c.Action != "Start" || !c.Blocked || c.Reason != "no quorum" {
		t.Errorf("change = %+v, want a blocked Start due to no quorum", c)
	}
}
