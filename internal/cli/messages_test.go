package cli

import (
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/pki"
)

// Issue 11 part 7: one "paceline:" prefix, hints where they help, unknown
// flags named as flags, every command's --help its own.
func TestErrorMessagesOneLineWithHints(t *testing.T) {
	c := newTestCluster(t)
	for _, tc := range []struct {
		code int
		want string
		args []string
	}{
		{ExitUsage, `paceline: config apply takes no arguments, got "x.yaml": did you mean -f x.yaml?`, []string{"config", "apply", "x.yaml"}},
		{ExitUsage, `paceline: status takes no arguments, got "web"`, []string{"status", "web"}},
		{ExitUsage, `paceline: unknown command "clonez" for 'paceline resource'`, []string{"resource", "clonez", "--help"}},
		{ExitUsage, `paceline: unknown command "bogus" for 'paceline'`, []string{"bogus", "--help"}},
		{ExitUsage, `paceline: unknown flag: --bogus`, []string{"constraint", "add", "location", "l1", "web", "n1", "-INFINITY", "--bogus"}},
		{ExitUsage, `paceline: unknown flag --bogus`, []string{"resource", "update", "web", "a=1", "--bogus"}},
		{ExitUsage, `paceline: constraint add order wants ID FIRST THEN, got 2 argument(s)`, []string{"constraint", "add", "order", "a", "b"}},
	} {
		errs := fails(t, tc.code, tc.want, tc.args...)
		if strings.HasPrefix(errs, "paceline: paceline") {
			t.Errorf("%v: doubled prefix: %q", tc.args, errs)
		}
	}
	// Plain HTTP to the HTTPS API: the hint names the fix.
	t.Setenv(api.EnvAddr, strings.Replace(c.url, "https://", "http://", 1))
	fails(t, ExitError, "the server speaks HTTPS: write the address as "+c.url+" (in PACELINE_ADDR)", "status")
}

func TestEveryCommandHasItsOwnHelp(t *testing.T) {
	var walk func(args []string)
	seen := 0
	walk = func(args []string) {
		code, out, errs := run(t, append(append([]string{}, args...), "--help")...)
		if code != ExitOK || errs != "" {
			t.Errorf("paceline %s --help: exit %d, stderr %q", strings.Join(args, " "), code, errs)
			return
		}
		seen++
		if len(args) > 0 && !strings.Contains(out, "paceline "+strings.Join(args, " ")) {
			t.Errorf("paceline %s --help is not its own:\n%s", strings.Join(args, " "), out)
		}
		root := newRootCmd(streams{})
		cmd, _, err := root.Find(args)
		if err != nil {
			t.Fatal(err)
		}
		for _, sub := range cmd.Commands() {
			if !sub.Hidden && sub.Name() != "help" {
				walk(append(append([]string{}, args...), sub.Name()))
			}
		}
	}
	walk(nil)
	if seen < 30 {
		t.Errorf("only %d commands", seen)
	}
}

func TestAuditFiltersAndShortLines(t *testing.T) {
	c := newTestCluster(t)
	adminID, _ := pki.TokenID(c.admin)
	long := strings.Repeat("x", 1500)
	ok(t, "resource", "create", "web", "builtin:dummy", "blob="+long)
	ok(t, "resource", "create", "db", "builtin:dummy")
	ok(t, "resource", "update", "db", "a=1")
	t.Setenv(api.EnvToken, c.operator)
	ok(t, "node", "standby", "n1")
	opID, _ := pki.TokenID(c.operator)

	out := ok(t, "audit")
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if n := len([]rune(l)); n >= 160 {
			t.Errorf("audit line of %d characters: %q", n, l)
		}
	}
	count := func(out string) int { return strings.Count(strings.TrimSpace(out), "\n") } // lines after the header
	if n := count(ok(t, "audit", "--resource", "db")); n != 2 {
		t.Errorf("audit --resource db: %d entries, want 2 (create and update)", n)
	}
	if n := count(ok(t, "audit", "--who", opID)); n != 1 {
		t.Errorf("audit --who operator: %d entries, want 1", n)
	}
	if n := count(ok(t, "audit", "--who", adminID, "--since", "1h")); n != 3 {
		t.Errorf("audit --who admin --since 1h: %d entries, want 3", n)
	}
	if n := count(ok(t, "audit", "--since", "2999-01-01")); n != 0 {
		t.Errorf("audit --since the future: %d entries", n)
	}
	var log api.AuditLog
	// (resource update applies the whole configuration, which names web
	// too.)
	if err := json.Unmarshal([]byte(ok(t, "audit", "--json", "--resource", "web")), &log); err != nil || len(log.Entries) == 0 ||
		log.Entries[0].Action != "POST /v1/resources" || !strings.Contains(log.Entries[0].Detail, long) {
		t.Errorf("audit --json --resource web is not whole: %v %d", err, len(log.Entries))
	}
	fails(t, ExitUsage, `--since "yesterday": want a duration`, "audit", "--since", "yesterday")
}

// Issue 11 part 4: property set takes known options with values of their
// type, property list shows them; ids are NCNames without ':'.
func TestPropertiesAndIDsRefused(t *testing.T) {
	c := newTestCluster(t)
	ok(t, "property", "set", "stonith-enabled=false", "cluster-recheck-interval=2min")
	before := c.backend.Config().Epoch
	for _, tc := range []struct {
		code int
		want string
		args []string
	}{
		{ExitError, `unknown cluster property "stonith-enable" (did you mean stonith-enabled?)`, []string{"property", "set", "stonith-enable=false"}},
		{ExitError, `invalid value "sometimes" for no-quorum-policy: want one of stop, freeze, ignore, demote, suicide`,
			[]string{"property", "set", "no-quorum-policy=sometimes"}},
		// Nothing is set when one word of several is wrong.
		{ExitError, `want true or false`, []string{"property", "set", "maintenance-mode=true", "stonith-enabled=maybe"}},
		{ExitError, `invalid id "a:b": ':' is reserved for clone instances`, []string{"resource", "create", "a:b", "builtin:dummy"}},
		{ExitError, `invalid id "bad id"`, []string{"resource", "create", "bad id", "builtin:dummy"}},
		{ExitError, `invalid id "1x"`, []string{"constraint", "add", "location", "1x", "web", "n1", "100"}},
	} {
		fails(t, tc.code, tc.want, tc.args...)
	}
	if after := c.backend.Config().Epoch; after != before {
		t.Errorf("refused commands moved the epoch from %d to %d", before, after)
	}
	if p := c.backend.Config().Properties; p["maintenance-mode"] != "" {
		t.Errorf("maintenance-mode set by a refused command: %v", p)
	}
	ok(t, "property", "set", "my-site=berlin", "--force")
	out := ok(t, "property", "list")
	for _, want := range []string{"stonith-enabled", "false", "cluster-recheck-interval", "2min", "my-site", "berlin", "(not a known cluster option)"} {
		if !strings.Contains(out, want) {
			t.Errorf("property list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "no-quorum-policy") {
		t.Errorf("property list shows an unset property without --all:\n%s", out)
	}
	out = ok(t, "property", "list", "--all")
	if !strings.Contains(out, "no-quorum-policy") || !strings.Contains(out, "stop|freeze|ignore|demote|suicide") {
		t.Errorf("property list --all:\n%s", out)
	}
}

// Issue 11 part 6: with several addresses, one that accepts connections
// but never answers (a paused node) is given up after the TLS handshake
// timeout, not after the whole request's.
func TestPausedNodeSkippedQuickly(t *testing.T) {
	c := newTestCluster(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, conn) // accepted, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()
	t.Setenv(api.EnvAddr, "https://"+ln.Addr().String()+","+c.url)
	start := time.Now()
	ok(t, "resource", "create", "web", "builtin:dummy") // a write: never sent to the paused node
	if d := time.Since(start); d > api.HandshakeTimeout+2*time.Second {
		t.Errorf("create took %v with a paused first address", d)
	}
	if rs := c.backend.Config().Resources; len(rs) != 1 {
		t.Errorf("resources: %+v", rs)
	}
	t.Setenv(api.EnvAddr, "https://"+ln.Addr().String())
	start = time.Now()
	fails(t, ExitError, "no TLS handshake within 2s (the node accepts connections but does not answer)", "status")
	if d := time.Since(start); d > api.HandshakeTimeout+2*time.Second {
		t.Errorf("status took %v against a paused node", d)
	}
}
