package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/cib"
	"github.com/paceline/paceline/internal/sched"
)

// run runs the command line and returns exit status, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

// checkOneLineError asserts the error convention: exactly one line
// "paceline: ..." on stderr.
func checkOneLineError(t *testing.T, stderr string) {
	t.Helper()
	if !strings.HasPrefix(stderr, "paceline: ") || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("stderr should be one line \"paceline: ...\", got %q", stderr)
	}
}

func TestRootHelpSaysWhatPacelineIs(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {}} {
		code, out, _ := run(t, args...)
		if code != ExitOK || !strings.Contains(out, "high-availability cluster manager") {
			t.Errorf("paceline %v: exit %d, output %q", args, code, out)
		}
	}
}

func TestCommandHelp(t *testing.T) {
	for cmd, want := range map[string]string{
		"simulate": "Transition Summary",
		"demo":     "crashes",
		"version":  "version",
	} {
		code, out, _ := run(t, cmd, "--help")
		if code != ExitOK || !strings.Contains(out, want) {
			t.Errorf("paceline %s --help: exit %d, want %q in %q", cmd, code, want, out)
		}
	}
}

func TestUsageErrorsExit2WithOneLine(t *testing.T) {
	for _, args := range [][]string{
		{"frobnicate"},
		{"--bogus"},
		{"simulate"},
		{"simulate", "--cib"},
		{"simulate", "--cib", "x.xml", "extra"},
		{"simulate", "--json=maybe", "--cib", "x.xml"},
		{"version", "extra"},
		{"demo", "--nope"},
	} {
		code, out, errs := run(t, args...)
		if code != ExitUsage {
			t.Errorf("paceline %v: exit %d, want %d (stderr %q)", args, code, ExitUsage, errs)
		}
		if out != "" {
			t.Errorf("paceline %v: printed %q to stdout", args, out)
		}
		checkOneLineError(t, errs)
	}
}

func TestSimulateMissingFileExit1(t *testing.T) {
	code, out, errs := run(t, "simulate", "--cib", filepath.Join(t.TempDir(), "missing.xml"))
	if code != ExitError || out != "" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
	checkOneLineError(t, errs)
}

func TestSimulateBadXMLExit1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.xml")
	if err := os.WriteFile(path, []byte("<cib><configuration>"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := run(t, "simulate", "--cib", path)
	if code != ExitError {
		t.Errorf("exit %d, want %d", code, ExitError)
	}
	checkOneLineError(t, errs)
}

// panicWriter panics on write, to check that Main turns a panic into one
// error line.
type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("boom\nsecond line") }

func TestPanicBecomesOneErrorLine(t *testing.T) {
	var errb bytes.Buffer
	code := Main([]string{"version"}, panicWriter{}, &errb)
	if code != ExitError {
		t.Errorf("exit %d, want %d", code, ExitError)
	}
	checkOneLineError(t, errb.String())
	if !strings.Contains(errb.String(), "internal error: boom second line") {
		t.Errorf("stderr %q", errb.String())
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, "version")
	if code != ExitOK || !strings.HasPrefix(out, "paceline ") {
		t.Errorf("exit %d, output %q", code, out)
	}
	code, out, _ = run(t, "version", "--json")
	var v versionInfo
	if err := json.Unmarshal([]byte(out), &v); code != ExitOK || err != nil || v.GoVersion == "" {
		t.Errorf("version --json: exit %d, %v, %q", code, err, out)
	}
}

func TestDemoPrintCIB(t *testing.T) {
	code, out, _ := run(t, "demo", "--print-cib")
	if code != ExitOK || out != string(demoCIB) {
		t.Fatalf("demo --print-cib: exit %d, output differs from the embedded CIB", code)
	}
}

// demoFile writes the demo CIB to a file for simulate.
func demoFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "demo.xml")
	if err := os.WriteFile(path, demoCIB, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDemoCIBImports(t *testing.T) {
	cfg, status, err := cib.ParseFile(demoFile(t))
	if err != nil {
		t.Fatalf("the embedded demo CIB does not import: %v", err)
	}
	if len(cfg.Nodes) != 3 || len(status.Nodes) != 3 {
		t.Errorf("demo CIB: %d configured nodes, %d in status; want 3 and 3", len(cfg.Nodes), len(status.Nodes))
	}
}

// scheduleDirect schedules path without the CLI, or skips the test when the
// scheduler cannot handle it yet.
func scheduleDirect(t *testing.T, path string) *sched.Result {
	t.Helper()
	cfg, status, err := cib.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sched.Schedule(sched.Input{Config: cfg, Status: status, Now: time.Now()})
	if err != nil {
		t.Skipf("NOTICE: the scheduler cannot schedule %s yet (%v); CLI output not checked", filepath.Base(path), err)
	}
	return res
}

func TestDemoSimulate(t *testing.T) {
	scheduleDirect(t, demoFile(t))
	code, out, errs := run(t, "demo", "--simulate")
	if code != ExitOK {
		t.Fatalf("demo --simulate: exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{"Current cluster status:", "Transition Summary:", "Revised Cluster Status:", "Explanation for web-vip:"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

// TestSimulateOutput checks the framing of simulate's text and JSON output
// against a direct call of the scheduler (not the decisions themselves:
// test/conformance checks those).
func TestSimulateOutput(t *testing.T) {
	for _, c := range []struct{ path, explain string }{
		{filepath.Join("testdata", "two-nodes.xml"), "app"},
		{filepath.Join("demo", "cluster.xml"), "web-vip"},
	} {
		t.Run(filepath.Base(c.path), func(t *testing.T) { testSimulateOutput(t, c.path, c.explain) })
	}
}

func testSimulateOutput(t *testing.T, path, explain string) {
	res := scheduleDirect(t, path)
	var summary bytes.Buffer
	sched.WriteSummary(&summary, res.Changes)

	code, out, errs := run(t, "simulate", "--cib", path)
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	cur := strings.Index(out, "Current cluster status:\n")
	sum := strings.Index(out, "\n\n"+summary.String()+"\n")
	rev := strings.Index(out, "\nRevised Cluster Status:\n")
	if cur != 0 || sum < 0 || rev < sum {
		t.Errorf("want Current status, blank line, the summary, blank line, Revised status; got:\n%s", out)
	}

	code, out, errs = run(t, "simulate", "--cib", path, "--json", "--explain", explain, "--timing")
	if code != ExitOK {
		t.Fatalf("--json: exit %d, stderr %q", code, errs)
	}
	var j simulateJSON
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatalf("--json output does not decode: %v\n%s", err, out)
	}
	if len(j.Changes) != len(res.Changes) || j.Summary != summary.String() || j.Explanation == nil || j.Explanation.Resource != explain {
		t.Errorf("--json: got %+v", j)
	}
	if !strings.HasPrefix(errs, "timing: parse=") {
		t.Errorf("--timing: stderr %q", errs)
	}

	code, out, errs = run(t, "simulate", "--cib", path, "--explain", "no-such-resource")
	if code != ExitError || out != "" || !strings.Contains(errs, `"no-such-resource"`) {
		t.Errorf("unknown --explain: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	checkOneLineError(t, errs)
}

func TestUsageErrorIsDetected(t *testing.T) {
	var ue *usageError
	if !errors.As(usagef("x %d", 1), &ue) {
		t.Fatal("usagef does not make a usageError")
	}
}
