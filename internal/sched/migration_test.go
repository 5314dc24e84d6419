package sched

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/model"
)

// Histories below use the shape the controller records: a start (or a
// probe) per node, then the migration entries; call ids count per node.

func rec(op string, call, rc int, src, tgt string) model.OpRecord {
	return model.OpRecord{ID: "vm_" + op + "_0", Operation: op, CallID: call, RC: rc,
		TransitionKey: "1:1:0:uuid", MigrateSource: src, MigrateTarget: tgt}
}

// migrationCluster is three nodes and vm (allow-migrate=true) placed on
// prefer, with the given history per node.
func migrationCluster(prefer string, hist map[string][]model.OpRecord) (*model.Config, *model.Status) {
	vm := dummy("vm", nil)
	vm.Meta = map[string]string{"allow-migrate": "true"}
	cfg, st := testCluster(nil, []model.Node{{Name: "n1"}, {Name: "n2"}, {Name: "n3"}}, []model.Resource{vm})
	cfg.Locations = []model.Location{{ID: "prefer", Resource: "vm", Node: prefer, Score: model.Infinity}}
	for i := range st.Nodes {
		if ops := hist[st.Nodes[i].Name]; ops != nil {
			st.Nodes[i].Resources = []model.ResourceHistory{{ID: "vm", Class: "ocf", Provider: "pacemaker", Type: "Dummy", Ops: ops}}
		}
	}
	return cfg, st
}

// describe renders the summary and the required, runnable actions of vm
// as sorted "task@node" words, for comparison.
func describe(t *testing.T, cfg *model.Config, st *model.Status) (string, string) {
	t.Helper()
	res, err := Schedule(Input{Config: cfg, Status: st, Now: time.Unix(1700000000, 0)})
	if err != nil {
		t.Fatalf("Schedule: %v", err)
	}
	var changes, actions []string
	for _, c := range res.Changes {
		changes = append(changes, c.Action+" "+c.Resource+" "+c.From+"->"+c.To)
	}
	for _, a := range res.Actions {
		// Start-up probes (one-shot monitors) are not part of migration.
		if a.Resource == "vm" && !a.Optional && a.Runnable && a.IntervalMS == 0 && a.Task != "monitor" {
			task := a.Task
			if a.Pseudo {
				task = "pseudo-" + task
			}
			actions = append(actions, task+"@"+a.Node)
		}
	}
	sort.Strings(actions)
	return strings.Join(changes, "; "), strings.Join(actions, " ")
}

func TestMigrationHistory(t *testing.T) {
	cases := []struct {
		name            string
		prefer          string
		hist            map[string][]model.OpRecord
		summary, action string
	}{{
		// A plain move of a migratable resource is a live migration.
		name:    "move migrates",
		prefer:  "n2",
		hist:    map[string][]model.OpRecord{"n1": {rec("start", 2, 0, "", "")}},
		summary: "Migrate vm n1->n2",
		action:  "migrate_from@n2 migrate_to@n1 pseudo-start@n2 stop@n1",
	}, {
		// migrate_to done, migrate_from never ran: a partial migration,
		// continued (no second migrate_to) while the target stays.
		name:   "partial migration continues",
		prefer: "n2",
		hist: map[string][]model.OpRecord{
			"n1": {rec("start", 2, 0, "", ""), rec("migrate_to", 3, 0, "n1", "n2")},
			"n2": {rec("monitor", 1, 7, "", "")},
		},
		summary: "Migrate vm n1->n2",
		action:  "migrate_from@n2 pseudo-start@n2 stop@n1",
	}, {
		// The target changed: the partial migration is abandoned and the
		// resource stopped on both nodes before it starts on the new one.
		// The target was recorded first, so it is the "current" node.
		name:   "partial migration aborted",
		prefer: "n3",
		hist: map[string][]model.OpRecord{
			"n1": {rec("start", 2, 0, "", ""), rec("migrate_to", 3, 0, "n1", "n2")},
			"n2": {rec("monitor", 1, 7, "", "")},
		},
		summary: "Move vm n2->n3",
		action:  "start@n3 stop@n1 stop@n2",
	}, {
		// Both halves completed but the source was never stopped: the
		// migration is dangling and only a stop on the source is needed.
		name:   "dangling migration",
		prefer: "n2",
		hist: map[string][]model.OpRecord{
			"n1": {rec("start", 2, 0, "", ""), rec("migrate_to", 3, 0, "n1", "n2")},
			"n2": {rec("monitor", 1, 7, "", ""), rec("migrate_from", 2, 0, "n1", "n2")},
		},
		summary: "",
		action:  "stop@n1",
	}, {
		// A failed migrate_from leaves the resource possibly active on
		// both nodes: it is recovered by stop and start, never migrated
		// (migrate-fail-2 in Pacemaker's regression tests).
		name:   "failed migrate_from",
		prefer: "n2",
		hist: map[string][]model.OpRecord{
			"n1": {rec("start", 2, 0, "", ""), rec("migrate_to", 3, 0, "n1", "n2")},
			"n2": {rec("monitor", 1, 7, "", ""), rec("migrate_from", 2, 1, "n1", "n2")},
		},
		summary: "Recover vm n2->n2",
		action:  "start@n2 stop@n1 stop@n2",
	}, {
		// A stop on the source after a completed migration settles it.
		name:   "completed migration",
		prefer: "n2",
		hist: map[string][]model.OpRecord{
			"n1": {rec("start", 2, 0, "", ""), rec("migrate_to", 3, 0, "n1", "n2"), rec("stop", 4, 0, "", "")},
			"n2": {rec("monitor", 1, 7, "", ""), rec("migrate_from", 2, 0, "n1", "n2")},
		},
		summary: "",
		action:  "",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, st := migrationCluster(tc.prefer, tc.hist)
			summary, actions := describe(t, cfg, st)
			if summary != tc.summary {
				t.Errorf("summary = %q, want %q", summary, tc.summary)
			}
			if actions != tc.action {
				t.Errorf("actions = %q, want %q", actions, tc.action)
			}
		})
	}
}

// TestCompareOps checks pe__is_newer_op's rules: call ids compare only on
// one node, otherwise the last result change decides, and a missing time
// never makes an entry newer.
func TestCompareOps(t *testing.T) {
	op := func(node string, call int, changed int64) *model.OpRecord {
		return &model.OpRecord{ID: "x" + node + string(rune('0'+call)), CallID: call, LastRCChange: changed, OnNode: node}
	}
	cases := []struct {
		name     string
		a, b     *model.OpRecord
		sameNode bool
		want     int
	}{
		{"same node by call id", op("n1", 5, 10), op("n1", 3, 20), false, 1},
		{"other node by time", op("n1", 5, 10), op("n2", 3, 20), false, -1},
		{"no node names, default same", op("", 5, 10), op("", 3, 20), true, 1},
		{"no node names, default other", op("", 5, 10), op("", 3, 20), false, -1},
		{"missing time is not newer", op("n1", 5, 0), op("n2", 3, 20), false, 0},
		{"missing other time is not older", op("n1", 5, 30), op("n2", 3, 0), false, 0},
	}
	for _, tc := range cases {
		if got := compareOps(tc.a, tc.b, tc.sameNode); got != tc.want {
			t.Errorf("%s: compareOps = %d, want %d", tc.name, got, tc.want)
		}
	}
}
