package cli

import (
	"bytes"
	_ "embed"
	"fmt"

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
	var once, simulate, printCIB bool
	cmd := &cobra.Command{
		Use:   "demo [--once] [--simulate [--print-cib]]",
		Short: "Run a live 3-node cluster on this machine and fail a node over",
		Long: `Demo needs no configuration and no root. It starts three Paceline
agents on loopback as child processes of this binary (data in a private
temporary directory), creates sample resources (web: an HTTP server run by
builtin:process; app: a group of two dummies), shows the status, crashes
the node running web (SIGKILL to its agent and everything it started),
shows web recovered on another node, and brings the node back. Then it
shows the status every 2 seconds until Ctrl-C, which cleans everything up.

--once tells the story once and exits: status 0 only if the recovery
happened.

--simulate shows the placement engine instead, offline: it runs "paceline
simulate" on a built-in sample (three nodes; a web VIP and server that
follow the primary of a promotable database clone; fence_dummy fencing;
node3 has just failed) and explains where web-vip goes. --print-cib
prints that sample's CIB XML, to try variations with "paceline simulate
--cib FILE".`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case printCIB:
				_, err := s.Out.Write(demoCIB)
				return err
			case simulate:
				return runDemo(s)
			case s.Daemon == nil:
				return errNoDaemon
			}
			return runLiveDemo(cmd.Context(), s, once)
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "tell the story once and exit (status 0 only if web recovered)")
	cmd.Flags().BoolVar(&simulate, "simulate", false, "show the placement engine on a built-in sample instead (offline)")
	cmd.Flags().BoolVar(&printCIB, "print-cib", false, "print the offline sample's CIB XML and exit")
	return cmd
}

// runDemo simulates the embedded CIB with --explain.
func runDemo(s streams) error {
	var out bytes.Buffer
	err := runSimulate(streams{Out: &out, Err: s.Err},
		simulateOptions{cibXML: demoCIB, explain: demoExplain, name: "the demo cluster"})
	if err != nil {
		return err
	}
	fmt.Fprintln(s.Out, "Paceline demo: a 3-node cluster whose node3 (database primary, web group) has just failed.")
	fmt.Fprintln(s.Out, "This is what Paceline decides (\"paceline demo --print-cib\" prints the input):")
	fmt.Fprintln(s.Out)
	_, err = s.Out.Write(out.Bytes())
	return err
}
