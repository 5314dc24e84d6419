package executor

import (
	"os"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/agents"
	"github.com/paceline/paceline/internal/agents/ocf"
)

const heartbeatDummy = "/usr/lib/ocf/resource.d/heartbeat/Dummy"

// The real ocf:heartbeat:Dummy from Debian's resource-agents, unmodified,
// through the executor: start, monitor, stop, monitor.
func TestRealOCFDummy(t *testing.T) {
	if _, err := os.Stat(heartbeatDummy); err != nil {
		t.Skipf("SKIP: %s is absent; install Debian's resource-agents package (apt-get install -y resource-agents) to run this test", heartbeatDummy)
	}
	class, err := ocf.New(ocf.Config{RunDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := New(Config{Node: "n1", Agents: map[string]Agent{"ocf": class}})
	defer e.Close()
	dummy := agents.Type{Class: "ocf", Provider: "heartbeat", Name: "Dummy"}
	steps := []struct {
		op   string
		want agents.RC
	}{{"monitor", agents.RCNotRunning}, {"start", agents.RCOK}, {"monitor", agents.RCOK}, {"stop", agents.RCOK}, {"monitor", agents.RCNotRunning}}
	for _, s := range steps {
		id, err := e.Exec(Op{Resource: "web", Agent: dummy, Name: s.op, Timeout: 20 * time.Second,
			Params: map[string]string{"fake": "; rm -rf /tmp/x $(id)"}})
		if err != nil {
			t.Fatal(err)
		}
		r := recv(t, e)
		if r.Record.CallID != id || r.Record.RC != int(s.want) || r.Record.OpStatus != int(agents.StatusDone) {
			t.Fatalf("%s: rc %d status %d (%s), want rc %d; output:\n%s", s.op, r.Record.RC, r.Record.OpStatus, r.Record.ExitReason, s.want, r.Output)
		}
	}
}
