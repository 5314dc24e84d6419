package negative

import (
	"os"
	"testing"

	"github.com/paceline/paceline/internal/agentcatalog"
	"github.com/paceline/paceline/internal/agents/builtin"
	"github.com/paceline/paceline/internal/agents/ocf"
)

// agentCases are issue 11's refused agent mistakes: agents that are not
// installed, parameters and operations the agent does not have, a missing
// required parameter; each names the closest known name.
func agentCases() []negCase {
	create := func(body string) func(*testing.T, *env) reply {
		return post("/v1/resources", "admin", "application/json", body)
	}
	return []negCase{
		{name: "misspelt OCF agent", run: create(`{"id":"t1","agent":"ocf:heartbeat:Dumy"}`),
			status: 400, msg: []string{`resource "t1": unknown agent ocf:heartbeat:Dumy (did you mean ocf:heartbeat:Dummy?)`}},
		{name: "misspelt builtin agent", run: create(`{"id":"t1","agent":"builtin:dumy"}`),
			status: 400, msg: []string{"unknown agent builtin:dumy (did you mean builtin:dummy?)"}},
		{name: "unknown parameter", run: create(`{"id":"t1","agent":"ocf:heartbeat:Dummy","params":[{"name":"bogus","value":"1"}]}`),
			status: 400, msg: []string{`unknown parameter "bogus" of ocf:heartbeat:Dummy (it has: `}},
		{name: "unknown operation", run: create(`{"id":"t1","agent":"ocf:heartbeat:Dummy","ops":[{"name":"monitr","interval":"5s"}]}`),
			status: 400, msg: []string{`unknown operation "monitr" of ocf:heartbeat:Dummy (did you mean monitor?)`}},
		{name: "missing required parameter", run: create(`{"id":"vip","agent":"ocf:heartbeat:IPaddr2"}`),
			status: 400, msg: []string{`missing required parameter "ip" of ocf:heartbeat:IPaddr2`}},
		{name: "describe an agent not installed", run: get("/v1/agents/ocf:heartbeat:Nope", "viewer"),
			status: 404, msg: []string{"unknown agent ocf:heartbeat:Nope"}},
	}
}

// TestNegativeAgents runs agentCases on a server that knows this
// machine's OCF agents (Debian's resource-agents) and the built-in ones.
func TestNegativeAgents(t *testing.T) {
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
	e := newEnvAgents(t, agentcatalog.New(agentcatalog.Config{
		Classes:  map[string]agentcatalog.Runner{"ocf": oc, "builtin": bc},
		OCFRoots: []string{"/usr/lib/ocf"},
		Names:    map[string][]string{"builtin": {"dummy", "process", "vip", "ping"}},
	}))
	for _, tc := range agentCases() {
		t.Run(tc.name, func(t *testing.T) { runCase(t, e, tc) })
	}
}
