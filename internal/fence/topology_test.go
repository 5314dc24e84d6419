package fence

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestTopology runs the transcripts in testdata/topology/*.txt. Commands:
//
//	stages target=NODE [capable=DEV,DEV]
//	level NODE INDEX DEV[,DEV]     (input lines; none: no levels)
//	----
//	the stages Stages returns
//
//	run action=ACTION
//	DEVICE ACTION ok|fail [REASON]  (input lines: the outcome of each step
//	                                 Next proposes, in order)
//	----
//	each step and its outcome, then Next's decision
//
// run uses the stages of the last stages command. Regenerate with
// go test ./internal/fence -run TestTopology -rewrite (then review the
// diff).
func TestTopology(t *testing.T) {
	datadriven.Walk(t, "testdata/topology", func(t *testing.T, path string) {
		var stages []Stage
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "stages":
				var target, capable string
				d.ScanArgs(t, "target", &target)
				if d.HasArg("capable") {
					d.ScanArgs(t, "capable", &capable)
				}
				var levels []Level
				for _, line := range nonEmpty(d.Input) {
					f := strings.Fields(line)
					if len(f) != 4 || f[0] != "level" {
						d.Fatalf(t, "bad level line %q", line)
					}
					idx, err := strconv.Atoi(f[2])
					if err != nil {
						d.Fatalf(t, "bad index in %q", line)
					}
					levels = append(levels, Level{Target: f[1], Index: idx, Devices: strings.Split(f[3], ",")})
				}
				var devs []string
				if capable != "" {
					devs = strings.Split(capable, ",")
				}
				stages = Stages(target, levels, devs)
				var b strings.Builder
				for i, s := range stages {
					fmt.Fprintf(&b, "stage %d: %s\n", i, stageName(s))
				}
				if len(stages) == 0 {
					b.WriteString("no stages\n")
				}
				return b.String()
			case "run":
				var action string
				d.ScanArgs(t, "action", &action)
				var done []Outcome
				var b strings.Builder
				for _, line := range nonEmpty(d.Input) {
					dec := Next(stages, action, done)
					if dec.Verdict != Continue {
						fmt.Fprintf(&b, "unexpected %s before %q\n", dec.Verdict, line)
						return b.String()
					}
					f := strings.Fields(line)
					if len(f) < 3 || f[0] != dec.Step.Device || f[1] != dec.Step.Action {
						fmt.Fprintf(&b, "next step is %s %s, not %q\n", dec.Step.Device, dec.Step.Action, line)
						return b.String()
					}
					o := Outcome{Step: dec.Step, OK: f[2] == "ok", Reason: strings.Join(f[3:], " ")}
					done = append(done, o)
					fmt.Fprintf(&b, "%s %s %s -> %s\n", stageName(stages[o.Stage]), o.Device, o.Action, f[2])
				}
				dec := Next(stages, action, done)
				if dec.Verdict == Continue {
					fmt.Fprintf(&b, "next: %s %s\n", dec.Step.Device, dec.Step.Action)
				} else {
					fmt.Fprintf(&b, "%s: %s\n", dec.Verdict, dec.Reason)
				}
				return b.String()
			}
			d.Fatalf(t, "unknown command %s", d.Cmd)
			return ""
		})
	})
}

func nonEmpty(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
