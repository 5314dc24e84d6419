package cli

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/agentcatalog"
	"github.com/paceline/paceline/internal/agents/builtin"
	"github.com/paceline/paceline/internal/agents/ocf"
)

// newAgentCluster is a test cluster whose node knows this machine's OCF
// agents (Debian's resource-agents) and the built-in ones.
func newAgentCluster(t *testing.T) *testCluster {
	t.Helper()
	if _, err := os.Stat("/usr/lib/ocf/resource.d/heartbeat/Dummy"); err != nil {
		t.Skip("resource-agents is not installed (no /usr/lib/ocf/resource.d/heartbeat/Dummy)")
	}
	oc, err := ocf.New(ocf.Config{RunDir: t.TempDir(), TrustedUIDs: []uint32{0, uint32(os.Getuid())}})
	if err != nil {
		t.Fatal(err)
	}
	bc, err := builtin.New(builtin.Config{RunDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return newTestClusterAgents(t, agentcatalog.New(agentcatalog.Config{
		Classes:  map[string]agentcatalog.Runner{"ocf": oc, "builtin": bc},
		OCFRoots: []string{"/usr/lib/ocf"},
		Names:    map[string][]string{"builtin": {"dummy", "process", "vip", "ping"}},
	}))
}

// Issue 11 part 2: agents listed and described from meta-data; create and
// update refuse what the agent does not take, with a close match, unless
// --force.
func TestAgentsDescribeAndChecks(t *testing.T) {
	c := newAgentCluster(t)
	out := ok(t, "resource", "agents", "ocf:heartbeat")
	if !strings.Contains(out, "ocf:heartbeat:Dummy\n") || !strings.Contains(out, "ocf:heartbeat:IPaddr2\n") || strings.Contains(out, "builtin:") {
		t.Errorf("resource agents ocf:heartbeat:\n%s", out)
	}
	if out := ok(t, "resource", "agents", "builtin"); out != "builtin:dummy\nbuiltin:ping\nbuiltin:process\nbuiltin:vip\n" {
		t.Errorf("resource agents builtin: %q", out)
	}
	out = ok(t, "resource", "describe", "ocf:heartbeat:IPaddr2")
	for _, want := range []string{"ocf:heartbeat:IPaddr2", "Parameters (", "NAME", "REQUIRED", "RELOADABLE", "  ip ", "yes",
		"Actions (", "monitor", "20s"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe IPaddr2 lacks %q:\n%s", want, out)
		}
	}
	var m api.AgentMeta
	if err := json.Unmarshal([]byte(ok(t, "resource", "describe", "ocf:heartbeat:Dummy", "--json")), &m); err != nil {
		t.Fatal(err)
	}
	if p, found := m.Param("state"); !found || p.Default == "" {
		t.Errorf("Dummy's state parameter: %+v", m.Parameters)
	}

	before := c.backend.Config().Epoch
	for _, tc := range []struct {
		want string
		args []string
	}{
		{"unknown agent ocf:heartbeat:Dumy (did you mean ocf:heartbeat:Dummy?)", []string{"resource", "create", "t1", "ocf:heartbeat:Dumy"}},
		{"unknown agent builtin:dumy (did you mean builtin:dummy?)", []string{"resource", "create", "t1", "builtin:dumy"}},
		{`unknown parameter "bogus" of ocf:heartbeat:Dummy`, []string{"resource", "create", "t1", "ocf:heartbeat:Dummy", "bogus=1"}},
		{`unknown operation "monitr" of ocf:heartbeat:Dummy (did you mean monitor?)`,
			[]string{"resource", "create", "t1", "ocf:heartbeat:Dummy", "--op", "monitr", "interval=5s"}},
		{`missing required parameter "ip" of ocf:heartbeat:IPaddr2`, []string{"resource", "create", "vip", "ocf:heartbeat:IPaddr2"}},
		{"unknown agent describe-me:not", []string{"resource", "describe", "describe-me:not"}},
	} {
		fails(t, ExitError, tc.want, tc.args...)
	}
	if after := c.backend.Config().Epoch; after != before {
		t.Errorf("refused creates moved the epoch from %d to %d", before, after)
	}
	// --force creates what the meta-data would refuse.
	ok(t, "resource", "create", "t1", "ocf:heartbeat:Dummy", "bogus=1", "--force")
	ok(t, "resource", "create", "t2", "ocf:heartbeat:Dummy", "fake=1", "--op", "monitor", "interval=5s")
	fails(t, ExitError, `unknown parameter "fak" of ocf:heartbeat:Dummy (did you mean fake?)`, "resource", "update", "t2", "fak=2")
	ok(t, "resource", "update", "t2", "fak=2", "--force")
	if r := c.backend.Config().Resources; len(r) != 2 || r[1].Params[1].Name != "fak" {
		t.Errorf("resources after forced update: %+v", r)
	}
}
