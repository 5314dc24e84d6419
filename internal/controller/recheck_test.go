package controller

import (
	"testing"
	"time"

	"github.com/paceline/paceline/internal/model"
)

// The controller plans again without a change at the
// cluster-recheck-interval (default 15 min, 0 disables it) or when a
// failure-timeout lets a recorded failure expire, whichever is first.
func TestRecheckAt(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	cfg := &model.Config{Resources: []model.Resource{
		{ID: "web", Kind: model.KindPrimitive, Meta: map[string]string{"failure-timeout": "60s"}},
		{ID: "db-clone", Kind: model.KindClone, Meta: map[string]string{"failure-timeout": "2min"},
			Children: []model.Resource{{ID: "db", Kind: model.KindPrimitive}}},
	}}
	st := &model.Status{Nodes: []model.NodeStatus{{Name: "n1", Attributes: map[string]string{
		"last-failure-web#monitor_10000": "1699999990", // expires at now+50s
		"last-failure-db#start_0":        "1699999900", // expires at now+20s
		"last-failure-other#start_0":     "1699999999", // no failure-timeout
	}}}}
	if got, want := recheckAt(cfg, st, now), now.Add(21*time.Second); !got.Equal(want) {
		t.Errorf("recheck at %v, want %v (db's failure expiring)", got, want)
	}
	if got, want := recheckAt(cfg, &model.Status{}, now), now.Add(15*time.Minute); !got.Equal(want) {
		t.Errorf("recheck at %v, want the default interval %v", got, want)
	}
	cfg.Properties = map[string]string{"cluster-recheck-interval": "0"}
	if got := recheckAt(cfg, &model.Status{}, now); !got.IsZero() {
		t.Errorf("recheck at %v with the interval disabled and no failure", got)
	}
}
