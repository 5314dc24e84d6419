package cluster

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestFailedStartShowsInStatus: a resource whose start fails (here with
// "not configured", which Pacemaker takes as fatal: it is not tried on
// other nodes) is shown under "Failed Resource Actions" with its exit code
// and reason, in the human status and in status --json, until a cleanup
// clears it (issue 11's new user saw "Stopped -" and nothing else).
func TestFailedStartShowsInStatus(t *testing.T) {
	h, _ := startCluster(t)
	h.must("resource", "create", "bad", "builtin:process", "command=/nonexistent/pl-no-such-program", "--force")
	var st struct {
		FailedActions []struct {
			Resource, Operation, Node string
			ExitReason                string `json:"exit_reason"`
			ExitCode                  int    `json:"exit_code"`
		} `json:"failed_actions"`
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out, err := h.run("status", "--json")
		if err == nil && json.Unmarshal([]byte(out), &st) == nil && len(st.FailedActions) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status --json failed_actions %+v, want bad's failed start (%v)", st.FailedActions, err)
		}
	}
	for _, fa := range st.FailedActions {
		if fa.Resource != "bad" || fa.Operation != "start" || fa.ExitCode == 0 || !strings.Contains(fa.ExitReason, "pl-no-such-program") {
			t.Errorf("failed action %+v, want bad's start with an exit code and a reason naming the program", fa)
		}
	}
	human := h.must("status")
	t.Logf("status:\n%s", human)
	if !strings.Contains(human, "Failed Resource Actions") || !strings.Contains(human, "bad_start_0") {
		t.Errorf("the status screen shows no failed start of bad:\n%s", human)
	}
	h.must("resource", "disable", "bad")
	h.must("resource", "cleanup", "bad")
	out := h.must("status", "--json")
	st.FailedActions = nil
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.FailedActions) != 0 {
		t.Errorf("after a cleanup: failed actions %+v (%v), want none", st.FailedActions, err)
	}
}
