package controller_test

import (
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/store"
	"github.com/paceline/paceline/internal/testcluster"
)

func newCluster(t *testing.T) *testcluster.Cluster {
	t.Helper()
	logf := func(string, ...any) {}
	if testing.Verbose() {
		logf = t.Logf
	}
	return testcluster.New(t, testcluster.Options{Nodes: 3, Logf: logf})
}

// member reads a node's stored state on the leader.
func member(c *testcluster.Cluster, node string) (m store.Member) {
	leader := c.Leader()
	if leader == "" {
		return m
	}
	c.Node(leader).Raft.Read(func(s *store.Store) { m, _ = s.Member(node) })
	return m
}

// role is the role resource id has on node by its recorded history:
// Promoted, Unpromoted (started), or "" (stopped, failed or unknown).
func role(c *testcluster.Cluster, node, id string) string {
	m := member(c, node)
	for _, rh := range m.Resources {
		if rh.ID != id {
			continue
		}
		var last *model.OpRecord
		for i := range rh.Ops {
			o := &rh.Ops[i]
			if o.Interval == 0 && o.Operation != "notify" && (last == nil || o.CallID > last.CallID) {
				last = o
			}
		}
		failed := false
		for _, o := range rh.Ops {
			if o.Interval > 0 && o.RC != o.TargetRC && last != nil && o.CallID > last.CallID {
				failed = true
			}
		}
		probe := last != nil && last.Operation == "monitor"
		if last == nil || failed || (!probe && last.RC != last.TargetRC) || last.OpStatus != 0 {
			return ""
		}
		switch last.Operation {
		case "promote":
			return "Promoted"
		case "start", "demote", "migrate_from":
			return "Unpromoted"
		case "monitor":
			if last.RC == 8 {
				return "Promoted"
			}
			if last.RC == 0 {
				return "Unpromoted"
			}
		}
	}
	return ""
}

// roles maps each node to id's role there ("" left out).
func roles(c *testcluster.Cluster, id string) map[string]string {
	out := map[string]string{}
	for _, n := range []string{"n1", "n2", "n3"} {
		if r := role(c, n, id); r != "" {
			out[n] = r
		}
	}
	return out
}

func count(m map[string]string, v string) (n int) {
	for _, x := range m {
		if x == v {
			n++
		}
	}
	return n
}

// createClones adds a promotable clone "db" with notifications and role
// monitors, and an anonymous clone "cld", both of builtin:dummy.
func createClones(c *testcluster.Cluster) {
	c.Update("create clones", func(cfg *model.Config) {
		cfg.Resources = append(cfg.Resources,
			model.Resource{ID: "db-clone", Kind: model.KindClone, Meta: map[string]string{"promotable": "true", "notify": "true"},
				Children: []model.Resource{{ID: "db", Kind: model.KindPrimitive, Class: "builtin", Type: "dummy",
					Ops: []model.Op{
						{Name: "monitor", Interval: time.Second, Role: "Promoted", Timeout: 20 * time.Second},
						{Name: "monitor", Interval: 2 * time.Second, Role: "Unpromoted", Timeout: 20 * time.Second},
					}}}},
			model.Resource{ID: "cld-clone", Kind: model.KindClone,
				Children: []model.Resource{{ID: "cld", Kind: model.KindPrimitive, Class: "builtin", Type: "dummy",
					Ops: []model.Op{{Name: "monitor", Interval: time.Second, Timeout: 20 * time.Second}}}}},
		)
	})
	for n, score := range map[string]string{"n1": "5", "n2": "10", "n3": "1"} {
		c.ApplyOnLeader(store.NewNodeAttrSet(n, map[string]string{"master-db": score}))
	}
}

// settled waits until db runs on want nodes with one promoted instance
// and cld on want nodes.
func settled(t *testing.T, c *testcluster.Cluster, what string, want int) map[string]string {
	t.Helper()
	var rs map[string]string
	c.Eventually(what, func() bool {
		rs = roles(c, "db")
		return len(rs) == want && count(rs, "Promoted") == 1 && len(roles(c, "cld")) == want &&
			len(c.ActiveOn("db")) == want && len(c.ActiveOn("cld")) == want
	})
	return rs
}

func promoted(rs map[string]string) string {
	for n, r := range rs {
		if r == "Promoted" {
			return n
		}
	}
	return ""
}

// The new-user findings of issue 10: a promotable clone and an anonymous
// clone through start, promote, standby and unstandby, a crash of the
// promoted instance (its state removed) and a cleanup. Clone instances are
// recorded under the base id; no operation is dispatched twice for one
// plan step, none runs in a loop, the Promoted monitor (expecting 8)
// detects the crash and the instance is recovered, and the cleanup of the
// clone clears every instance's failures.
func TestClonesRunEachPlanStepOnce(t *testing.T) {
	c := newCluster(t)
	createClones(c)
	rs := settled(t, c, "db on 3 nodes, promoted on one; cld on 3", 3)
	if p := promoted(rs); p != "n2" {
		t.Errorf("promoted on %s, want n2 (highest promotion score): %v", p, rs)
	}
	for _, n := range []string{"n1", "n2", "n3"} {
		for _, rh := range member(c, n).Resources {
			if strings.Contains(rh.ID, ":") {
				t.Errorf("%s records the anonymous clone instance %s, not its base id", n, rh.ID)
			}
		}
	}

	c.ApplyOnLeader(store.NewNodeAttrSet("n2", map[string]string{"standby": "on"}))
	c.Eventually("n2 empty, db promoted elsewhere", func() bool {
		rs := roles(c, "db")
		return rs["n2"] == "" && count(rs, "Promoted") == 1 && len(rs) == 2 &&
			!contains(c.ActiveOn("db"), "n2") && !contains(c.ActiveOn("cld"), "n2")
	})
	c.ApplyOnLeader(store.NewNodeAttrSet("n2", map[string]string{"standby": "off"}))
	rs = settled(t, c, "n2 back", 3)

	p := promoted(rs)
	c.Fail(p, "db")
	c.Eventually("the Promoted monitor's failure recorded on "+p, func() bool {
		return member(c, p).Attributes["fail-count-db#monitor_1000"] != ""
	})
	settled(t, c, "db recovered", 3)

	c.ApplyOnLeader(store.NewFailCountClear(store.FailCountClear{Resource: "db-clone", History: true}))
	c.Eventually("the cleanup cleared every fail count", func() bool {
		for _, n := range []string{"n1", "n2", "n3"} {
			for k := range member(c, n).Attributes {
				if strings.HasPrefix(k, "fail-count-db") {
					return false
				}
			}
		}
		return true
	})
	settled(t, c, "db re-probed and running after the cleanup", 3)
	// Let a few monitor intervals pass: nothing must loop.
	for i := 0; i < 30; i++ {
		c.Advance(200 * time.Millisecond)
		time.Sleep(5 * time.Millisecond)
	}
	settled(t, c, "still settled", 3)

	perOp := map[string]int{}
	total := 0
	for key, n := range c.Dispatched() {
		if n > 1 {
			t.Errorf("%s dispatched %d times for one plan step", key, n)
		}
		_, op, _ := strings.Cut(key, " ")
		perOp[op] += n
		total += n
	}
	for op, n := range perOp {
		// start, promote and the monitors run about once per phase:
		// initial, after unstandby, after the crash, after the cleanup,
		// once more when a transition is aborted by a result (a loaded
		// machine aborts more often); a notify goes before and after each
		// start, stop, promote and demote of any instance. A loop runs
		// them hundreds of times (the issue saw 1,557 demotes in 8 s).
		limit := 10
		if strings.HasSuffix(op, "_notify") {
			limit = 40
		}
		if n > limit {
			t.Errorf("%s dispatched %d times", op, n)
		}
	}
	t.Logf("%d dispatches, %d distinct operations: %v", total, len(perOp), perOp)
	for _, n := range []string{"n1", "n2", "n3"} {
		for k, v := range member(c, n).Attributes {
			if strings.HasPrefix(k, "fail-count-") && v != "1" {
				t.Errorf("%s: %s=%s", n, k, v)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A resource deleted from the configuration while it runs is stopped
// (Pacemaker's orphan handling) before its history is dropped.
func TestDeletedRunningResourceIsStopped(t *testing.T) {
	c := newCluster(t)
	c.CreateDummy("web", time.Second, nil)
	c.Eventually("web running", func() bool { return len(c.ActiveOn("web")) == 1 })
	on := c.ActiveOn("web")[0]
	c.Update("delete web", func(cfg *model.Config) {
		cfg.Resources = nil
	})
	c.Eventually("web stopped on "+on, func() bool { return len(c.ActiveOn("web")) == 0 })
	c.Eventually("web's history shows the stop", func() bool {
		return role(c, on, "web") == ""
	})
}

// setParam sets a parameter of a top-level primitive.
func setParam(c *testcluster.Cluster, id, name, value string) {
	c.Update("set "+id+" "+name, func(cfg *model.Config) {
		for i := range cfg.Resources {
			r := &cfg.Resources[i]
			if r.ID != id {
				continue
			}
			for j := range r.Params {
				if r.Params[j].Name == name {
					r.Params[j].Value = value
					return
				}
			}
			r.Params = append(r.Params, model.NV{Name: name, Value: value})
		}
	})
}

func dispatchedOps(c *testcluster.Cluster, suffix string) (n int) {
	for k, v := range c.Dispatched() {
		if strings.HasSuffix(k, suffix) {
			n += v
		}
	}
	return n
}

// A running resource whose parameters change is restarted when a
// parameter its agent cannot reload changed, and reloaded (no stop) when
// only reloadable ones did: the start's history records the parameter
// digests, as Pacemaker's does, and the scheduler compares them.
func TestParameterChangeRestartsOrReloads(t *testing.T) {
	c := newCluster(t)
	c.CreateDummy("web", time.Second, nil)
	c.Eventually("web running", func() bool { return len(c.ActiveOn("web")) == 1 })
	on := c.ActiveOn("web")[0]
	c.Eventually("web's start digests recorded", func() bool {
		for _, rh := range member(c, on).Resources {
			for _, o := range rh.Ops {
				if rh.ID == "web" && o.Operation == "start" && o.Digest != "" && o.RestartDigest != "" {
					return true
				}
			}
		}
		return false
	})
	stops := func() (n int) {
		for _, e := range c.Events() {
			if e.Resource == "web" && !e.Active {
				n++
			}
		}
		return n
	}

	setParam(c, "web", "fake", "v2") // reloadable
	c.Eventually("web reloaded", func() bool { return dispatchedOps(c, "/web_reload-agent") == 1 })
	c.Eventually("the reload recorded", func() bool { return role(c, on, "web") != "" && dispatchedOps(c, "/web_reload-agent") == 1 })
	if n := stops(); n != 0 {
		t.Fatalf("a reloadable change stopped web %d times", n)
	}
	for i := 0; i < 10; i++ { // nothing more happens
		c.Advance(200 * time.Millisecond)
		time.Sleep(5 * time.Millisecond)
	}
	if n := dispatchedOps(c, "/web_reload-agent"); n != 1 || stops() != 0 {
		t.Fatalf("after the reload: %d reloads, %d stops", n, stops())
	}

	setParam(c, "web", "op_sleep", "1ms") // not reloadable
	c.Eventually("web restarted", func() bool { return stops() == 1 && len(c.ActiveOn("web")) == 1 })
	if n := dispatchedOps(c, "/web_reload-agent"); n != 1 {
		t.Errorf("a non-reloadable change reloaded (%d reloads)", n)
	}
}

// A start that fails (start-failure-is-fatal, the default) bans the
// resource from its node with a fail count of INFINITY; it is tried once
// on each node and then left stopped: never retried in a loop.
func TestFailingStartIsTriedOncePerNode(t *testing.T) {
	c := newCluster(t)
	c.Update("create bad", func(cfg *model.Config) {
		cfg.Resources = append(cfg.Resources, model.Resource{ID: "bad", Kind: model.KindPrimitive, Class: "builtin", Type: "process",
			Params: []model.NV{{Name: "command", Value: "false"}},
			Ops:    []model.Op{{Name: "monitor", Interval: time.Second, Timeout: 20 * time.Second}}})
	})
	banned := func() (n int) {
		for _, node := range []string{"n1", "n2", "n3"} {
			if member(c, node).Attributes["fail-count-bad#start_0"] == "INFINITY" {
				n++
			}
		}
		return n
	}
	c.Eventually("bad banned from every node", func() bool { return banned() == 3 })
	for i := 0; i < 30; i++ {
		c.Advance(200 * time.Millisecond)
		time.Sleep(5 * time.Millisecond)
	}
	if n := dispatchedOps(c, "/bad_start"); n != 3 {
		t.Errorf("bad's start dispatched %d times, want once per node", n)
	}
	if len(c.ActiveOn("bad")) != 0 {
		t.Errorf("bad active on %v", c.ActiveOn("bad"))
	}
}

// With start-failure-is-fatal=false a failed start counts one failure;
// migration-threshold=2 moves the resource after the second: the
// retries on one node are spaced by the backoff, not a tight loop.
func TestStartFailureNotFatalRetriesUpToTheThreshold(t *testing.T) {
	c := newCluster(t)
	c.SetProperty("start-failure-is-fatal", "false")
	c.Update("create bad", func(cfg *model.Config) {
		cfg.Resources = append(cfg.Resources, model.Resource{ID: "bad", Kind: model.KindPrimitive, Class: "builtin", Type: "process",
			Meta:   map[string]string{"migration-threshold": "2"},
			Params: []model.NV{{Name: "command", Value: "false"}}})
	})
	twice := func() (n int) {
		for _, node := range []string{"n1", "n2", "n3"} {
			if member(c, node).Attributes["fail-count-bad#start_0"] == "2" {
				n++
			}
		}
		return n
	}
	c.Eventually("bad failed twice on every node", func() bool { return twice() == 3 })
	for i := 0; i < 30; i++ {
		c.Advance(200 * time.Millisecond)
		time.Sleep(5 * time.Millisecond)
	}
	if n := dispatchedOps(c, "/bad_start"); n != 6 {
		t.Errorf("bad's start dispatched %d times, want twice per node", n)
	}
}

// A resource with allow-migrate=true leaves a node going into standby by
// live migration: migrate_to on the source, naming the target, then
// migrate_from on the target, naming the source (the operation history
// records both).
func TestStandbyLiveMigrates(t *testing.T) {
	c := newCluster(t)
	c.CreateDummy("vm", time.Second, map[string]string{"allow-migrate": "true"})
	c.Eventually("vm running", func() bool { return len(c.ActiveOn("vm")) == 1 })
	from := c.ActiveOn("vm")[0]
	c.ApplyOnLeader(store.NewNodeAttrSet(from, map[string]string{"standby": "on"}))
	var to string
	c.Eventually("vm migrated away from "+from, func() bool {
		on := c.ActiveOn("vm")
		if len(on) != 1 || on[0] == from {
			return false
		}
		to = on[0]
		return true
	})
	find := func(node, op string) (rec model.OpRecord) {
		c.Eventually(op+" recorded on "+node, func() bool {
			for _, rh := range member(c, node).Resources {
				for _, o := range rh.Ops {
					if rh.ID == "vm" && o.Operation == op {
						rec = o
						return true
					}
				}
			}
			return false
		})
		return rec
	}
	mt, mf := find(from, "migrate_to"), find(to, "migrate_from")
	if mt.RC != 0 || mt.MigrateSource != from || mt.MigrateTarget != to {
		t.Errorf("migrate_to on %s: rc %d source %q target %q", from, mt.RC, mt.MigrateSource, mt.MigrateTarget)
	}
	if mf.RC != 0 || mf.MigrateSource != from || mf.MigrateTarget != to {
		t.Errorf("migrate_from on %s: rc %d source %q target %q", to, mf.RC, mf.MigrateSource, mf.MigrateTarget)
	}
	if n := dispatchedOps(c, "/vm_start"); n != 1 {
		t.Errorf("vm started %d times: the move was not a migration", n)
	}
}

// on-fail as the scheduler computes it, at run time: ignore leaves a
// resource whose monitor fails alone (its failure counted); block leaves
// it where it is and does nothing more with it; the default (restart)
// recovers it in place.
func TestOnFail(t *testing.T) {
	for _, tt := range []struct {
		onFail    string
		recovered bool
	}{{"ignore", false}, {"block", false}, {"restart", true}} {
		t.Run(tt.onFail, func(t *testing.T) {
			c := newCluster(t)
			c.Update("create web", func(cfg *model.Config) {
				cfg.Resources = append(cfg.Resources, model.Resource{ID: "web", Kind: model.KindPrimitive, Class: "builtin", Type: "dummy",
					Ops: []model.Op{{Name: "monitor", Interval: time.Second, Timeout: 20 * time.Second, OnFail: tt.onFail}}})
			})
			c.Eventually("web running", func() bool { return len(c.ActiveOn("web")) == 1 })
			on := c.ActiveOn("web")[0]
			c.Eventually("the monitor recorded", func() bool { return role(c, on, "web") != "" })
			c.Fail(on, "web")
			c.Eventually("the failure counted", func() bool {
				return member(c, on).Attributes["fail-count-web#monitor_1000"] == "1"
			})
			for i := 0; i < 20; i++ {
				c.Advance(200 * time.Millisecond)
				time.Sleep(5 * time.Millisecond)
			}
			starts := dispatchedOps(c, "/web_start")
			if tt.recovered && starts != 2 {
				t.Errorf("on-fail=%s: web started %d times, want a restart", tt.onFail, starts)
			}
			if !tt.recovered && (starts != 1 || dispatchedOps(c, "/web_stop") != 0) {
				t.Errorf("on-fail=%s: web started %d and stopped %d times, want it left alone", tt.onFail, starts, dispatchedOps(c, "/web_stop"))
			}
		})
	}
}

// A fail count whose failure-timeout has run out is deleted (Pacemaker's
// clear_failcount), with its last-failure time: status stops showing a
// failure that no longer counts. Nothing runs again because of it.
func TestExpiredFailCountIsCleared(t *testing.T) {
	c := newCluster(t)
	c.Update("create web", func(cfg *model.Config) {
		cfg.Resources = append(cfg.Resources, model.Resource{ID: "web", Kind: model.KindPrimitive, Class: "builtin", Type: "dummy",
			Meta: map[string]string{"failure-timeout": "20s"},
			Ops:  []model.Op{{Name: "monitor", Interval: time.Second, Timeout: 20 * time.Second}}})
	})
	c.Eventually("web running", func() bool { return len(c.ActiveOn("web")) == 1 })
	on := c.ActiveOn("web")[0]
	c.Eventually("the monitor recorded", func() bool { return role(c, on, "web") != "" })
	c.Fail(on, "web")
	const key = "web#monitor_1000"
	c.Eventually("the failure counted", func() bool { return member(c, on).Attributes["fail-count-"+key] == "1" })
	failedAt := c.Clock.Now()
	c.Eventually("web recovered", func() bool { return len(c.ActiveOn("web")) == 1 && dispatchedOps(c, "/web_start") == 2 })
	c.Eventually("the expired fail count cleared", func() bool {
		m := member(c, on) // empty while no leader is known
		_, fc := m.Attributes["fail-count-"+key]
		_, lf := m.Attributes["last-failure-"+key]
		return m.Name == on && !fc && !lf
	})
	if held := c.Clock.Now().Sub(failedAt); held < 20*time.Second {
		t.Errorf("the fail count was cleared %v after the failure, before its failure-timeout (20s)", held)
	}
	if n := dispatchedOps(c, "/web_start"); n != 2 {
		t.Errorf("web started %d times, want 2 (the clear restarts nothing)", n)
	}
}
