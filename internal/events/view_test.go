package events

import (
	"testing"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/store"
)

// FromStatus reads liveness, the drain's attribute, clone membership,
// how an instance arrived and the kept failures.
func TestFromStatus(t *testing.T) {
	st := api.Status{Leader: "n1", Quorum: true, Epoch: 7,
		Collectives: []api.CollectiveStatus{{ID: "db-clone", Kind: "clone", Children: []string{"db"}}},
		Resources: []api.ResourceStatus{
			{ID: "web", Address: "10.0.0.5", Instances: []api.Instance{{Node: "n2", Role: "Started"}}},
			{ID: "db", Parent: "db-clone", Instances: []api.Instance{{Node: "n1", Role: "Promoted"}}},
		},
		FailedActions: []api.FailedAction{{Resource: "db:0", Operation: "monitor", Interval: 5000, Node: "n1", ExitCode: 0,
			Status: "complete", CallID: 4, At: time.Unix(100, 0)}},
	}
	members := []store.Member{
		{Name: "n1", State: store.StateOnline, Attributes: map[string]string{"shutdown": "123"}},
		{Name: "n2", State: store.StateUnclean, Resources: []model.ResourceHistory{{ID: "web", Ops: []model.OpRecord{
			{ID: "web_last_0", Operation: "migrate_from", CallID: 3},
			{ID: "web_monitor_10000", Operation: "monitor", Interval: 10000, CallID: 4},
		}}}},
	}
	v := FromStatus("n3", st, members, "token:a", "create resource web")
	if v.Self != "n3" || v.Leader != "n1" || v.Epoch != 7 || v.Who != "token:a" || !v.Nodes["n1"].Shutdown || v.Nodes["n2"].State != store.StateUnclean {
		t.Fatalf("view %+v", v)
	}
	if w := v.Resources["web"]; w.Clone || w.Address != "10.0.0.5" || w.Instances["n2"].Via != "migrate_from" {
		t.Fatalf("web %+v", w)
	}
	if d := v.Resources["db"]; !d.Clone || d.Instances["n1"].Role != "Promoted" {
		t.Fatalf("db %+v", d)
	}
	f, ok := v.Failures["db|n1|monitor|5000"]
	if !ok || f.Reason != "unexpected result 'ok'" || f.At != 100 || f.CallID != 4 {
		t.Fatalf("failures %+v", v.Failures)
	}
}
