package controller

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/plan"
)

// TestEngine runs the transcripts in testdata: the controller's decision
// core driven event by event, with no store, network or clock.
//
//	plan
//	ID KIND RSC@NODE [interval=DUR] [after=ID,ID] [post]
//	----
//
// is the plan the engine gets the next time it wants one (output: empty).
//
//	turn [at=SECONDS] [held=RSC,...] [fail=ID] [limit=N] [fences=NODE,...]
//	----
//
// runs one turn at that time (default: the last one), with batch-limit N
// (default 0: none): if the engine wants
// a plan it gets the one given last ("planned: N actions"), then every
// action it hands over is listed ("dispatch ID KEY"); fail=ID makes
// handing that one over fail; fences=NODE,... hands over only the fence
// actions of those targets (the controller while a node is unheard).
// "due in D" says when the engine wants to be
// looked at again without an event (a failure backoff ending, a recheck).
//
//	result ID rc=N [target=N] [status=N] [same] [fatal] [node=NODE]
//	----
//
// delivers the result of action ID of the running transition (its
// transition key; node defaults to the action's) and prints the outcome
// ("write failcount=N" or "ignore").
//
//	change | gone NODE
//	----
//
// an outside change, or a node whose ops will never report.
//
// Regenerate with go test ./internal/controller -run TestEngine -rewrite
// and review the diff.
func TestEngine(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		if filepath.Ext(path) != ".txt" || strings.Contains(path, "liveness") {
			t.Skipf("%s: not an engine transcript", path)
		}
		e := newEngine("c1")
		var next *plan.Plan
		var last *plan.Plan
		now := time.Unix(1_700_000_000, 0)
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "plan":
				next = parsePlan(t, d)
				return ""
			case "turn":
				var out strings.Builder
				held := map[string]bool{}
				var fences map[string]bool
				fail, limit := -1, 0
				for _, arg := range d.CmdArgs {
					switch arg.Key {
					case "at":
						s, _ := strconv.Atoi(arg.Vals[0])
						now = time.Unix(1_700_000_000+int64(s), 0)
					case "held":
						for _, v := range arg.Vals {
							held[v] = true
						}
					case "fail":
						fail, _ = strconv.Atoi(arg.Vals[0])
					case "limit":
						limit, _ = strconv.Atoi(arg.Vals[0])
					case "fences":
						fences = map[string]bool{}
						for _, v := range arg.Vals {
							fences[v] = true
						}
					}
				}
				if e.wantPlan(now) {
					p := next
					if p == nil {
						p = plan.New(nil)
					}
					next = nil
					e.start(p, time.Time{})
					if !p.Empty() {
						last = p
					}
					fmt.Fprintf(&out, "planned: %d actions\n", len(p.Actions))
				}
				for _, a := range e.ready(now, held, fences, limit) {
					var err error
					if a.ID == fail {
						err = errors.New("unreachable")
					}
					fmt.Fprintf(&out, "dispatch %d %s", a.ID, a.Key())
					if err != nil {
						out.WriteString(" (failed)")
					}
					out.WriteString("\n")
					if !e.sent(a, err) {
						break
					}
				}
				if at := e.due(now); !at.IsZero() {
					fmt.Fprintf(&out, "due in %v\n", at.Sub(now))
				}
				return out.String()
			case "result":
				var id int
				fmt.Sscan(d.CmdArgs[0].Key, &id)
				a := last.Get(id)
				if a == nil {
					d.Fatalf(t, "no action %d", id)
				}
				rec := model.OpRecord{Operation: a.Kind, Interval: a.Interval.Milliseconds(), TargetRC: a.TargetRC}
				if e.tr != nil && e.tr.p == last {
					rec.TransitionKey = e.key(a)
				}
				node := a.Node
				same, fatal := false, false
				for _, arg := range d.CmdArgs[1:] {
					switch arg.Key {
					case "rc":
						rec.RC, _ = strconv.Atoi(arg.Vals[0])
					case "target":
						rec.TargetRC, _ = strconv.Atoi(arg.Vals[0])
					case "status":
						rec.OpStatus, _ = strconv.Atoi(arg.Vals[0])
					case "same":
						same = true
					case "fatal":
						fatal = true
					case "node":
						node = arg.Vals[0]
					}
				}
				o := e.result(node, a.HistoryID, &rec, same, fatal, now)
				if !o.write {
					return "ignore\n"
				}
				return fmt.Sprintf("write failcount=%s\n", o.failCountAdd)
			case "change":
				e.changed()
				return ""
			case "gone":
				e.nodeGone(d.CmdArgs[0].Key)
				return ""
			}
			d.Fatalf(t, "unknown command %s", d.Cmd)
			return ""
		})
	})
}

// parsePlan reads "ID KIND RSC@NODE [interval=DUR] [after=ID,ID] [post]"
// lines.
func parsePlan(t *testing.T, d *datadriven.TestData) *plan.Plan {
	var acts []*plan.Action
	for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			d.Fatalf(t, "bad action line %q", line)
		}
		id, _ := strconv.Atoi(f[0])
		rsc, node, _ := strings.Cut(f[2], "@")
		a := &plan.Action{ID: id, Kind: f[1], Resource: rsc, HistoryID: rsc, Node: node, Meta: map[string]string{}}
		if a.Kind == plan.Monitor && a.Interval == 0 {
			a.TargetRC = 7
		}
		for _, opt := range f[3:] {
			k, v, _ := strings.Cut(opt, "=")
			switch k {
			case "interval":
				a.Interval, _ = time.ParseDuration(v)
				a.TargetRC = 0
			case "after":
				for _, x := range strings.Split(v, ",") {
					n, _ := strconv.Atoi(x)
					a.After = append(a.After, n)
				}
			case "post":
				a.Meta["notify_type"] = "post"
			case "pre":
				a.Meta["notify_type"] = "pre"
			}
		}
		sort.Ints(a.After)
		acts = append(acts, a)
	}
	return plan.New(acts)
}
