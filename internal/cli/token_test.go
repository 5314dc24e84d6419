package cli

import (
	"strings"
	"testing"

	"github.com/paceline/paceline/api"
)

// Issue 5, roles: an operator runs the operational commands (the CLI and
// the API go through the same check), but cannot change what executes.
func TestOperatorRunsOperationsNotConfiguration(t *testing.T) {
	c := newTestCluster(t)
	ok(t, "resource", "create", "web", "builtin:dummy")
	t.Setenv(api.EnvToken, c.operator)
	for _, args := range [][]string{
		{"node", "standby", "n1"},
		{"node", "unstandby", "n1"},
		{"resource", "move", "web", "n2"},
		{"resource", "ban", "web", "n1"},
		{"resource", "clear", "web"},
		{"resource", "disable", "web"},
		{"resource", "enable", "web"},
		{"resource", "cleanup", "web"},
	} {
		ok(t, args...)
	}
	for _, args := range [][]string{
		{"resource", "create", "evil", "builtin:dummy"},
		{"resource", "delete", "web"},
		{"constraint", "add", "location", "pin", "web", "n1", "100"},
		{"property", "set", "stonith-enabled=false"},
		{"token", "create", "--role", "admin"},
	} {
		fails(t, ExitError, "permission denied: token ", args...)
	}
	cfg := c.backend.Config()
	if len(cfg.Resources) != 1 || len(cfg.Locations) != 0 || cfg.Resources[0].Meta["target-role"] != "Started" {
		t.Errorf("after the operator's session: resources %+v, locations %+v", cfg.Resources, cfg.Locations)
	}
	// A viewer runs none of them.
	t.Setenv(api.EnvToken, c.viewer)
	msg := fails(t, ExitError, "permission denied", "resource", "disable", "web")
	if !strings.Contains(msg, "has role viewer") {
		t.Errorf("viewer disable: %q", msg)
	}
}

func TestTokenListAndRevokeByCLI(t *testing.T) {
	newTestCluster(t)
	code, tok, _ := run(t, "token", "create", "--role", "viewer", "--ttl", "0")
	if code != ExitOK {
		t.Fatalf("token create: exit %d", code)
	}
	id := strings.Split(strings.TrimSpace(tok), ".")[1]
	out := ok(t, "token", "list")
	if !strings.Contains(out, id) || !strings.Contains(out, "viewer") || !strings.Contains(out, "never") {
		t.Errorf("token list lacks %s viewer never:\n%s", id, out)
	}
	ok(t, "token", "revoke", id)
	if out := ok(t, "token", "list"); !strings.Contains(out, "revoked") {
		t.Errorf("token list after revoke:\n%s", out)
	}
	fails(t, ExitError, "token 'nosuch' not found", "token", "revoke", "nosuch")
	fails(t, ExitUsage, "--role \"root\"", "token", "create", "--role", "root")
	t.Setenv(api.EnvToken, strings.TrimSpace(tok))
	fails(t, ExitError, "was revoked", "status")
}
