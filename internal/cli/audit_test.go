package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/pki"
)

// Issue 5, "What must be shown": paceline audit after a scripted session
// shows every change with its author; editing one stored entry is
// detected by paceline audit --verify.
func TestAuditShowsAuthorsAndVerifyDetectsAnEdit(t *testing.T) {
	c := newTestCluster(t)
	adminID, _ := pki.TokenID(c.admin)
	ok(t, "resource", "create", "db", "builtin:dummy", "password=hunter2")
	code, out, errs := run(t, "token", "create", "--role", "operator", "--ttl", "1h")
	opTok := strings.TrimSpace(out)
	opID, err := pki.TokenID(opTok)
	if code != ExitOK || err != nil || !strings.Contains(errs, "token "+opID+" (operator), expires ") {
		t.Fatalf("token create: exit %d, stdout %q (want only the token), stderr %q", code, out, errs)
	}
	t.Setenv(api.EnvToken, opTok)
	ok(t, "node", "standby", "n1")
	fails(t, ExitError, "permission denied: token "+opID+" has role operator; POST /v1/resources needs admin",
		"resource", "create", "web", "builtin:dummy")
	t.Setenv(api.EnvToken, c.admin)
	ok(t, "token", "revoke", opID)
	t.Setenv(api.EnvToken, opTok)
	fails(t, ExitError, "token "+opID+" was revoked", "node", "unstandby", "n1")
	t.Setenv(api.EnvToken, c.viewer) // any token may read the log

	out = ok(t, "audit")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []struct{ token, action, result string }{
		{adminID, "POST /v1/resources", "ok"},
		{adminID, "POST /v1/tokens", "ok"},
		{opID, "PUT /v1/nodes/n1/attributes", "ok"},
		{opID, "POST /v1/resources", "needs admin"},
		{adminID, "DELETE /v1/tokens/" + opID, "ok"},
	}
	if len(lines) != len(want)+1 {
		t.Fatalf("audit printed %d lines, want a header and %d entries:\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		l := lines[i+1]
		if !strings.Contains(l, w.token) || !strings.Contains(l, w.action) || !strings.Contains(l, w.result) {
			t.Errorf("audit line %d %q: want token %s, %s, %s", i+1, l, w.token, w.action, w.result)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("audit shows a secret value:\n%s", out)
	}
	if got := ok(t, "audit", "--verify"); !strings.Contains(got, "audit log intact: 5 entries (1..5)") {
		t.Errorf("audit --verify on an untouched log: %q", got)
	}

	// Edit one stored entry, as someone with access to the state would:
	// rewrite the snapshot and restore it.
	snap, err := c.store.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(snap, &doc); err != nil {
		t.Fatal(err)
	}
	doc["audit"].([]any)[2].(map[string]any)["token"] = adminID // blame someone else
	edited, _ := json.Marshal(doc)
	if err := c.store.Restore(edited); err != nil {
		t.Fatal(err)
	}
	fails(t, ExitError, "audit chain broken: entry 3 (PUT /v1/nodes/n1/attributes by token "+adminID+") does not match its hash",
		"audit", "--verify")
}
