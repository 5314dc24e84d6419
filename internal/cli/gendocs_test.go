package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenDocs(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SOURCE_DATE_EPOCH", "1800000000") // 2027-01-15
	code, _, errb := run(t, "gen-docs", dir)
	if code != ExitOK {
		t.Fatalf("gen-docs: exit %d: %s", code, errb)
	}
	man, err := os.ReadFile(filepath.Join(dir, "man", "man1", "paceline-report.1"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(man), `"Jan 2027"`) || !strings.Contains(string(man), `\fB--since\fP=24h0m0s`) {
		t.Errorf("paceline-report.1 lacks the SOURCE_DATE_EPOCH date or --since:\n%s", man)
	}
	for _, f := range []string{"man/man1/paceline.1", "man/man1/paceline-agent.1", "completion/bash/paceline", "completion/zsh/_paceline"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "man", "man1", "paceline-gen-docs.1")); err == nil {
		t.Error("the hidden gen-docs command got a man page")
	}
	if code, _, errb := run(t, "gen-docs"); code != ExitUsage {
		t.Errorf("gen-docs without DIR: exit %d %q", code, errb)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if code, _, errb := run(t, "gen-docs", dir); code != ExitUsage || !strings.Contains(errb, "SOURCE_DATE_EPOCH") {
		t.Errorf("bad SOURCE_DATE_EPOCH: exit %d %q", code, errb)
	}
}
