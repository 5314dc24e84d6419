package conformance

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/cib"
	"github.com/paceline/paceline/internal/sched"
)

// caseFlag runs one case verbosely: go test ./test/conformance -args -case NAME
// (or CONFORMANCE_CASE=NAME).
var caseFlag = flag.String("case", "", "run only this conformance case, verbosely")

const (
	// caseTimeout bounds one case; a case still running after it counts as
	// failed (its goroutine cannot be stopped and is left behind).
	caseTimeout = 10 * time.Second
	// defaultBudget bounds the whole run (CONFORMANCE_BUDGET overrides):
	// cases not started when it is spent count as failed, so a scheduler
	// that hangs on many cases cannot stall CI.
	defaultBudget = 8 * time.Minute
	corpusVersion = "pacemaker-2.1.5"
)

// testCase is one input with its expected Transition Summary.
type testCase struct {
	Name, Tier   string
	XML, Summary string // file paths
}

// outcome is how a case went.
type outcome struct {
	testCase
	Pass     bool
	Kind     string   // pass, mismatch, parse error, schedule error, panic, timeout, not run
	Detail   []string // error text or the tuple differences
	Expected string   // expected summary section (single-case mode)
	Actual   string   // actual summary
	Elapsed  time.Duration
}

// moduleRoot finds the directory holding go.mod above the test's directory.
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// corpusDir locates the shared conformance corpus: $CONFORMANCE_DIR, else
// ../shared/conformance next to the module root. It skips the test when the
// corpus is absent.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("CONFORMANCE_DIR")
	if dir == "" {
		dir = filepath.Join(moduleRoot(t), "..", "shared", "conformance")
	}
	if _, err := os.Stat(filepath.Join(dir, corpusVersion, "tiers.tsv")); err != nil {
		t.Skipf("NOTICE: Pacemaker conformance corpus not found (%v); skipping. "+
			"It lives outside the repository in ../shared/conformance, or set CONFORMANCE_DIR.", err)
	}
	return dir
}

// readTiers reads tiers.tsv: "name<TAB>tier" lines, "#" comments.
func readTiers(dir string) ([]testCase, error) {
	base := filepath.Join(dir, corpusVersion)
	f, err := os.Open(filepath.Join(base, "tiers.tsv"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var cases []testCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, tier, ok := strings.Cut(line, "\t")
		if !ok {
			return nil, fmt.Errorf("tiers.tsv:%d: want NAME<TAB>TIER, got %q", n, line)
		}
		cases = append(cases, testCase{
			Name:    name,
			Tier:    strings.TrimSpace(tier),
			XML:     filepath.Join(base, "xml", name+".xml"),
			Summary: filepath.Join(base, "summary", name+".summary"),
		})
	}
	return cases, sc.Err()
}

// readFloors reads floors.txt: "tier minimum" lines, "#" comments.
func readFloors(path string) (map[string]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	floors := map[string]int{}
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("floors.txt:%d: want \"TIER MINIMUM\", got %q", n+1, line)
		}
		v, err := strconv.Atoi(f[1])
		if err != nil || v < 0 {
			return nil, fmt.Errorf("floors.txt:%d: minimum %q is not a count", n+1, f[1])
		}
		floors[f[0]] = v
	}
	return floors, nil
}

// schedule imports and schedules one CIB and renders its summary. A panic
// is returned as an error of kind "panic".
func schedule(xmlPath string) (summary, kind string, err error) {
	defer func() {
		if r := recover(); r != nil {
			kind = "panic"
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	cfg, status, err := cib.ParseFile(xmlPath)
	if err != nil {
		return "", "parse error", err
	}
	res, err := sched.Schedule(sched.Input{Config: cfg, Status: status, Now: time.Now()})
	if err != nil {
		return "", "schedule error", err
	}
	var b bytes.Buffer
	sched.WriteSummary(&b, res.Changes)
	return b.String(), "", nil
}

// runCase runs one case with the per-case timeout.
func runCase(c testCase) outcome {
	o := outcome{testCase: c}
	start := time.Now()
	type result struct {
		summary, kind string
		err           error
	}
	done := make(chan result, 1)
	go func() {
		s, k, err := schedule(c.XML)
		done <- result{s, k, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(caseTimeout):
		r = result{kind: "timeout", err: fmt.Errorf("still running after %s", caseTimeout)}
	}
	o.Elapsed = time.Since(start)
	if r.err != nil {
		o.Kind, o.Detail = r.kind, []string{r.err.Error()}
		return o
	}
	o.Actual = r.summary
	exp, err := os.ReadFile(c.Summary)
	if err != nil {
		o.Kind, o.Detail = "no expected summary", []string{err.Error()}
		return o
	}
	o.Expected = string(exp)
	o.Pass, o.Detail = CompareTexts(o.Expected, o.Actual, Options{})
	o.Kind = "pass"
	if !o.Pass {
		o.Kind = "mismatch"
	}
	return o
}

// runAll runs the cases on GOMAXPROCS workers within budget.
func runAll(cases []testCase, budget time.Duration) []outcome {
	out := make([]outcome, len(cases))
	deadline := time.Now().Add(budget)
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if time.Now().After(deadline) {
					out[i] = outcome{testCase: cases[i], Kind: "not run",
						Detail: []string{fmt.Sprintf("conformance time budget of %s spent", budget)}}
					continue
				}
				out[i] = runCase(cases[i])
			}
		}()
	}
	for i := range cases {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// ownCases are Paceline's own inputs with summaries recorded from
// crm_simulate 2.1.5; they are reported (tier "paceline") but not part of
// the corpus tiers.
func ownCases(root string) []testCase {
	return []testCase{{
		Name:    "paceline-demo",
		Tier:    "paceline",
		XML:     filepath.Join(root, "internal", "cli", "demo", "cluster.xml"),
		Summary: filepath.Join(root, "internal", "cli", "demo", "cluster.summary"),
	}}
}

func TestConformance(t *testing.T) {
	dir := corpusDir(t)
	root := moduleRoot(t)
	cases, err := readTiers(dir)
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, ownCases(root)...)

	name := *caseFlag
	if name == "" {
		name = os.Getenv("CONFORMANCE_CASE")
	}
	if name != "" {
		runOne(t, dir, cases, name)
		return
	}

	floors, err := readFloors("floors.txt")
	if err != nil {
		t.Fatalf("read floors: %v", err)
	}
	budget := defaultBudget
	if s := os.Getenv("CONFORMANCE_BUDGET"); s != "" {
		if budget, err = time.ParseDuration(s); err != nil {
			t.Fatalf("CONFORMANCE_BUDGET=%q: %v", s, err)
		}
	}
	start := time.Now()
	outcomes := runAll(cases, budget)
	report := writeReport(outcomes, time.Since(start))
	for _, line := range strings.Split(strings.TrimRight(report.summary, "\n"), "\n") {
		t.Log(line)
	}
	reportPath := filepath.Join(root, "out", "conformance.txt")
	if err := os.MkdirAll(filepath.Dir(reportPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(reportPath, []byte(report.full), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("full report (failing cases with differences): %s", reportPath)

	for tier, floor := range floors {
		pass, ok := report.passed[tier]
		if !ok {
			t.Errorf("floors.txt names tier %q, which has no cases in tiers.tsv", tier)
			continue
		}
		if pass < floor {
			t.Errorf("tier %s: %d cases pass, below its floor of %d in test/conformance/floors.txt "+
				"(a regression; see %s for the failing cases)", tier, pass, floor, reportPath)
		}
	}
}

// report is the rendered result of a run.
type report struct {
	summary string         // pass rates and failing names
	full    string         // summary plus every failure's details
	passed  map[string]int // tier -> passing cases
}

func writeReport(outcomes []outcome, elapsed time.Duration) report {
	type tally struct {
		pass, total int
		failing     []string
	}
	tiers := map[string]*tally{}
	kinds := map[string]int{}
	var all tally
	for _, o := range outcomes {
		tl := tiers[o.Tier]
		if tl == nil {
			tl = &tally{}
			tiers[o.Tier] = tl
		}
		tl.total++
		all.total++
		kinds[o.Kind]++
		if o.Pass {
			tl.pass++
			all.pass++
		} else {
			tl.failing = append(tl.failing, o.Name)
		}
	}
	names := make([]string, 0, len(tiers))
	for n := range tiers {
		names = append(names, n)
	}
	sort.Strings(names)
	pct := func(p, n int) float64 {
		if n == 0 {
			return 0
		}
		return 100 * float64(p) / float64(n)
	}
	var s bytes.Buffer
	fmt.Fprintf(&s, "Pacemaker %s conformance (Transition Summary as multisets of tuples), %s:\n",
		strings.TrimPrefix(corpusVersion, "pacemaker-"), elapsed.Round(time.Millisecond))
	r := report{passed: map[string]int{}}
	for _, n := range names {
		tl := tiers[n]
		r.passed[n] = tl.pass
		fmt.Fprintf(&s, "  tier %-8s %4d/%-4d passed (%5.1f%%)\n", n, tl.pass, tl.total, pct(tl.pass, tl.total))
	}
	fmt.Fprintf(&s, "  overall       %4d/%-4d passed (%5.1f%%)\n", all.pass, all.total, pct(all.pass, all.total))
	kindNames := make([]string, 0, len(kinds))
	for k := range kinds {
		kindNames = append(kindNames, k)
	}
	sort.Strings(kindNames)
	var kv []string
	for _, k := range kindNames {
		kv = append(kv, fmt.Sprintf("%s %d", k, kinds[k]))
	}
	fmt.Fprintf(&s, "  outcomes: %s\n", strings.Join(kv, ", "))
	for _, n := range names {
		if f := tiers[n].failing; len(f) > 0 {
			fmt.Fprintf(&s, "  failing in tier %s: %s\n", n, strings.Join(f, " "))
		}
	}
	r.summary = s.String()

	var full bytes.Buffer
	full.WriteString(r.summary)
	full.WriteString("\nFailures (- expected only, + actual only):\n")
	for _, o := range outcomes {
		if o.Pass {
			continue
		}
		fmt.Fprintf(&full, "\n%s (tier %s): %s\n", o.Name, o.Tier, o.Kind)
		for _, d := range o.Detail {
			if o.Kind != "panic" {
				d = firstLines(d, 5)
			}
			full.WriteString(indent(d, "    "))
		}
	}
	slow := append([]outcome(nil), outcomes...)
	sort.Slice(slow, func(i, j int) bool { return slow[i].Elapsed > slow[j].Elapsed })
	full.WriteString("\nSlowest cases:\n")
	for _, o := range slow[:min(10, len(slow))] {
		fmt.Fprintf(&full, "    %-50s %s\n", o.Name, o.Elapsed.Round(time.Microsecond))
	}
	r.full = full.String()
	return r
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n")
}

func indent(s, prefix string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString(prefix + line + "\n")
	}
	return b.String()
}

// runOne runs a single case verbosely; it fails when the case does.
func runOne(t *testing.T, dir string, cases []testCase, name string) {
	var c *testCase
	for i := range cases {
		if cases[i].Name == name {
			c = &cases[i]
		}
	}
	if c == nil { // not in tiers.tsv: try the corpus files anyway
		base := filepath.Join(dir, corpusVersion)
		c = &testCase{Name: name, Tier: "?",
			XML: filepath.Join(base, "xml", name+".xml"), Summary: filepath.Join(base, "summary", name+".summary")}
		if _, err := os.Stat(c.XML); err != nil {
			t.Fatalf("no conformance case %q: %v", name, err)
		}
	}
	o := runCase(*c)
	t.Logf("case %s (tier %s), input %s, %s", o.Name, o.Tier, o.XML, o.Elapsed.Round(time.Microsecond))
	if items, ok := ExtractSection(o.Expected); ok {
		t.Logf("expected (Pacemaker):\nTransition Summary:\n%s", strings.Join(items, "\n"))
	}
	if o.Actual != "" {
		t.Logf("actual (Paceline):\n%s", strings.TrimRight(o.Actual, "\n"))
	}
	if o.Pass {
		t.Logf("PASS")
		return
	}
	t.Errorf("%s: %s\n%s", o.Name, o.Kind, strings.Join(o.Detail, "\n"))
}
