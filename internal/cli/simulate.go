package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/paceline/paceline/internal/cib"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/sched"
)

// simulateOptions are the flags of "paceline simulate".
type simulateOptions struct {
	// cibPath is the Pacemaker CIB XML file to schedule.
	cibPath string
	// cibXML, when set, is scheduled instead of cibPath's file.
	cibXML []byte
	// explain names a resource whose placement is explained after the
	// result; empty for none.
	explain string
	// json selects the JSON output (see simulateJSON).
	json bool
	// timing prints parse, schedule and render durations to stderr.
	timing bool
	// name is how messages call the input (default: cibPath).
	name string
}

// simulateJSON is the stable JSON output of "paceline simulate --json".
type simulateJSON struct {
	// Changes is the Transition Summary as data, in Pacemaker's order;
	// always an array (empty when nothing changes).
	Changes []sched.Change `json:"changes"`
	// Summary is the Transition Summary as crm_simulate prints it.
	Summary string `json:"summary"`
	// Current and Revised are the cluster status before and after the
	// transition, as text.
	Current string `json:"current"`
	Revised string `json:"revised"`
	// Explanation is present with --explain.
	Explanation *explanationJSON `json:"explanation,omitempty"`
}

type explanationJSON struct {
	Resource string `json:"resource"`
	Text     string `json:"text"`
}

func newSimulateCmd(s streams) *cobra.Command {
	var opts simulateOptions
	cmd := &cobra.Command{
		Use:   "simulate --cib FILE.xml [--explain RESOURCE] [--json] [--timing]",
		Short: "Show what the placement engine decides for a saved cluster (offline)",
		Long: `Simulate runs Paceline's placement engine on a Pacemaker CIB (the XML that
"cibadmin --query" prints, or a crm_simulate input with its status section)
and prints what it decides, in the format of "crm_simulate -x FILE -S":

  Current cluster status:   nodes and resources as the CIB records them
  Transition Summary:       what starts, stops, moves, recovers, restarts,
                            promotes, demotes, migrates, and which nodes
                            are fenced
  Revised Cluster Status:   the cluster after the transition

Nothing is contacted or changed: this works on the file alone. "Now" for
failure timeouts and date rules is the CIB's execution-date when it has
one, else the current time.

--explain RESOURCE adds, in plain words, why the resource is placed where
it is: which nodes were rejected and why, and where each score came from.

--json prints one JSON object instead:
  {"changes": [{"action", "resource", "from", "to", "from_role",
                "to_role", "reason", "blocked", "fence_action"}, ...],
   "summary": "Transition Summary:\n  * ...", "current": "...",
   "revised": "...", "explanation": {"resource", "text"}}
(empty fields are left out; "explanation" only with --explain).

--timing prints the time spent parsing, scheduling and rendering to stderr.`,
		Example: `  paceline simulate --cib cluster.xml
  paceline simulate --cib cluster.xml --explain web-vip
  paceline demo --print-cib > demo.xml && paceline simulate --cib demo.xml --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.cibPath == "" {
				return usagef("simulate needs --cib FILE.xml (see 'paceline simulate --help')")
			}
			return runSimulate(s, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.cibPath, "cib", "", "Pacemaker CIB XML file to schedule (required)")
	f.StringVar(&opts.explain, "explain", "", "explain the placement of this resource")
	f.BoolVar(&opts.json, "json", false, "print the result as JSON (format above)")
	f.BoolVar(&opts.timing, "timing", false, "print parse, schedule and render durations to stderr")
	return cmd
}

// runSimulate parses opts.cibPath, schedules it and writes the result.
func runSimulate(s streams, opts simulateOptions) error {
	if opts.name == "" {
		opts.name = opts.cibPath
	}
	t0 := time.Now()
	var (
		cfg    *model.Config
		status *model.Status
		err    error
	)
	if opts.cibXML != nil {
		cfg, status, err = cib.Parse(bytes.NewReader(opts.cibXML))
	} else {
		cfg, status, err = cib.ParseFile(opts.cibPath)
	}
	if err != nil {
		return fmt.Errorf("read CIB: %w", err)
	}
	t1 := time.Now()
	in := sched.Input{Config: cfg, Status: status, Now: t1}
	if opts.explain != "" {
		in.Explain = []string{opts.explain}
	}
	res, err := sched.Schedule(in)
	if err != nil {
		return fmt.Errorf("schedule %s: %w", opts.name, err)
	}
	t2 := time.Now()

	var expl *sched.Explanation
	if opts.explain != "" {
		e, ok := res.Explain[opts.explain]
		if !ok || e == nil {
			return fmt.Errorf("no resource %q in %s%s", opts.explain, opts.name, knownResources(res.Resources))
		}
		expl = e
	}

	var out bytes.Buffer
	if opts.json {
		err = writeSimulateJSON(&out, res, opts.explain, expl)
	} else {
		writeSimulateText(&out, res, opts.explain, expl)
	}
	if err != nil {
		return err
	}
	if _, err := s.Out.Write(out.Bytes()); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	t3 := time.Now()
	if opts.timing {
		fmt.Fprintf(s.Err, "timing: parse=%s schedule=%s render=%s total=%s\n",
			ms(t1.Sub(t0)), ms(t2.Sub(t1)), ms(t3.Sub(t2)), ms(t3.Sub(t0)))
	}
	return nil
}

// ms formats a duration in milliseconds with microsecond precision, a
// fixed unit that scripts can parse (bench/sched.sh does).
func ms(d time.Duration) string {
	return fmt.Sprintf("%.3fms", float64(d.Microseconds())/1000)
}

// knownResources lists (some of) the resources the scheduler explained, for
// the error message of an unknown --explain name.
func knownResources(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	names := append([]string(nil), ids...)
	sort.Strings(names)
	const max = 10
	more := ""
	if len(names) > max {
		more = fmt.Sprintf(", ... (%d more)", len(names)-max)
		names = names[:max]
	}
	return " (resources: " + strings.Join(names, ", ") + more + ")"
}

// writeSimulateText writes the result as crm_simulate -S does in its first
// sections, then the explanation if asked for.
func writeSimulateText(w *bytes.Buffer, res *sched.Result, name string, expl *sched.Explanation) {
	w.WriteString("Current cluster status:\n")
	w.WriteString(block(res.Current.Write))
	w.WriteString("\n")
	sched.WriteSummary(w, res.Changes)
	w.WriteString("\n")
	w.WriteString("Revised Cluster Status:\n")
	w.WriteString(block(res.Revised.Write))
	if expl != nil {
		w.WriteString("\n")
		fmt.Fprintf(w, "Explanation for %s:\n", name)
		w.WriteString(block(expl.Write))
	}
}

// block captures what write writes and returns it with exactly one
// trailing newline (none if it wrote nothing).
func block(write func(io.Writer)) string {
	var b bytes.Buffer
	write(&b)
	s := strings.TrimRight(b.String(), "\n")
	if s == "" {
		return ""
	}
	return s + "\n"
}

func writeSimulateJSON(w io.Writer, res *sched.Result, name string, expl *sched.Explanation) error {
	var summary bytes.Buffer
	sched.WriteSummary(&summary, res.Changes)
	out := simulateJSON{
		Changes: res.Changes,
		Summary: summary.String(),
		Current: block(res.Current.Write),
		Revised: block(res.Revised.Write),
	}
	if out.Changes == nil {
		out.Changes = []sched.Change{}
	}
	if expl != nil {
		out.Explanation = &explanationJSON{Resource: name, Text: block(expl.Write)}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	return nil
}
