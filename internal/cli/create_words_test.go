package cli

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/store"
)

// buildIssueCluster creates, with the CLI words of issue 10 alone, the
// issue's configuration on c: a promotable clone db with role monitors, a
// group app of two members colocated with db's promoted role and ordered
// after its promotion, and an anonymous clone api with clone-max=2.
func buildIssueCluster(t *testing.T) {
	t.Helper()
	ok(t, "resource", "create", "db", "builtin:dummy", "--promotable", "notify=true",
		"--op", "monitor", "interval=5s", "role=Master", "--op", "monitor", "interval=2s", "role=Unpromoted")
	ok(t, "resource", "create", "app2", "builtin:dummy", "--group", "app")
	ok(t, "resource", "create", "app0", "builtin:dummy", "--group", "app", "--before", "app2")
	ok(t, "resource", "create", "app1", "builtin:dummy", "--group=app", "--after", "app0")
	// Flags after and before the positional words.
	ok(t, "constraint", "add", "colocation", "app-with-db", "app", "db-clone", "INFINITY", "--with-role", "Promoted")
	ok(t, "constraint", "add", "order", "--first-action", "promote", "app-after-db", "db-clone", "app")
	ok(t, "resource", "create", "api", "builtin:dummy", "--clone", "clone-max=2")
}

func TestCreateWordsBuildGroupsClonesAndRoleConstraints(t *testing.T) {
	c := newTestCluster(t)
	buildIssueCluster(t)
	cfg := c.backend.Config()
	ids := []string{}
	for _, r := range cfg.Resources {
		ids = append(ids, r.ID+"/"+string(r.Kind))
	}
	if got := strings.Join(ids, " "); got != "db-clone/clone app/group api-clone/clone" {
		t.Fatalf("top-level resources %q", got)
	}
	db := cfg.Resources[0]
	if db.Meta["promotable"] != "true" || db.Meta["notify"] != "true" || len(db.Children) != 1 || db.Children[0].ID != "db" {
		t.Errorf("db-clone: %+v", db)
	}
	if ops := db.Children[0].Ops; len(ops) != 2 || ops[0].Role != "Promoted" || ops[0].Interval != 5*time.Second ||
		ops[1].Role != "Unpromoted" || ops[1].Interval != 2*time.Second {
		t.Errorf("db ops (role=Master stored as Promoted): %+v", ops)
	}
	var members []string
	for _, m := range cfg.Resources[1].Children {
		members = append(members, m.ID)
	}
	if got := strings.Join(members, " "); got != "app0 app1 app2" {
		t.Errorf("group app members %q, want app0 app1 app2 (--before, --after)", got)
	}
	api := cfg.Resources[2]
	if api.Meta["clone-max"] != "2" || api.Meta["promotable"] != "" || api.Children[0].ID != "api" {
		t.Errorf("api-clone: %+v", api)
	}
	if len(cfg.Colocations) != 1 || !reflect.DeepEqual(cfg.Colocations[0], model.Colocation{ID: "app-with-db", Resource: "app",
		With: "db-clone", Score: model.Infinity, WithRole: "Promoted"}) {
		t.Errorf("colocations: %+v", cfg.Colocations)
	}
	if len(cfg.Orders) != 1 {
		t.Fatalf("orders: %+v", cfg.Orders)
	}
	if o := cfg.Orders[0]; o.ID != "app-after-db" || o.First != "db-clone" || o.Then != "app" || o.FirstAction != "promote" ||
		o.ThenAction != "start" || o.Kind != "Mandatory" || o.Symmetrical != nil {
		t.Errorf("order: %+v", o)
	}

	// A negative score after the words and a flag after it, Slave as a
	// role, an optional non-symmetrical order with flags after the words.
	ok(t, "constraint", "add", "colocation", "apart", "api-clone", "app", "-INFINITY", "--role", "Slave")
	ok(t, "constraint", "add", "order", "o2", "api-clone", "app", "--then-action", "stop", "--kind", "Optional", "--symmetrical=false")
	cfg = c.backend.Config()
	if co := cfg.Colocations[1]; co.Score != -model.Infinity || co.Role != "Unpromoted" {
		t.Errorf("apart: %+v", co)
	}
	if o := cfg.Orders[1]; o.FirstAction != "start" || o.ThenAction != "stop" || o.Kind != "Optional" || o.Symmetrical == nil || *o.Symmetrical {
		t.Errorf("o2: %+v", o)
	}

	// The promoted role moves with a role-limited cli-prefer constraint;
	// clear removes it.
	ok(t, "resource", "move", "db-clone", "n2", "--promoted")
	cfg = c.backend.Config()
	i := slices.IndexFunc(cfg.Locations, func(l model.Location) bool { return l.ID == "cli-prefer-db-clone" })
	if i < 0 || cfg.Locations[i].Role != "Promoted" || cfg.Locations[i].Node != "n2" || cfg.Locations[i].Score != model.Infinity {
		t.Fatalf("locations after move --promoted: %+v", cfg.Locations)
	}
	fails(t, ExitError, "not a promotable clone", "resource", "move", "api-clone", "n2", "--promoted")
	ok(t, "resource", "clear", "db-clone")
	if cfg = c.backend.Config(); len(cfg.Locations) != 0 {
		t.Errorf("locations after clear: %+v", cfg.Locations)
	}
}

func TestCreateWordsRefuseMistakes(t *testing.T) {
	c := newTestCluster(t)
	buildIssueCluster(t)
	before := c.backend.Config().Epoch
	for _, tc := range []struct {
		code int
		want string
		args []string
	}{
		{ExitUsage, `--op monitor role=Promotd: want Started, Stopped, Promoted or Unpromoted`,
			[]string{"resource", "create", "x", "builtin:dummy", "--op", "monitor", "role=Promotd"}},
		{ExitUsage, `--with-role "Primary": want Started`,
			[]string{"constraint", "add", "colocation", "c9", "app", "db-clone", "INFINITY", "--with-role", "Primary"}},
		{ExitUsage, `--first-action "promot": want start, stop, promote or demote`,
			[]string{"constraint", "add", "order", "o9", "db-clone", "app", "--first-action", "promot"}},
		{ExitError, `unknown resource "nope"`,
			[]string{"constraint", "add", "colocation", "c9", "app", "nope", "INFINITY"}},
		{ExitError, `unknown resource "nope"`,
			[]string{"constraint", "add", "order", "o9", "nope", "app"}},
		{ExitError, `mandatory orders form a cycle: app started -> db-clone promote`,
			[]string{"constraint", "add", "order", "o9", "app", "db-clone", "--then-action", "promote"}},
		{ExitUsage, `--group and --clone/--promotable cannot be combined`,
			[]string{"resource", "create", "x", "builtin:dummy", "--group", "g", "--clone"}},
		{ExitUsage, `--before and --after want --group GROUP`,
			[]string{"resource", "create", "x", "builtin:dummy", "--before", "app0"}},
		{ExitError, `group "app" has no member "nope"`,
			[]string{"resource", "create", "x", "builtin:dummy", "--group", "app", "--after", "nope"}},
		{ExitError, `resource "db-clone" is a clone, not a group`,
			[]string{"resource", "create", "x", "builtin:dummy", "--group", "db-clone"}},
		{ExitError, `resource "api" exists`,
			[]string{"resource", "create", "api", "builtin:dummy", "--clone"}},
		{ExitUsage, `unknown flag --colne`,
			[]string{"resource", "create", "x", "builtin:dummy", "--colne"}},
		{ExitUsage, `unknown flag: --with-rol`,
			[]string{"constraint", "add", "colocation", "c9", "app", "db-clone", "INFINITY", "--with-rol", "Promoted"}},
		{ExitUsage, `--group is a word of 'paceline resource create'`,
			[]string{"resource", "update", "app0", "--group", "g2"}},
	} {
		fails(t, tc.code, tc.want, tc.args...)
	}
	if after := c.backend.Config().Epoch; after != before {
		t.Errorf("refused commands moved the epoch from %d to %d", before, after)
	}
}

// recordOp stores one operation result of a node, as the node runtime
// reports it through the leader.
func recordOp(t *testing.T, c *testCluster, node, rsc, op string, call, rc, target int, intervalMS int64) {
	t.Helper()
	r := store.OpResult{Node: node,
		Resource: model.ResourceHistory{ID: rsc, Class: "builtin", Type: "dummy"},
		Op: model.OpRecord{Operation: op, CallID: call, RC: rc, TargetRC: target, Interval: intervalMS,
			LastRun: time.Now().Unix(), OnNode: node}}
	if rc != target {
		r.FailCountAdd = 1
		r.Op.ExitReason = "state file vanished"
	}
	res, err := c.backend.Propose(context.Background(), store.NewOpResult(r))
	if err != nil || res.Err != nil {
		t.Fatalf("record %s %s on %s: %v %v", rsc, op, node, err, res.Err)
	}
}

func TestStatusJSONInstancesAndParents(t *testing.T) {
	c := newTestCluster(t)
	for _, cmd := range []store.Command{
		store.NewNodeJoin("n3", store.RoleServer, "127.0.0.1:7103"),
		store.NewNodeState("n2", store.StateOnline, store.Lease{}),
		store.NewNodeState("n3", store.StateOnline, store.Lease{}),
	} {
		if res, _ := c.backend.Propose(context.Background(), cmd); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	buildIssueCluster(t)
	ok(t, "resource", "create", "web", "builtin:dummy")
	ok(t, "resource", "create", "vip", "builtin:vip", "ip=192.0.2.10")
	if res, _ := c.backend.Propose(context.Background(), store.NewNodeAttrSet("n1", map[string]string{"pingd": "1000"})); res.Err != nil {
		t.Fatal(res.Err)
	}
	// db: promoted on n1, unpromoted on n2 (history under the base id, as
	// Pacemaker keeps an anonymous clone's) and on n3 (under an instance
	// id, as older stores did).
	recordOp(t, c, "n1", "db", "start", 1, 0, 0, 0)
	recordOp(t, c, "n1", "db", "promote", 2, 0, 0, 0)
	recordOp(t, c, "n2", "db", "start", 1, 0, 0, 0)
	recordOp(t, c, "n3", "db:2", "start", 1, 0, 0, 0)
	for i, m := range []string{"app0", "app1", "app2"} {
		recordOp(t, c, "n1", m, "start", 3+i, 0, 0, 0)
	}
	// api on n1 and n2; its monitor on n2 failed (rc 1: still active,
	// to be recovered).
	recordOp(t, c, "n1", "api", "start", 6, 0, 0, 0)
	recordOp(t, c, "n2", "api", "start", 6, 0, 0, 0)
	recordOp(t, c, "n2", "api", "monitor", 7, 1, 0, 10000)

	var raw struct {
		Resources []map[string]json.RawMessage `json:"resources"`
	}
	if err := json.Unmarshal([]byte(ok(t, "status", "--json")), &raw); err != nil {
		t.Fatal(err)
	}
	for _, r := range raw.Resources {
		for _, k := range []string{"id", "agent", "role", "nodes", "instances"} {
			if _, ok := r[k]; !ok {
				t.Errorf("resource %s has no %q", r["id"], k)
			}
		}
	}
	st := statusJSON(t)
	byID := map[string]api.ResourceStatus{}
	for _, r := range st.Resources {
		byID[r.ID] = r
	}
	inst := func(r api.ResourceStatus) string {
		var s []string
		for _, i := range r.Instances {
			s = append(s, i.Node+"="+i.Role)
		}
		return strings.Join(s, " ")
	}
	for _, tc := range []struct {
		id, parent, role, nodes, instances string
	}{
		{"db", "db-clone", "Promoted", "n1 n2 n3", "n1=Promoted n2=Unpromoted n3=Unpromoted"},
		{"app0", "app", "Started", "n1", "n1=Started"},
		{"app2", "app", "Started", "n1", "n1=Started"},
		{"api", "api-clone", "Started", "n1 n2", "n1=Started n2=Failed"},
		{"web", "", "Stopped", "", ""},
		{"vip", "", "Stopped", "", ""},
	} {
		r, found := byID[tc.id]
		if !found {
			t.Errorf("status has no %s: %+v", tc.id, st.Resources)
			continue
		}
		if r.Parent != tc.parent || r.Role != tc.role || strings.Join(r.Nodes, " ") != tc.nodes || inst(r) != tc.instances {
			t.Errorf("%s: parent %q role %s nodes %v instances %q; want %q %s %s %q",
				tc.id, r.Parent, r.Role, r.Nodes, inst(r), tc.parent, tc.role, tc.nodes, tc.instances)
		}
	}
}

func TestStatusScreenLikeCrmMon(t *testing.T) {
	c := newTestCluster(t)
	for _, cmd := range []store.Command{
		store.NewNodeJoin("n3", store.RoleServer, "127.0.0.1:7103"),
		store.NewNodeState("n2", store.StateOnline, store.Lease{}),
		store.NewNodeState("n3", store.StateOnline, store.Lease{}),
		store.NewNodeAttrSet("n1", map[string]string{"pingd": "1000"}),
	} {
		if res, _ := c.backend.Propose(context.Background(), cmd); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	buildIssueCluster(t)
	ok(t, "resource", "create", "vip", "builtin:vip", "ip=192.0.2.10")
	recordOp(t, c, "n1", "vip", "start", 1, 0, 0, 0)
	recordOp(t, c, "n1", "db", "start", 1, 0, 0, 0)
	recordOp(t, c, "n1", "db", "promote", 2, 0, 0, 0)
	recordOp(t, c, "n2", "db", "start", 1, 0, 0, 0)
	recordOp(t, c, "n3", "db", "start", 1, 0, 0, 0)
	for i, m := range []string{"app0", "app1", "app2"} {
		recordOp(t, c, "n1", m, "start", 3+i, 0, 0, 0)
	}
	recordOp(t, c, "n1", "api", "start", 6, 0, 0, 0)
	recordOp(t, c, "n2", "api", "start", 6, 0, 0, 0)
	recordOp(t, c, "n2", "api", "monitor", 7, 1, 0, 10000)

	out := ok(t, "status", "--failcounts", "--attributes")
	for _, want := range []string{
		"Cluster Summary:", "Last change: ", "(admin): POST /v1/resources",
		"* vip\t(builtin:vip):\t Started n1 [192.0.2.10]",
		"* Clone Set: db-clone [db] (promotable):\n    * Promoted: [ n1 ]\n    * Unpromoted: [ n2 n3 ]\n",
		"* Resource Group: app:\n    * app0\t(builtin:dummy):\t Started n1\n    * app1\t(builtin:dummy):\t Started n1\n    * app2",
		"* Clone Set: api-clone [api]:\n    * Started: [ n1 ]\n    * api\t(builtin:dummy):\t FAILED n2\n    * Stopped: [ n3 ]\n",
		"Failed Resource Actions:\n  * api_monitor_10000 on n2 'error' (1): call=7, status='complete', exitreason='state file vanished', last-rc-change=",
		"Node Attributes:\n  * Node: n1:\n    * pingd", ": 1000\n",
		"Migration Summary:\n  * Node: n2:\n    * api: fail-count=1 (monitor every 10s) last-failure=",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status does not show %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colours on a pipe:\n%q", out)
	}
	st := statusJSON(t)
	if len(st.FailedActions) != 1 || st.FailedActions[0] != (api.FailedAction{Resource: "api", Operation: "monitor", Interval: 10000,
		Node: "n2", ExitCode: 1, ExitReason: "state file vanished", Status: "complete", CallID: 7, At: st.FailedActions[0].At}) ||
		st.FailedActions[0].At.IsZero() {
		t.Errorf("failed_actions: %+v", st.FailedActions)
	}
	if st.Nodes[0].Attributes["pingd"] != "1000" || st.Nodes[1].Attributes["fail-count-api#monitor_10000"] != "1" {
		t.Errorf("node attributes: %+v", st.Nodes)
	}
	if st.LastChange == nil || st.LastChange.Role != "admin" || st.LastChange.Action != "POST /v1/resources" {
		t.Errorf("last_change: %+v", st.LastChange)
	}
	// A node attribute (an agent's promotion score, standby) is not a
	// configuration change.
	ok(t, "node", "standby", "n3")
	if st := statusJSON(t); st.LastChange == nil || st.LastChange.Action != "POST /v1/resources" {
		t.Errorf("last_change after a node attribute: %+v", st.LastChange)
	}
	// A cleanup forgets the failure: no failed action, no fail count.
	ok(t, "resource", "cleanup", "api")
	if st := statusJSON(t); len(st.FailedActions) != 0 {
		t.Errorf("failed_actions after cleanup: %+v", st.FailedActions)
	}
}

func TestDeleteNestedResources(t *testing.T) {
	c := newTestCluster(t)
	buildIssueCluster(t)
	ok(t, "constraint", "add", "location", "app1-pref", "app1", "n1", "100")
	ok(t, "resource", "delete", "app1") // a member: the group stays
	cfg := c.backend.Config()
	if g := model.FindResource(cfg.Resources, "app"); g == nil || len(g.Children) != 2 || len(cfg.Locations) != 0 {
		t.Errorf("after deleting app1: %+v, locations %+v", g, cfg.Locations)
	}
	ok(t, "resource", "delete", "db") // a clone's child: the clone goes, and the constraints naming it
	cfg = c.backend.Config()
	if model.FindResource(cfg.Resources, "db-clone") != nil || len(cfg.Colocations) != 0 || len(cfg.Orders) != 0 {
		t.Errorf("after deleting db: %+v %+v %+v", cfg.Resources, cfg.Colocations, cfg.Orders)
	}
	ok(t, "resource", "delete", "app0")
	ok(t, "resource", "delete", "app2") // the last member: the group goes
	ok(t, "resource", "delete", "api-clone")
	if rs := c.backend.Config().Resources; len(rs) != 0 {
		t.Errorf("left: %+v", rs)
	}
	fails(t, ExitError, "resource 'app' not found", "resource", "delete", "app")
}
