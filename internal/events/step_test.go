package events

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/paceline/paceline/internal/store"
)

// TestStep runs the scenarios in testdata/*.txt: each "view" directive is
// one view of the cluster given to one Tracker, and prints the events
// Step returns (JSON lines, "none" when there are none); "same" gives
// the last view again with only its leader and quorum (Unchanged).
//
//	view t=<seconds> [self=N] [leader=N] [quorum=false] [epoch=E who=W msg=M]
//	same t=<seconds> [leader=N] [quorum=false]
//	node NAME STATE [shutdown]
//	rsc ID [clone] [vip=ADDR] NODE=ROLE[/VIA] ...
//	fail RSC NODE OP rc=N call=N [at=S] [interval=MS] reason=TEXT (rest of line)
//
// Rewrite the expected output with: go test ./internal/events -run Step -rewrite
func TestStep(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var tr Tracker
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			v, now := parseView(t, d)
			var evs []store.Event
			switch d.Cmd {
			case "view":
				evs = tr.Step(v, now)
			case "same":
				evs = tr.Unchanged(v.Leader, v.Quorum, now)
			default:
				t.Fatalf("unknown directive %q", d.Cmd)
			}
			if len(evs) == 0 {
				return "none\n"
			}
			var b strings.Builder
			for _, e := range evs {
				e.At -= now.UnixMilli() // relative: 0 is "now"
				j, err := json.Marshal(e)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&b, "%s\n", j)
			}
			return b.String()
		})
	})
}

func parseView(t *testing.T, d *datadriven.TestData) (View, time.Time) {
	v := View{Self: "n1", Leader: "n1", Quorum: true, Epoch: 1,
		Nodes: map[string]Node{}, Resources: map[string]Resource{}, Failures: map[string]Failure{}}
	var now time.Time
	for _, a := range d.CmdArgs {
		val := ""
		if len(a.Vals) > 0 {
			val = a.Vals[0]
		}
		switch a.Key {
		case "t":
			s, _ := strconv.ParseFloat(val, 64)
			now = time.UnixMilli(int64(s * 1000))
		case "self":
			v.Self = val
		case "leader":
			v.Leader = val
		case "quorum":
			v.Quorum = val == "true"
		case "epoch":
			v.Epoch, _ = strconv.ParseUint(val, 10, 64)
		case "who":
			v.Who = val
		case "msg":
			v.Message = val
		default:
			t.Fatalf("unknown argument %s", a.Key)
		}
	}
	for _, line := range strings.Split(d.Input, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "node":
			v.Nodes[f[1]] = Node{State: store.State(f[2]), Shutdown: len(f) > 3 && f[3] == "shutdown"}
		case "rsc":
			r := Resource{Instances: map[string]Instance{}}
			for _, w := range f[2:] {
				switch k, val, _ := strings.Cut(w, "="); {
				case w == "clone":
					r.Clone = true
				case k == "vip":
					r.Address = val
				default:
					role, via, _ := strings.Cut(val, "/")
					r.Instances[k] = Instance{Role: role, Via: via}
				}
			}
			v.Resources[f[1]] = r
		case "fail":
			fl := Failure{Resource: f[1], Node: f[2], Operation: f[3]}
			rest := f[4:]
			for i, w := range rest {
				k, val, _ := strings.Cut(w, "=")
				n, _ := strconv.ParseInt(val, 10, 64)
				switch k {
				case "rc":
					fl.RC = int(n)
				case "call":
					fl.CallID = int(n)
				case "at":
					fl.At = n
				case "interval":
					fl.Interval = n
				case "reason":
					fl.Reason = strings.Join(append([]string{val}, rest[i+1:]...), " ")
				}
				if k == "reason" {
					break
				}
			}
			v.Failures[FailureKey(fl)] = fl
		default:
			t.Fatalf("unknown line %q", line)
		}
	}
	return v, now
}
