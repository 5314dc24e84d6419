package controller

import (
	"slices"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/store"
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

// A fail count expires once its last failure is more than failure-timeout
// old; one clear per node, resource and operation, of instances too.
func TestExpiredFailures(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	cfg := &model.Config{Resources: []model.Resource{
		{ID: "web", Kind: model.KindPrimitive, Meta: map[string]string{"failure-timeout": "60s"}},
		{ID: "db-clone", Kind: model.KindClone, Meta: map[string]string{"failure-timeout": "2min"},
			Children: []model.Resource{{ID: "db", Kind: model.KindPrimitive}}},
	}}
	st := &model.Status{Nodes: []model.NodeStatus{
		{Name: "n2", Attributes: map[string]string{
			"fail-count-db:1#start_0":        "INFINITY",
			"last-failure-db:1#start_0":      "1699999800", // 200 s ago: expired
			"last-failure-web#monitor_10000": "1699999940", // exactly 60 s ago: not yet
		}},
		{Name: "n1", Attributes: map[string]string{
			"last-failure-web#monitor_10000": "1699999939", // 61 s ago: expired
			"last-failure-other#start_0":     "1600000000", // no failure-timeout
		}},
	}}
	got := expiredFailures(cfg, st, now)
	want := []store.FailCountClear{
		{Node: "n1", Resource: "web", Operation: "monitor", Interval: 10000},
		{Node: "n2", Resource: "db:1", Operation: "start", Interval: 0},
	}
	if !slices.Equal(got, want) {
		t.Errorf("expired: %+v\nwant %+v", got, want)
	}
}
