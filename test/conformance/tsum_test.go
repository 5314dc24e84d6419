package conformance

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// syntheticSummaries exercise formats the corpus may not contain.
var syntheticSummaries = []string{
	"Transition Summary:\n" +
		"  * Fence (reboot) node3 'peer is no longer part of the cluster'\n" +
		"  * Fence (off) guest1 (resource: vm1) 'guest is unclean'\n" +
		"  * Shutdown node2\n" +
		"  * Start      rsc1     ( node1 )\n" +
		"  * Stop       rsc2     ( node1 )  due to node availability\n" +
		"  * Move       rsc3     ( node1 -> node2 )  due to node availability (blocked)\n" +
		"  * Promote    ms:0     ( Slave -> Master node1 )\n" +
		"  * Demote     ms:1     ( Master -> Slave node2 )\n" +
		"  * Promote    ms:2     ( Stopped -> Promoted node3 )\n" +
		"  * Stop       ms:3     ( Promoted node4 )\n" +
		"  * Move       ms:4     ( node1 -> node2 Unpromoted )\n" +
		"  * Move       ms:5     ( Promoted node1 -> Unpromoted node2 )\n" +
		"  * Recover    rsc4     ( node1 )\n" +
		"  * Restart    rsc5     ( Started node2 )  blocked\n" +
		"  * Migrate    rsc6     ( node1 -> node2 )\n" +
		"  * Re-promote ms:6     ( Promoted node1 )\n" +
		"  * Reload     rsc7     ( node1 )\n" +
		"  * Start      rsc8     ( Stopped -> Started node1 )\n" +
		"  * Frobnicate rsc9     ( node1 )\n" +
		"  * Start      rsc10    ( a b c )\n" +
		"  ** odd   line\n" +
		"Executing Cluster Transition:\n  * Resource action: x\n",
	"Current cluster status:\n  * Node List:\n\nTransition Summary:\n\nExecuting Cluster Transition:\n",
	"no section here\n",
	"Transition Summary:\r\n  * Start rsc1 ( node1 )\r\n  * Start rsc1 ( node1 )\r\nunindented\n  * Stop rsc1 ( node1 )\n",
}

// pythonParse runs the corpus's tsum.py on every text and returns, per
// text, the tuples of each option set (nil when no section), plus the
// compare results of consecutive pairs.
const pythonScript = `
import json, sys
sys.path.insert(0, sys.argv[1])
import tsum
texts = json.load(sys.stdin)
opts = {"plain": tsum.Options(), "reasons": tsum.Options(reasons=True),
        "noinst": tsum.Options(no_instance=True)}
out = {"parse": [], "compare": []}
for t in texts:
    out["parse"].append({k: tsum.parse_summary(t, o) for k, o in opts.items()})
for a, b in zip(texts, texts[1:] + texts[:1]):
    out["compare"].append(list(tsum.compare_texts(a, b)))
json.dump(out, sys.stdout)
`

func TestTsumMatchesPython(t *testing.T) {
	dir := corpusDir(t)
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found: cannot cross-check tsum.go with tsum.py")
	}
	texts := append([]string{}, syntheticSummaries...)
	names := make([]string, len(texts))
	for i := range names {
		names[i] = "synthetic-" + string(rune('a'+i))
	}
	files, _ := filepath.Glob(filepath.Join(dir, "pacemaker-2.1.5", "summary", "*.summary"))
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, string(b))
		names = append(names, filepath.Base(f))
	}
	in, _ := json.Marshal(texts)
	cmd := exec.Command(python, "-c", pythonScript, dir)
	cmd.Stdin = strings.NewReader(string(in))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 tsum cross-check: %v", err)
	}
	var py struct {
		Parse   []map[string]*[][]string `json:"parse"`
		Compare [][]any                  `json:"compare"`
	}
	if err := json.Unmarshal(out, &py); err != nil {
		t.Fatal(err)
	}
	optSets := map[string]Options{"plain": {}, "reasons": {Reasons: true}, "noinst": {NoInstance: true}}
	for i, text := range texts {
		for key, opts := range optSets {
			want := py.Parse[i][key]
			got, ok := ParseSummary(text, opts)
			if (want != nil) != ok {
				t.Errorf("%s (%s): section found: tsum.py %v, tsum.go %v", names[i], key, want != nil, ok)
				continue
			}
			if want == nil {
				continue
			}
			gotF := make([][]string, len(got))
			for j, tu := range got {
				gotF[j] = tu.fields(opts)
			}
			if len(*want) == 0 && len(gotF) == 0 {
				continue
			}
			if !reflect.DeepEqual(*want, gotF) {
				t.Errorf("%s (%s):\ntsum.py: %q\ntsum.go: %q", names[i], key, *want, gotF)
			}
		}
		j := (i + 1) % len(texts)
		eq, msgs := CompareTexts(text, texts[j], Options{})
		wantEq := py.Compare[i][0].(bool)
		var wantMsgs []string
		for _, m := range py.Compare[i][1].([]any) {
			wantMsgs = append(wantMsgs, m.(string))
		}
		if eq != wantEq || !reflect.DeepEqual(msgs, wantMsgs) {
			t.Errorf("compare %s with %s:\ntsum.py: %v %q\ntsum.go: %v %q", names[i], names[j], wantEq, wantMsgs, eq, msgs)
		}
	}
	t.Logf("tsum.go parses and compares %d summaries as tsum.py does", len(texts))
}

// TestParseLine pins a few tuples so the parser is checked even without
// python3 or the corpus.
func TestParseLine(t *testing.T) {
	for _, c := range []struct {
		line string
		want Tuple
	}{
		{"  * Start      rsc1     ( node1 )", Tuple{Action: "Start", Resource: "rsc1", To: "node1"}},
		{"  * Stop       rsc1     ( Promoted node1 )  due to node availability", Tuple{Action: "Stop", Resource: "rsc1", From: "node1", Extra: "Promoted"}},
		{"  * Promote    ms:0     ( Slave -> Master node1 )", Tuple{Action: "Promote", Resource: "ms:0", From: "node1", To: "node1", Extra: "Unpromoted->Promoted"}},
		{"  * Promote    ms:0     ( Stopped -> Promoted node1 )", Tuple{Action: "Promote", Resource: "ms:0", To: "node1", Extra: "Stopped->Promoted"}},
		{"  * Move       ms:0     ( Promoted node1 -> Unpromoted node2 )", Tuple{Action: "Move", Resource: "ms:0", From: "node1", To: "node2", Extra: "Promoted->Unpromoted"}},
		{"  * Fence (reboot) node3 'peer is no longer part of the cluster'", Tuple{Action: "Fence", To: "node3", Extra: "reboot"}},
		{"  * Fence (off) g1 (resource: vm1) 'x'", Tuple{Action: "Fence", Resource: "vm1", To: "g1", Extra: "off"}},
		{"  * Shutdown node2", Tuple{Action: "Shutdown", To: "node2"}},
		{"  ** odd   line", Tuple{Action: "?", Resource: "odd line"}},
	} {
		if got := ParseLine(c.line, Options{}); got != c.want {
			t.Errorf("ParseLine(%q) = %+v, want %+v", c.line, got, c.want)
		}
	}
	if got := ParseLine("  * Start r:3 ( n1 )  due to x  y", Options{Reasons: true, NoInstance: true}); got != (Tuple{Action: "Start", Resource: "r", To: "n1", Reason: "due to x y"}) {
		t.Errorf("options: got %+v", got)
	}
}
