package cib

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/model"
)

// corpusDir returns the Pacemaker conformance corpus, which lives beside the
// module (../shared/conformance from the module root) and is never copied
// into the repository; the test is skipped when it is absent.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("module root not found; skipping the conformance corpus")
		}
		dir = parent
	}
	c := filepath.Join(dir, "..", "shared", "conformance", "pacemaker-2.1.5")
	if _, err := os.Stat(filepath.Join(c, "tiers.tsv")); err != nil {
		t.Skipf("conformance corpus not found at %s; skipping", c)
	}
	return c
}

// readTiers reads tiers.tsv: case name -> tier.
func readTiers(t *testing.T, dir string) map[string]int {
	f, err := os.Open(filepath.Join(dir, "tiers.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tiers := make(map[string]int)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, tier, ok := strings.Cut(sc.Text(), "\t")
		if n, err := strconv.Atoi(tier); ok && err == nil {
			tiers[name] = n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return tiers
}

// TestCorpus parses every case: tiers 1 and 2 must parse, tier 3 cases
// either parse or are refused with an *UnsupportedError; every parsed
// configuration must pass model.Config.Validate.
func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	tiers := readTiers(t, dir)
	files, err := filepath.Glob(filepath.Join(dir, "xml", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	refused := 0
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".xml")
		tier, ok := tiers[name]
		if !ok {
			t.Errorf("%s: not in tiers.tsv", name)
			continue
		}
		cfg, _, err := ParseFile(path)
		var ue *UnsupportedError
		switch {
		case err == nil:
			if err := cfg.Validate(); err != nil {
				t.Errorf("tier %d case %s: Validate: %v", tier, name, err)
			}
		case tier == 3 && errors.As(err, &ue):
			refused++
		default:
			t.Errorf("tier %d case %s: %v", tier, name, err)
		}
	}
	t.Logf("%d cases, %d tier 3 cases refused as unsupported", len(files), refused)
}

func parseCase(t *testing.T, name string) (*model.Config, *model.Status) {
	t.Helper()
	cfg, st, err := ParseFile(filepath.Join(corpusDir(t), "xml", name+".xml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg, st
}

// findRes finds a resource by id at any depth.
func findRes(rs []model.Resource, id string) *model.Resource {
	for i := range rs {
		if rs[i].ID == id {
			return &rs[i]
		}
		if r := findRes(rs[i].Children, id); r != nil {
			return r
		}
	}
	return nil
}

func findHistory(st *model.Status, node, rsc string) *model.ResourceHistory {
	for i := range st.Nodes {
		if st.Nodes[i].Name != node {
			continue
		}
		for j := range st.Nodes[i].Resources {
			if st.Nodes[i].Resources[j].ID == rsc {
				return &st.Nodes[i].Resources[j]
			}
		}
	}
	return nil
}

// The nvpair-id-ref case: rsc2's params are both taken from rsc1's nvpair,
// the second under its own name.
func TestCorpusNvpairIDRef(t *testing.T) {
	cfg, st := parseCase(t, "nvpair-id-ref")
	if len(cfg.Nodes) != 2 || len(st.Nodes) != 2 {
		t.Fatalf("nodes: config %d, status %d; want 2, 2", len(cfg.Nodes), len(st.Nodes))
	}
	r := findRes(cfg.Resources, "rsc2")
	want := []model.NV{{Name: "fake", Value: "common-value"}, {Name: "fake_fake", Value: "common-value"}}
	if r == nil || !slices.Equal(r.Params, want) {
		t.Fatalf("rsc2 params = %v, want %v", r, want)
	}
	if got := cfg.Properties["no-quorum-policy"]; got != "ignore" {
		t.Errorf("no-quorum-policy = %q", got)
	}
	h := findHistory(st, "node1", "rsc_stonith")
	if h == nil || len(h.Ops) != 2 || h.Ops[0].TargetRC != 7 || h.Ops[0].RC != 7 || h.Ops[1].CallID != 2 {
		t.Fatalf("node1 rsc_stonith history = %+v", h)
	}
}

// The intervals case: ISO 8601 intervals without T, and an invalid timeout
// that Pacemaker replaces by the default.
func TestCorpusIntervals(t *testing.T) {
	cfg, _ := parseCase(t, "intervals")
	ops := map[string]model.Op{}
	for _, r := range cfg.Resources {
		for _, op := range r.Ops {
			ops[op.ID] = op
		}
	}
	for id, want := range map[string]time.Duration{
		"rsc3-monitor-interval-P40S": 40 * time.Second,
		"rsc4-monitor-interval-P30S": 30 * time.Second,
		"rsc2-monitor-interval-90s":  90 * time.Second,
		"rsc1-start-interval-0s":     0,
	} {
		if got := ops[id].Interval; got != want {
			t.Errorf("%s interval = %v, want %v", id, got, want)
		}
	}
	if op := ops["rsc1-start-interval-0s"]; op.Timeout != 20*time.Second {
		t.Errorf("rsc1 start timeout = %v, want 20s", op.Timeout)
	}
	if op := ops["rsc6-monitor-interval-28s"]; op.Timeout != 0 {
		t.Errorf("timeout=\"bad\" gave %v, want 0 (default)", op.Timeout)
	}
	if op := ops["rsc5-monitor-interval-25s"]; op.Role != "Stopped" {
		t.Errorf("rsc5 monitor role = %q", op.Role)
	}
}

// The promoted-demote-2 case: a promotable clone and a Promoted monitor
// recorded with target rc 8.
func TestCorpusPromotedDemote(t *testing.T) {
	cfg, st := parseCase(t, "promoted-demote-2")
	if len(cfg.Nodes) != 4 || len(st.Nodes) != 4 {
		t.Fatalf("nodes: config %d, status %d; want 4, 4", len(cfg.Nodes), len(st.Nodes))
	}
	if !st.HaveQuorum || st.DC != "pcmk-1" {
		t.Errorf("quorum %v, DC %q", st.HaveQuorum, st.DC)
	}
	c := findRes(cfg.Resources, "master-1")
	if c == nil || c.Kind != model.KindClone || c.Meta["promotable"] != "true" || len(c.Children) != 1 {
		t.Fatalf("master-1 = %+v", c)
	}
	h := findHistory(st, "pcmk-1", "stateful-1:1")
	if h == nil {
		t.Fatal("no history of stateful-1:1 on pcmk-1")
	}
	var found bool
	for _, op := range h.Ops {
		if op.ID == "stateful-1:1_monitor_16000" {
			found = true
			if op.TargetRC != 8 || op.RC != 8 || op.Interval != 16000 || op.CallID != 28 {
				t.Errorf("monitor record = %+v", op)
			}
		}
	}
	if !found {
		t.Error("stateful-1:1_monitor_16000 not found")
	}
}

// The site-specific-params case: three instance_attributes sets with rules.
func TestCorpusRuleParams(t *testing.T) {
	cfg, _ := parseCase(t, "site-specific-params")
	r := findRes(cfg.Resources, "rsc1")
	if r == nil || len(r.RuleParams) != 3 || len(r.Params) != 0 {
		t.Fatalf("rsc1 = %+v", r)
	}
	rp := r.RuleParams[1]
	if rp.ID != "rsc1-instance_attributes-2" || rp.Rule == nil ||
		len(rp.Rule.Expressions) != 1 || rp.Rule.Expressions[0].Value != "siteB" ||
		rp.Values[0].Value != "/var/run/Dummy-rsc1-siteB" {
		t.Errorf("second rule set = %+v", rp)
	}
}

// BenchmarkCorpus measures parsing the whole corpus.
func BenchmarkCorpus(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(corpusDir(b), "xml", "*.xml"))
	for b.Loop() {
		for _, f := range files {
			ParseFile(f)
		}
	}
}
