package cli

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// demoCIB is the sample cluster "paceline demo" schedules: three nodes, a
// web VIP and web server in a group colocated with the primary of a
// promotable database clone, fencing by fence_dummy; node3, which ran the
// database primary and the web group, has just failed. demo/cluster.summary
// holds what Pacemaker 2.1.5's crm_simulate prints for it.
//
//go:embed demo/cluster.xml
var demoCIB []byte

// demoExplain is the resource whose placement the demo explains.
const demoExplain = "web-vip"

func newDemoCmd(s streams) *cobra.Command {
	var once, printCIB bool
	cmd := &cobra.Command{
		Use:   "demo [--once] [--print-cib]",
		Short: "Show the placement engine on a built-in 3-node sample cluster",
		Long: `Demo needs no cluster, no configuration and no root: it runs "paceline
simulate" on a built-in sample cluster and explains one decision.

The sample: three nodes; a web VIP and a web server in a group that must
run with the primary of a replicated database (a promotable clone);
fencing enabled with a fence_dummy device. node3, which ran the database
primary and the web group, has just dropped out of the cluster. Paceline
decides to fence node3, promote a database standby and move the web
group to it, and explains why web-vip lands where it does.

--print-cib prints the sample's CIB XML instead, to try your own
variations with "paceline simulate --cib FILE".

The live demo (three real Paceline nodes failing over on this machine)
arrives with the cluster runtime; until then demo always runs once and
exits, and --once (which asks for exactly that) keeps scripts working
when it does.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_ = once // one run is all there is until the live demo exists
			if printCIB {
				_, err := s.Out.Write(demoCIB)
				return err
			}
			return runDemo(s)
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "run the simulation once and exit (status 0 on success)")
	cmd.Flags().BoolVar(&printCIB, "print-cib", false, "print the sample cluster's CIB XML and exit")
	return cmd
}

// runDemo writes the embedded CIB to a temporary file (the importer reads
// files) and simulates it with --explain.
func runDemo(s streams) error {
	dir, err := os.MkdirTemp("", "paceline-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "demo-cluster.xml")
	if err := os.WriteFile(path, demoCIB, 0o600); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	var out bytes.Buffer
	err = runSimulate(streams{Out: &out, Err: s.Err},
		simulateOptions{cibPath: path, explain: demoExplain, name: "the demo cluster"})
	if err != nil {
		return err
	}
	fmt.Fprintln(s.Out, "Paceline demo: a 3-node cluster whose node3 (database primary, web group) has just failed.")
	fmt.Fprintln(s.Out, "This is what Paceline decides (\"paceline demo --print-cib\" prints the input):")
	fmt.Fprintln(s.Out)
	_, err = s.Out.Write(out.Bytes())
	return err
}
