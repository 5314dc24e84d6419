package controller

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/paceline/paceline/internal/membership"
	"github.com/paceline/paceline/internal/store"
)

// TestJudge runs the transcripts in testdata/liveness: when a lost node
// is recoverable (judge), one decision per command.
//
//	judge state=online|unclean|offline lease=alive|expired|recoverable [renewed] [stonith]
//	      [guarded] [witness] [maintenance] [fenced] [failure=WORD]
//	----
//	STATE [hold: REASON]
//
// The node is n2. Regenerate with go test ./internal/controller -run
// TestJudge -rewrite and review the diff.
func TestJudge(t *testing.T) {
	datadriven.Walk(t, filepath.Join("testdata", "liveness"), func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd != "judge" {
				t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
			}
			f := nodeFacts{Name: "n2"}
			for _, a := range d.CmdArgs {
				switch a.Key {
				case "state":
					f.State = store.State(a.Vals[0])
				case "lease":
					f.Lease = map[string]membership.Liveness{"alive": membership.Alive, "expired": membership.Expired,
						"recoverable": membership.Recoverable}[a.Vals[0]]
				case "renewed":
					f.Renewed = true
				case "stonith":
					f.Stonith = true
				case "guarded":
					f.Guarded = true
				case "witness":
					f.RunsNothing = true
				case "maintenance":
					f.Maintenance = true
				case "fenced":
					f.Fenced = true
				case "failure":
					f.LastFailure = strings.Join(a.Vals, " ")
				default:
					t.Fatalf("%s: unknown argument %q", d.Pos, a.Key)
				}
			}
			v := judge(f)
			out := string(v.Want)
			if v.Hold != "" {
				out += "\nhold: " + v.Hold
			}
			return out + "\n"
		})
	})
}
