package plan_test

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/paceline/paceline/internal/cib"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/plan"
	"github.com/paceline/paceline/internal/sched"
)

// TestPlan runs the scenario files in testdata: a small CIB, then the
// executable plan Build makes of the scheduler's decision for it.
//
//	cib
//	<cib ...>...</cib>
//	----
//
// parses the CIB (output: empty, or the parse error).
//
//	plan [meta=NAME,NAME...] [params] [done=ID,ID...]
//	----
//	ID KIND HISTORY-ID@NODE [interval=] rc=N after=[...] ...
//
// prints one line per action in id order: kind, the id the node records it
// under, the node, interval, expected exit code, the actions it waits for,
// with params its instance parameters, and the CRM_meta_ entries named in
// meta. done marks actions done; the output then ends with the ready
// actions ("ready: ...").
//
// Regenerate after a deliberate change and review the diff:
//
//	go test ./internal/plan -rewrite
func TestPlan(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		if filepath.Ext(path) != ".txt" {
			t.Skipf("%s: not a scenario file", path)
		}
		var cfg *model.Config
		var st *model.Status
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "cib":
				var err error
				cfg, st, err = cib.Parse(strings.NewReader(d.Input))
				if err != nil {
					return err.Error() + "\n"
				}
				return ""
			case "plan":
				res, err := sched.Schedule(sched.Input{Config: cfg, Status: st, Now: time.Unix(1700000000, 0)})
				if err != nil {
					return err.Error() + "\n"
				}
				p := plan.Build(plan.Input{Result: res, Config: cfg, Status: st})
				return render(p, d)
			}
			d.Fatalf(t, "unknown command %s", d.Cmd)
			return ""
		})
	})
}

func render(p *plan.Plan, d *datadriven.TestData) string {
	var metas []string
	params := false
	done := map[int]bool{}
	doneGiven := false
	for _, arg := range d.CmdArgs {
		switch arg.Key {
		case "meta":
			metas = arg.Vals
		case "params":
			params = true
		case "done":
			doneGiven = true
			for _, v := range arg.Vals {
				var id int
				fmt.Sscan(v, &id)
				done[id] = true
			}
		}
	}
	var b strings.Builder
	for _, a := range p.Actions {
		fmt.Fprintf(&b, "%d %s %s@%s", a.ID, a.Kind, a.HistoryID, a.Node)
		if a.Kind == plan.Fence {
			fmt.Fprintf(&b, " action=%s", a.FenceAction)
		}
		if a.Interval > 0 {
			fmt.Fprintf(&b, " interval=%v", a.Interval)
		}
		if a.Role != "" {
			fmt.Fprintf(&b, " role=%s", a.Role)
		}
		fmt.Fprintf(&b, " rc=%d timeout=%v", a.TargetRC, a.Timeout)
		if len(a.After) > 0 {
			fmt.Fprintf(&b, " after=%v", a.After)
		}
		b.WriteString("\n")
		if params && len(a.Params) > 0 {
			fmt.Fprintf(&b, "    params: %s\n", kv(a.Params, nil))
		}
		if len(metas) > 0 {
			if s := kv(a.Meta, metas); s != "" {
				fmt.Fprintf(&b, "    meta: %s\n", s)
			}
		}
	}
	if doneGiven {
		var ids []string
		for _, a := range plan.Ready(p, done) {
			ids = append(ids, fmt.Sprint(a.ID))
		}
		fmt.Fprintf(&b, "ready: %s\n", strings.Join(ids, " "))
	}
	return b.String()
}

func kv(m map[string]string, only []string) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		if only != nil {
			found := false
			for _, o := range only {
				if o == k {
					found = true
				}
			}
			if !found {
				continue
			}
		}
		parts = append(parts, fmt.Sprintf("%s=%q", k, m[k]))
	}
	return strings.Join(parts, " ")
}
