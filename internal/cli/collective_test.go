package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/sched"
	"github.com/paceline/paceline/internal/store"
)

// Issue 11 part 3 (its collective words): clone, promotable, unclone,
// group add and remove, defaults, manage and unmanage.
func TestCloneGroupDefaultsWords(t *testing.T) {
	c := newTestCluster(t)
	ok(t, "resource", "create", "web", "builtin:dummy")
	ok(t, "resource", "create", "db", "builtin:dummy")
	ok(t, "constraint", "add", "location", "db-pref", "db", "n1", "100")
	ok(t, "resource", "promotable", "db", "promoted-max=1")
	cfg := c.backend.Config()
	if r := cfg.Resources[1]; r.ID != "db-clone" || r.Meta["promotable"] != "true" || r.Meta["promoted-max"] != "1" || r.Children[0].ID != "db" {
		t.Fatalf("after promotable: %+v", r)
	}
	ok(t, "constraint", "add", "colocation", "web-with-db", "web", "db-clone", "INFINITY", "--with-role", "Promoted")
	ok(t, "resource", "unclone", "db")
	cfg = c.backend.Config()
	if cfg.Resources[1].ID != "db" || cfg.Colocations[0].With != "db" || cfg.Locations[0].Resource != "db" {
		t.Errorf("after unclone: %+v %+v", cfg.Resources, cfg.Colocations)
	}

	ok(t, "resource", "group", "add", "g", "web", "db")
	ok(t, "resource", "create", "x", "builtin:dummy")
	ok(t, "resource", "group", "add", "g", "x", "--before", "db")
	members := func() string {
		g := model.FindResource(c.backend.Config().Resources, "g")
		if g == nil {
			return "(no group)"
		}
		var ids []string
		for _, m := range g.Children {
			ids = append(ids, m.ID)
		}
		return strings.Join(ids, " ")
	}
	if got := members(); got != "web x db" {
		t.Errorf("group g: %q, want web x db", got)
	}
	ok(t, "resource", "clone", "g", "interleave=true")
	if r := c.backend.Config().Resources[0]; r.ID != "g-clone" || r.Meta["interleave"] != "true" || r.Children[0].ID != "g" {
		t.Errorf("cloned group: %+v", r)
	}
	fails(t, ExitError, "resource 'x' is in group 'g': only top-level primitives and groups can be cloned", "resource", "clone", "x")
	ok(t, "resource", "unclone", "g-clone")
	ok(t, "resource", "group", "remove", "g", "x")
	if got := members(); got != "web db" {
		t.Errorf("group g after removing x: %q", got)
	}
	ok(t, "resource", "group", "remove", "g")
	cfg = c.backend.Config()
	var top []string
	for _, r := range cfg.Resources {
		top = append(top, r.ID+"/"+string(r.Kind))
	}
	if got := strings.Join(top, " "); got != "web/primitive db/primitive x/primitive" {
		t.Errorf("after ungrouping: %q", got)
	}

	ok(t, "resource", "defaults", "set", "resource-stickiness=100", "migration-threshold=3")
	ok(t, "resource", "op", "defaults", "set", "timeout=60s")
	ok(t, "resource", "defaults", "set", "migration-threshold=")
	cfg = c.backend.Config()
	if len(cfg.RscDefaults) != 1 || cfg.RscDefaults["resource-stickiness"] != "100" || cfg.OpDefaults["timeout"] != "60s" {
		t.Errorf("defaults: %v %v", cfg.RscDefaults, cfg.OpDefaults)
	}
	if out := ok(t, "resource", "defaults"); out != "resource-stickiness=100\n" {
		t.Errorf("resource defaults printed %q", out)
	}
	t.Setenv(api.EnvToken, c.operator) // operators may (un)manage
	ok(t, "resource", "unmanage", "db")
	if r := model.FindResource(c.backend.Config().Resources, "db"); r.Meta["is-managed"] != "false" {
		t.Errorf("after unmanage: %+v", r.Meta)
	}
	ok(t, "resource", "manage", "db")
	if r := model.FindResource(c.backend.Config().Resources, "db"); r.Meta["is-managed"] != "true" {
		t.Errorf("after manage: %+v", r.Meta)
	}
}

func TestListShowConstraintListNodeAttribute(t *testing.T) {
	c := newTestCluster(t)
	buildIssueCluster(t)
	ok(t, "constraint", "add", "location", "api-not-n2", "api-clone", "n2", "-INFINITY")
	out := ok(t, "resource", "list")
	for _, want := range []string{"db-clone   clone (promotable)  -\n  db       primitive           builtin:dummy\n", "app        group", "  app0", "api-clone"} {
		if !strings.Contains(out, want) {
			t.Errorf("resource list lacks %q:\n%s", want, out)
		}
	}
	out = ok(t, "constraint", "list")
	for _, want := range []string{
		"location api-not-n2: api-clone on n2 (score:-INFINITY)",
		"colocation app-with-db: app with db-clone (score:INFINITY) with-rsc-role:Promoted",
		"order app-after-db: promote db-clone then start app (kind:Mandatory)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("constraint list lacks %q:\n%s", want, out)
		}
	}
	recordOp(t, c, "n1", "app1", "start", 1, 0, 0, 0)
	out = ok(t, "resource", "show", "app1")
	for _, want := range []string{"Definition:", "id: app1", "Constraints:", "app-with-db", "app-after-db", "Running:", "app1: n1 (Started)", "Failed actions:\n  none"} {
		if !strings.Contains(out, want) {
			t.Errorf("resource show app1 lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "api-not-n2") {
		t.Errorf("resource show app1 shows another resource's constraint:\n%s", out)
	}
	fails(t, ExitError, "resource 'nope' not found", "resource", "show", "nope")

	t.Setenv(api.EnvToken, c.operator)
	ok(t, "node", "attribute", "n1", "site=berlin", "rack=4")
	ok(t, "node", "attribute", "n1", "--delete", "rack")
	if out := ok(t, "node", "attribute", "n1"); out != "site=berlin\n" {
		t.Errorf("node attribute n1: %q", out)
	}
	fails(t, ExitError, "node 'n9' not found", "node", "attribute", "n9")
}

func TestUtilizationAndRestart(t *testing.T) {
	c := newTestCluster(t)
	ok(t, "resource", "create", "web", "builtin:dummy", "--meta", "resource-stickiness=10")
	ok(t, "resource", "utilization", "web", "cpu=2", "memory=512")
	ok(t, "resource", "utilization", "web", "memory=")
	if out := ok(t, "resource", "utilization", "web"); out != "cpu=2\n" {
		t.Errorf("resource utilization: %q", out)
	}
	ok(t, "node", "utilization", "n1", "cpu=8")
	if u := c.backend.Config().Nodes[0].Utilization; u["cpu"] != "8" {
		t.Errorf("node utilization: %v", u)
	}
	fails(t, ExitError, "node 'n7' not found", "node", "utilization", "n7", "cpu=1")

	// A node that acts as the controller would: web runs on n1, stops
	// when its target-role is Stopped and starts when it is not.
	recordOp(t, c, "n1", "web", "start", 1, 0, 0, 0)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		call, running := 2, true
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			r := model.FindResource(c.backend.Config().Resources, "web")
			want := r.Meta["target-role"] != "Stopped"
			if want == running {
				continue
			}
			op := "stop"
			if want {
				op = "start"
			} else {
				close(stopped)
			}
			c.backend.Propose(context.Background(), store.NewOpResult(store.OpResult{Node: "n1",
				Resource: model.ResourceHistory{ID: "web", Class: "builtin", Type: "dummy"},
				Op:       model.OpRecord{Operation: op, CallID: call, OnNode: "n1"}}))
			call++
			running = want
		}
	}()
	ok(t, "resource", "restart", "web")
	select {
	case <-stopped:
	default:
		t.Errorf("restart returned without web having stopped")
	}
	if r := model.FindResource(c.backend.Config().Resources, "web"); r.Meta["target-role"] != "" || r.Meta["resource-stickiness"] != "10" {
		t.Errorf("meta after restart: %v", r.Meta)
	}
	// Without anything stopping it, restart gives up and puts the
	// target-role back.
	close(done)
	time.Sleep(50 * time.Millisecond) // the fake node's last round
	recordOp(t, c, "n1", "web", "start", 99, 0, 0, 0)
	fails(t, ExitError, "restart resource 'web': still active after 500ms; its target-role is back as it was",
		"resource", "restart", "web", "--wait", "500ms")
	if r := model.FindResource(c.backend.Config().Resources, "web"); r.Meta["target-role"] != "" {
		t.Errorf("meta after a failed restart: %v", r.Meta)
	}
}

func TestLocationRule(t *testing.T) {
	c := newTestCluster(t)
	ok(t, "resource", "create", "vip", "builtin:dummy")
	ok(t, "constraint", "add", "location", "vip-ping", "vip", "--rule", "pingd lt 1 or not_defined pingd", "-INFINITY")
	ok(t, "constraint", "add", "location", "--role", "Master", "vip-n1", "vip", "--rule", "#uname eq n1", "100")
	locs := c.backend.Config().Locations
	if len(locs) != 2 || len(locs[0].Rules) != 1 || locs[0].Rules[0].BooleanOp != "or" || locs[0].Rules[0].Score != -model.Infinity ||
		!locs[0].Rules[0].HasScore || len(locs[0].Rules[0].Expressions) != 2 || locs[0].Node != "" {
		t.Fatalf("rule location: %+v", locs)
	}
	if l := locs[1]; l.Role != "Promoted" || l.Rules[0].Expressions[0] != (model.Expr{Attribute: "#uname", Operation: "eq", Value: "n1"}) {
		t.Errorf("role rule location: %+v", l)
	}
	if out := ok(t, "constraint", "list"); !strings.Contains(out, "location vip-ping: vip by rule 'pingd lt 1 or not_defined pingd' (score:-INFINITY)\n") ||
		!strings.Contains(out, "location vip-n1: vip by rule '#uname eq n1' (score:100) role:Promoted\n") {
		t.Errorf("constraint list:\n%s", out)
	}
	fails(t, ExitUsage, `--rule "pingd lq 1": bad rule: "lq" after pingd`, "constraint", "add", "location", "x", "vip", "--rule", "pingd lq 1", "100")
	fails(t, ExitUsage, "--rule wants ID RSC SCORE, got 4", "constraint", "add", "location", "x", "vip", "n1", "--rule", "a eq 1", "100")
}

// The rule "pingd lt 1 or not_defined pingd" with -INFINITY, made by the
// CLI, keeps the scheduler off the nodes without connectivity.
func TestLocationRulePlacesAsThePlacementEngineReadsIt(t *testing.T) {
	c := newTestCluster(t)
	ok(t, "resource", "create", "vip", "builtin:dummy")
	ok(t, "constraint", "add", "location", "vip-ping", "vip", "--rule", "pingd lt 1 or not_defined pingd", "-INFINITY")
	cfg := c.backend.Config()
	cfg.Properties = map[string]string{"stonith-enabled": "false"}
	online := func(name string, attrs map[string]string) model.NodeStatus {
		return model.NodeStatus{Name: name, InCluster: "true", Peer: "online", Join: "member", Expected: "member", Attributes: attrs}
	}
	for _, tc := range []struct {
		n1, n2 map[string]string
		want   string
	}{
		{map[string]string{"pingd": "0"}, map[string]string{"pingd": "1000"}, "n2"},
		{map[string]string{"pingd": "1000"}, nil, "n1"},
	} {
		st := &model.Status{HaveQuorum: true, Nodes: []model.NodeStatus{online("n1", tc.n1), online("n2", tc.n2)}}
		res, err := sched.Schedule(sched.Input{Config: cfg, Status: st, Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range res.Actions {
			if a.Task == "start" && a.Resource == "vip" {
				got = append(got, a.Node)
			}
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("pingd n1=%v n2=%v: vip starts on %v, want %s", tc.n1, tc.n2, got, tc.want)
		}
	}
}
