package cli

import (
	"strings"
	"testing"

	"github.com/paceline/paceline/api"
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
		{ExitUsage, `paceline: unknown command "clone" for 'paceline resource'`, []string{"resource", "clone", "--help"}},
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
