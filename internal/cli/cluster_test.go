package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/httpapi"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/pki/pkitest"
	"github.com/paceline/paceline/internal/store"
)

// testCluster is a real API server (httpapi over a MemBackend: one node
// "n1" online, "n2" offline) on httptest TLS with real tokens; the
// environment points the CLI at it with the admin token.
type testCluster struct {
	backend                 *httpapi.MemBackend
	store                   *store.Store // behind backend: tests may tamper with it
	url                     string
	admin, operator, viewer string
	caFingerprint           string
}

func newTestCluster(t *testing.T) *testCluster {
	t.Helper()
	return newTestClusterAgents(t, nil)
}

// newTestClusterAgents is newTestCluster whose node has the agent
// catalogue cat (nil: none).
func newTestClusterAgents(t *testing.T, cat httpapi.AgentCatalog) *testCluster {
	t.Helper()
	now := time.Now()
	ca, cert := pkitest.Node(t, "n1")
	admin, adminRec, _ := pki.NewToken(pki.RoleAdmin, now, 0)
	operator, operatorRec, _ := pki.NewToken(pki.RoleOperator, now, 0)
	viewer, viewerRec, _ := pki.NewToken(pki.RoleViewer, now, 0)
	st := store.New()
	for _, c := range []store.Command{
		store.NewNodeJoin("n1", store.RoleServer, "127.0.0.1:7101"),
		store.NewNodeJoin("n2", store.RoleServer, "127.0.0.1:7102"),
		store.NewNodeState("n1", store.StateOnline, store.Lease{}),
	} {
		if r := st.Apply(c); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	// Two servers without fence devices would be a gated two-node cluster
	// (docs/two-node.md; TestTwoNodeGateOneLine turns this back on).
	cfg := st.Config()
	cfg.Properties = map[string]string{"stonith-enabled": "false"}
	if r := st.Apply(store.NewConfigPut(cfg.Epoch, *cfg, store.Change{Message: "test fixture"})); r.Err != nil {
		t.Fatal(r.Err)
	}
	b := httpapi.NewMemBackend(st, "n1")
	srv := httpapi.New(httpapi.Config{
		Backend: b,
		Tokens:  pki.NewTokenSet(adminRec, operatorRec, viewerRec),
		Join:    pki.NewJoinTokens(ca.Fingerprint()),
		Agents:  cat,
	})
	ts := httptest.NewUnstartedServer(srv)
	ts.TLS = pki.APIServerTLS(ca, cert)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	t.Cleanup(ts.Close)

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(api.EnvAddr, ts.URL)
	t.Setenv(api.EnvToken, admin)
	t.Setenv(api.EnvTokenFile, "")
	t.Setenv(api.EnvCACert, caFile)
	return &testCluster{backend: b, store: st, url: ts.URL, admin: admin, operator: operator, viewer: viewer,
		caFingerprint: ca.Fingerprint()}
}

// ok runs a command that must succeed and returns its stdout.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := run(t, args...)
	if code != ExitOK || errs != "" {
		t.Fatalf("paceline %s: exit %d, stderr %q", strings.Join(args, " "), code, errs)
	}
	return out
}

// fails runs a command that must fail with code and one error line
// containing want, and returns that line.
func fails(t *testing.T, code int, want string, args ...string) string {
	t.Helper()
	got, out, errs := run(t, args...)
	if got != code {
		t.Errorf("paceline %s: exit %d, want %d (stderr %q)", strings.Join(args, " "), got, code, errs)
	}
	if out != "" {
		t.Errorf("paceline %s: printed %q on stdout", strings.Join(args, " "), out)
	}
	checkOneLineError(t, errs)
	if !strings.Contains(errs, want) {
		t.Errorf("paceline %s: stderr %q, want it to contain %q", strings.Join(args, " "), errs, want)
	}
	return errs
}

func statusJSON(t *testing.T) api.Status {
	t.Helper()
	var st api.Status
	if err := json.Unmarshal([]byte(ok(t, "status", "--json")), &st); err != nil {
		t.Fatalf("status --json: %v", err)
	}
	return st
}

func TestResourceCreateWithOpExactly(t *testing.T) {
	c := newTestCluster(t)
	out := ok(t, "resource", "create", "web", "builtin:dummy", "--op", "monitor", "interval=1s")
	if !strings.Contains(out, "web") {
		t.Errorf("create printed %q", out)
	}
	ok(t, "resource", "create", "vip", "ocf:heartbeat:IPaddr2", "ip=10.0.0.10", "cidr_netmask=24",
		"--meta", "resource-stickiness=100", "--op", "monitor", "interval=5s", "timeout=20s", "--op", "start", "timeout=30")
	cfg := c.backend.Config()
	if len(cfg.Resources) != 2 {
		t.Fatalf("resources: %+v", cfg.Resources)
	}
	web := cfg.Resources[0]
	if web.ID != "web" || web.Agent() != "builtin:dummy" || len(web.Ops) != 1 || web.Ops[0].Name != "monitor" || web.Ops[0].Interval != time.Second {
		t.Errorf("web: %+v", web)
	}
	vip := cfg.Resources[1]
	wantParams := []model.NV{{Name: "ip", Value: "10.0.0.10"}, {Name: "cidr_netmask", Value: "24"}}
	if vip.Agent() != "ocf:heartbeat:IPaddr2" || !equalJSONValues(vip.Params, wantParams) || vip.Meta["resource-stickiness"] != "100" {
		t.Errorf("vip: %+v", vip)
	}
	if len(vip.Ops) != 2 || vip.Ops[0].Interval != 5*time.Second || vip.Ops[0].Timeout != 20*time.Second ||
		vip.Ops[1].Name != "start" || vip.Ops[1].Timeout != 30*time.Second {
		t.Errorf("vip ops: %+v", vip.Ops)
	}
	fails(t, ExitError, "conflict", "resource", "create", "web", "builtin:dummy")
}

func TestResourceCreateBadWordsAreUsageErrors(t *testing.T) {
	c := newTestCluster(t)
	for _, args := range [][]string{
		{"resource", "create", "web", "builtin:dummy", "novalue"},
		{"resource", "create", "web", "builtin:dummy", "=x"},
		{"resource", "create", "web", "builtin:dummy", "--op"},
		{"resource", "create", "web", "builtin:dummy", "--op", "interval=1s"},
		{"resource", "create", "web", "builtin:dummy", "--op", "monitor", "interval=soon"},
		{"resource", "create", "web", "builtin:dummy", "--color", "x=y"},
		{"resource", "create", "web"},
		{"resource", "create", "web", "dummy"},
		{"resource", "update", "web", "oops"},
	} {
		fails(t, ExitUsage, "", args...)
	}
	if rs := c.backend.Config().Resources; len(rs) != 0 {
		t.Errorf("a refused command created %+v", rs)
	}
	code, out, _ := run(t, "resource", "create", "--help")
	if code != ExitOK || !strings.Contains(out, "--op monitor interval=1s") {
		t.Errorf("resource create --help: %d %q", code, out)
	}
}

func TestStatusJSONAndHuman(t *testing.T) {
	c := newTestCluster(t)
	ok(t, "resource", "create", "web", "builtin:dummy")
	if res, _ := c.backend.Propose(context.Background(), store.NewOpResult(store.OpResult{Node: "n1",
		Resource: model.ResourceHistory{ID: "web", Class: "builtin", Type: "dummy"},
		Op:       model.OpRecord{Operation: "start", CallID: 3}})); res.Err != nil {
		t.Fatal(res.Err)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(ok(t, "status", "--json")), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"leader", "quorum", "nodes", "resources"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("status --json has no %q: %v", k, raw)
		}
	}
	st := statusJSON(t)
	if st.Leader != "n1" || !st.Quorum || len(st.Nodes) != 2 || len(st.Resources) != 1 {
		t.Fatalf("status: %+v", st)
	}
	if r := st.Resources[0]; r.ID != "web" || r.Agent != "builtin:dummy" || r.Role != "Started" || len(r.Nodes) != 1 || r.Nodes[0] != "n1" {
		t.Errorf("web: %+v", r)
	}
	out := ok(t, "status")
	for _, want := range []string{"Leader: n1", "Quorum: yes", "n1", "online", "n2", "OFFLINE", "web", "builtin:dummy", "Started"} {
		if !strings.Contains(out, want) {
			t.Errorf("status does not show %q:\n%s", want, out)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestStatusWatchPrintsEveryChange(t *testing.T) {
	newTestCluster(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int)
	go func() { done <- mainContext(ctx, []string{"status", "--watch", "--json"}, &out, &errb) }()
	waitFor := func(n int) []string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); out.String() != "" && len(lines) >= n {
				return lines
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("status --watch printed %q, want %d lines", out.String(), n)
		return nil
	}
	waitFor(1)
	ok(t, "resource", "create", "web", "builtin:dummy")
	lines := waitFor(2)
	var st api.Status
	if err := json.Unmarshal([]byte(lines[1]), &st); err != nil || len(st.Resources) != 1 || st.Resources[0].ID != "web" {
		t.Errorf("second status: %q %v", lines[1], err)
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK || errb.String() != "" {
			t.Errorf("interrupted watch: exit %d, stderr %q", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("status --watch did not stop when interrupted")
	}
}

func TestResourceUpdateEnableDisableDelete(t *testing.T) {
	c := newTestCluster(t)
	ok(t, "resource", "create", "web", "builtin:dummy", "state=/tmp/a", "--op", "monitor", "interval=1s")
	ok(t, "resource", "update", "web", "state=/tmp/b", "--meta", "resource-stickiness=50", "--op", "monitor", "interval=2s")
	r := c.backend.Config().Resources[0]
	if r.Params[0].Value != "/tmp/b" || r.Meta["resource-stickiness"] != "50" || len(r.Ops) != 1 || r.Ops[0].Interval != 2*time.Second {
		t.Errorf("after update: %+v", r)
	}
	ok(t, "resource", "disable", "web")
	if got := c.backend.Config().Resources[0].Meta["target-role"]; got != "Stopped" {
		t.Errorf("after disable: target-role %q", got)
	}
	ok(t, "resource", "enable", "web")
	if got := c.backend.Config().Resources[0].Meta["target-role"]; got != "Started" {
		t.Errorf("after enable: target-role %q", got)
	}
	ok(t, "resource", "delete", "web")
	if rs := c.backend.Config().Resources; len(rs) != 0 {
		t.Errorf("after delete: %+v", rs)
	}
}

func TestUnknownResourceIsOneClearLine(t *testing.T) {
	newTestCluster(t)
	for _, args := range [][]string{
		{"resource", "delete", "web"},
		{"resource", "update", "web", "a=b"},
		{"resource", "enable", "web"},
		{"resource", "disable", "web"},
		{"resource", "move", "web", "n1"},
		{"resource", "ban", "web", "n1"},
		{"resource", "clear", "web"},
		{"resource", "cleanup", "web"},
	} {
		errs := fails(t, ExitError, "resource 'web' not found", args...)
		if errs != "paceline: resource 'web' not found\n" {
			t.Errorf("paceline %s: %q", strings.Join(args, " "), errs)
		}
	}
	fails(t, ExitError, "constraint 'nope' not found", "constraint", "remove", "nope")
	fails(t, ExitError, "node 'n9' not found", "node", "standby", "n9")
	ok(t, "resource", "create", "web", "builtin:dummy")
	fails(t, ExitError, "node 'n9' not found", "resource", "move", "web", "n9")
	fails(t, ExitError, "node 'n9' not found", "resource", "ban", "web", "n9")
	fails(t, ExitError, "property 'nope' is not set", "property", "get", "nope")
}

func TestMoveBanClear(t *testing.T) {
	c := newTestCluster(t)
	ok(t, "resource", "create", "web", "builtin:dummy")
	ok(t, "resource", "move", "web", "n1")
	ok(t, "resource", "move", "web", "n2") // replaces the first move
	ok(t, "resource", "ban", "web", "n1")
	locs := map[string]model.Location{}
	for _, l := range c.backend.Config().Locations {
		locs[l.ID] = l
	}
	if l := locs["cli-prefer-web"]; len(locs) != 2 || l.Node != "n2" || l.Score != model.Infinity || l.Resource != "web" {
		t.Errorf("after move: %+v", locs)
	}
	if l := locs["cli-ban-web-on-n1"]; l.Node != "n1" || l.Score != -model.Infinity {
		t.Errorf("after ban: %+v", locs)
	}
	ok(t, "constraint", "add", "location", "mine", "web", "n1", "50")
	ok(t, "resource", "clear", "web")
	if ls := c.backend.Config().Locations; len(ls) != 1 || ls[0].ID != "mine" {
		t.Errorf("clear should leave only the user's constraint: %+v", ls)
	}
}

func TestConstraintAddRemove(t *testing.T) {
	c := newTestCluster(t)
	ok(t, "resource", "create", "web", "builtin:dummy")
	ok(t, "resource", "create", "db", "builtin:dummy")
	ok(t, "constraint", "add", "location", "web-not-n2", "web", "n2", "-INFINITY")
	ok(t, "constraint", "add", "colocation", "web-with-db", "web", "db", "INFINITY")
	ok(t, "constraint", "add", "order", "db-then-web", "db", "web", "--kind", "Optional")
	cfg := c.backend.Config()
	if len(cfg.Locations) != 1 || cfg.Locations[0].Score != -model.Infinity || cfg.Locations[0].Node != "n2" {
		t.Errorf("locations: %+v", cfg.Locations)
	}
	if len(cfg.Colocations) != 1 || cfg.Colocations[0].With != "db" || cfg.Colocations[0].Score != model.Infinity {
		t.Errorf("colocations: %+v", cfg.Colocations)
	}
	if len(cfg.Orders) != 1 || cfg.Orders[0].First != "db" || cfg.Orders[0].Then != "web" || cfg.Orders[0].Kind != "Optional" {
		t.Errorf("orders: %+v", cfg.Orders)
	}
	fails(t, ExitUsage, "bad score", "constraint", "add", "location", "x", "web", "n1", "lots")
	fails(t, ExitUsage, "--kind", "constraint", "add", "order", "x", "db", "web", "--kind", "Sometimes")
	fails(t, ExitError, "conflict", "constraint", "add", "location", "web-not-n2", "web", "n1", "10")
	fails(t, ExitError, "add constraint 'x'", "constraint", "add", "location", "x", "nope", "n1", "10")
	for _, id := range []string{"web-not-n2", "web-with-db", "db-then-web"} {
		ok(t, "constraint", "remove", id)
	}
	cfg = c.backend.Config()
	if len(cfg.Locations)+len(cfg.Colocations)+len(cfg.Orders) != 0 {
		t.Errorf("after remove: %+v", cfg)
	}
}

func TestNodeStandbyMaintenance(t *testing.T) {
	c := newTestCluster(t)
	state := func() string {
		for _, n := range statusJSON(t).Nodes {
			if n.Name == "n1" {
				return n.State
			}
		}
		return ""
	}
	ok(t, "node", "standby", "n1")
	if s := state(); s != "standby" {
		t.Errorf("after standby: %s", s)
	}
	ok(t, "node", "unstandby", "n1")
	if s := state(); s != "online" {
		t.Errorf("after unstandby: %s", s)
	}
	t.Setenv(api.EnvToken, c.operator) // operational: an operator may
	ok(t, "node", "maintenance", "n1")
	if s := state(); s != "maintenance" {
		t.Errorf("after maintenance: %s", s)
	}
	ok(t, "node", "unmaintenance", "n1")
	if s := state(); s != "online" {
		t.Errorf("after unmaintenance: %s", s)
	}
	t.Setenv(api.EnvToken, c.viewer)
	fails(t, ExitError, "permission denied", "node", "standby", "n1")
}

func TestResourceCleanup(t *testing.T) {
	c := newTestCluster(t)
	ok(t, "resource", "create", "web", "builtin:dummy")
	if res, _ := c.backend.Propose(context.Background(), store.NewOpResult(store.OpResult{Node: "n1",
		Resource: model.ResourceHistory{ID: "web", Class: "builtin", Type: "dummy"},
		Op:       model.OpRecord{Operation: "start", CallID: 3, RC: 1}, FailCountAdd: 1})); res.Err != nil {
		t.Fatal(res.Err)
	}
	if st := statusJSON(t); st.Resources[0].Role != "Failed" {
		t.Fatalf("before cleanup: %+v", st.Resources)
	}
	t.Setenv(api.EnvToken, c.operator)
	out := ok(t, "resource", "cleanup", "web")
	if !strings.Contains(out, "cleaned up") {
		t.Errorf("cleanup printed %q", out)
	}
	for _, m := range c.backend.Members() {
		if len(m.Resources) != 0 || len(m.Attributes) != 0 {
			t.Errorf("after cleanup %s still has %+v %+v", m.Name, m.Resources, m.Attributes)
		}
	}
	if st := statusJSON(t); st.Resources[0].Role != "Stopped" {
		t.Errorf("after cleanup: %+v", st.Resources)
	}
}

func TestPropertySetGet(t *testing.T) {
	newTestCluster(t)
	ok(t, "property", "set", "stonith-enabled=false", "no-quorum-policy=stop")
	if v := ok(t, "property", "get", "no-quorum-policy"); v != "stop\n" {
		t.Errorf("get: %q", v)
	}
	ok(t, "property", "set", "no-quorum-policy=")
	fails(t, ExitError, "not set", "property", "get", "no-quorum-policy")
	fails(t, ExitUsage, "key=value", "property", "set", "stonith-enabled")
}

func TestConfigExportApply(t *testing.T) {
	c := newTestCluster(t)
	ok(t, "resource", "create", "web", "builtin:dummy")
	doc := ok(t, "config", "export")
	cfg, err := api.DecodeConfigYAML([]byte(doc))
	if err != nil || len(cfg.Resources) != 1 {
		t.Fatalf("export is not the apply schema: %v\n%s", err, doc)
	}
	show := ok(t, "config", "show")
	if !strings.Contains(show, "web") || !strings.Contains(show, "builtin:dummy") {
		t.Errorf("config show:\n%s", show)
	}
	cfg.Properties = map[string]string{"stonith-enabled": "false", "stonith-timeout": "90s"}
	b, _ := api.EncodeConfigYAML(cfg)
	file := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ok(t, "property", "set", "no-quorum-policy=stop") // someone else changes it
	fails(t, ExitError, "--force", "config", "apply", "-f", file)
	if c.backend.Config().Properties["stonith-timeout"] != "" {
		t.Error("a refused apply changed the configuration")
	}
	if out := ok(t, "config", "apply", "-f", file, "--force"); !strings.Contains(out, "applied") {
		t.Errorf("apply --force printed %q", out)
	}
	if p := c.backend.Config().Properties; p["stonith-timeout"] != "90s" || p["no-quorum-policy"] != "" {
		t.Errorf("after apply: %+v", p)
	}
	fails(t, ExitUsage, "-f FILE", "config", "apply")
	fails(t, ExitError, "config apply", "config", "apply", "-f", filepath.Join(t.TempDir(), "missing.yaml"))
}

func TestTokenCreatePrintsOnlyTheToken(t *testing.T) {
	c := newTestCluster(t)
	out := ok(t, "token", "create", "--ttl", "10m")
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("token create printed %q, want one line", out)
	}
	jt, err := pki.ParseJoinToken(strings.TrimSpace(out))
	if err != nil || jt.CAFingerprint != c.caFingerprint {
		t.Errorf("join token %q: %+v %v", out, jt, err)
	}
	t.Setenv(api.EnvToken, c.viewer)
	fails(t, ExitError, "permission denied", "token", "create")
}

func TestAuthAndReachabilityErrors(t *testing.T) {
	c := newTestCluster(t)
	t.Setenv(api.EnvToken, "")
	fails(t, ExitError, "not authenticated", "status")
	fails(t, ExitError, "PACELINE_TOKEN", "resource", "create", "web", "builtin:dummy")
	t.Setenv(api.EnvToken, "plt1.abc.wrong")
	fails(t, ExitError, "not authenticated", "status")
	t.Setenv(api.EnvToken, c.viewer)
	fails(t, ExitError, "permission denied", "resource", "create", "web", "builtin:dummy")
	t.Setenv(api.EnvToken, c.admin)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "https://" + ln.Addr().String()
	ln.Close()
	t.Setenv(api.EnvAddr, dead)
	fails(t, ExitError, "no server answered", "status")
	t.Setenv(api.EnvAddr, dead+","+c.url) // the next address answers
	if st := statusJSON(t); st.Leader != "n1" {
		t.Errorf("failover: %+v", st)
	}
	t.Setenv(api.EnvAddr, "")
	fails(t, ExitError, "PACELINE_ADDR", "status")
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte(c.admin+"\n"), 0o600)
	t.Setenv(api.EnvAddr, c.url)
	t.Setenv(api.EnvToken, "")
	t.Setenv(api.EnvTokenFile, tokenFile)
	ok(t, "status")
}

func TestClusterUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"resource"},
		{"resource", "frob"},
		{"resource", "delete"},
		{"resource", "move", "web"},
		{"constraint", "add", "location", "x", "web", "n1"},
		{"node", "standby"},
		{"property", "set"},
		{"status", "extra"},
		{"token", "create", "--ttl", "0s"},
	} {
		fails(t, ExitUsage, "", args...)
	}
}

func equalJSONValues(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestClusterCommandHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "--help"}, `"resources": [{"id"`},
		{[]string{"resource", "create", "--help"}, "--op NAME"},
		{[]string{"resource", "move", "--help"}, "cli-prefer-ID"},
		{[]string{"constraint", "add", "order", "--help"}, "Serialize"},
		{[]string{"node", "standby", "--help"}, "standby"},
		{[]string{"config", "apply", "--help"}, "--force"},
		{[]string{"token", "create", "--help"}, "--ttl"},
		{[]string{"--help"}, "PACELINE_ADDR"},
	} {
		code, out, _ := run(t, tc.args...)
		if code != ExitOK || !strings.Contains(out, tc.want) {
			t.Errorf("paceline %s: exit %d, want %q in\n%s", strings.Join(tc.args, " "), code, tc.want, out)
		}
	}
}
