package cli

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/paceline/paceline/api"
)

// Issue 11 part 5: config diff, apply refusing removals without
// --replace, --dry-run with the scheduler's transition.
func TestConfigDiffApplyReplaceDryRun(t *testing.T) {
	c := newTestCluster(t)
	ok(t, "property", "set", "stonith-enabled=false")
	ok(t, "resource", "create", "web", "builtin:dummy")
	ok(t, "resource", "create", "db", "builtin:dummy")
	ok(t, "constraint", "add", "location", "db-pref", "db", "n1", "100")
	doc := ok(t, "config", "export")
	write := func(cfg *api.Config) string {
		b, err := api.EncodeConfigYAML(cfg)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	full, err := api.DecodeConfigYAML([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if out := ok(t, "config", "diff", "-f", write(full)); out != "no changes\n" {
		t.Errorf("diff of the export: %q", out)
	}

	// A file holding only web: it would remove db and its constraint.
	only := *full
	only.Resources = only.Resources[:1]
	only.Locations = nil
	f := write(&only)
	if out := ok(t, "config", "diff", "-f", f); out != "- resource db\n- location db-pref\n" {
		t.Errorf("diff of one resource: %q", out)
	}
	epoch := c.backend.Config().Epoch
	fails(t, ExitError, "would remove resource 'db', location 'db-pref'; --replace applies it", "config", "apply", "-f", f)
	if c.backend.Config().Epoch != epoch {
		t.Fatalf("a refused apply changed the configuration")
	}

	// A change: web gets a meta-attribute and a new resource appears.
	changed := *full
	changed.Resources = append([]api.Resource{}, full.Resources...)
	changed.Resources[0].Meta = map[string]string{"resource-stickiness": "5"}
	changed.Resources = append(changed.Resources, api.Resource{ID: "api", Kind: "primitive", Class: "builtin", Type: "dummy"})
	g := write(&changed)
	out := ok(t, "config", "apply", "-f", g, "--dry-run")
	for _, want := range []string{"+ resource api\n", "~ resource web\n", "Transition Summary:", "Start", "api", "( n1 )", "dry run: nothing applied"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if c.backend.Config().Epoch != epoch {
		t.Fatalf("a dry run changed the configuration")
	}
	out = ok(t, "config", "apply", "-f", g)
	if !strings.Contains(out, "+ resource api\n~ resource web\nconfiguration applied") {
		t.Errorf("apply printed %q", out)
	}
	// --replace applies a removal (on the new epoch).
	only.Epoch = c.backend.Config().Epoch
	ok(t, "config", "apply", "-f", write(&only), "--replace")
	if rs := c.backend.Config().Resources; len(rs) != 1 || rs[0].ID != "web" {
		t.Errorf("after --replace: %+v", rs)
	}
}

// config show prints what the issue found dropped: with_role, the
// promote action, rsc_defaults, op roles and rules.
func TestConfigShowPrintsEverything(t *testing.T) {
	newTestCluster(t)
	buildIssueCluster(t)
	ok(t, "resource", "defaults", "set", "resource-stickiness=100")
	ok(t, "resource", "op", "defaults", "set", "timeout=60s")
	ok(t, "constraint", "add", "location", "api-ping", "api-clone", "--rule", "not_defined pingd", "-INFINITY")
	out := ok(t, "config", "show")
	for _, want := range []string{"Resource defaults (1):\n  resource-stickiness  100", "Operation defaults (1):\n  timeout",
		"op monitor interval=5s role=Promoted", "op monitor interval=2s role=Unpromoted",
		"colocation app-with-db: app with db-clone (score:INFINITY) with-rsc-role:Promoted",
		"order app-after-db: promote db-clone then start app (kind:Mandatory)",
		"location api-ping: api-clone by rule 'not_defined pingd' (score:-INFINITY)"} {
		if !strings.Contains(out, want) {
			t.Errorf("config show lacks %q:\n%s", want, out)
		}
	}
}

// Every field "config schema" prints is explained in docs/configuration.md
// under its section.
func TestConfigSchemaDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{}
	for _, part := range strings.Split(string(doc), "\n## ")[1:] {
		name, body, _ := strings.Cut(part, "\n")
		sections[strings.TrimSpace(name)] = body
	}
	out := ok(t, "config", "schema")
	var section string
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(line, " ") {
			section = strings.TrimSuffix(line, ":")
			if _, found := sections[section]; !found {
				t.Errorf("docs/configuration.md has no section %q", section)
			}
			continue
		}
		field, _, _ := strings.Cut(strings.TrimSpace(line), ":")
		if !strings.Contains(sections[section], "`"+field+"`") {
			t.Errorf("docs/configuration.md, section %s, does not explain `%s`", section, field)
		}
		n++
	}
	if n < 100 {
		t.Errorf("config schema printed only %d fields", n)
	}
}

func TestConfigHistoryAndRollback(t *testing.T) {
	c := newTestCluster(t)
	ok(t, "resource", "create", "web", "builtin:dummy")
	before := c.backend.Config().Epoch
	ok(t, "resource", "create", "db", "builtin:dummy")
	ok(t, "resource", "delete", "web")
	out := ok(t, "config", "history")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 4 || !strings.Contains(lines[1], "delete resource web: -resource web") ||
		!strings.Contains(lines[2], "create resource db: +resource db") || !strings.Contains(lines[1], "token:") {
		t.Errorf("config history:\n%s", out)
	}
	ok(t, "config", "rollback", strconv.FormatUint(before, 10))
	cfg := c.backend.Config()
	if len(cfg.Resources) != 1 || cfg.Resources[0].ID != "web" {
		t.Errorf("after rollback to %d: %+v", before, cfg.Resources)
	}
	if out := ok(t, "config", "history", "--last", "1"); !strings.Contains(out, "rollback to epoch "+strconv.FormatUint(before, 10)) {
		t.Errorf("history after rollback:\n%s", out)
	}
	epoch := c.backend.Config().Epoch
	fails(t, ExitError, "want an earlier epoch than the current", "config", "rollback", strconv.FormatUint(epoch, 10))
	fails(t, ExitError, "want an earlier epoch than the current", "config", "rollback", "999")
	fails(t, ExitUsage, `bad epoch "x"`, "config", "rollback", "x")
	if c.backend.Config().Epoch != epoch {
		t.Errorf("refused rollbacks moved the epoch")
	}
}
