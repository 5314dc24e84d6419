package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/paceline/paceline/api"
	"github.com/spf13/cobra"
)

func newStatusCmd(s streams) *cobra.Command {
	var asJSON, watch bool
	cmd := &cobra.Command{
		Use:   "status [--json] [--watch]",
		Short: "Show the cluster: leader, quorum, nodes and resources",
		Long: `Show the cluster on one screen: the leader, whether there is quorum, the
configuration epoch, every node with its state and every resource with its
role and the nodes it is active on.

--json prints one JSON object (the API's Status): {"leader", "quorum",
"epoch", "nodes": [{"name", "state", "role"}], "resources": [{"id",
"agent", "role", "nodes"}]}. Fields are only ever added.

--watch prints the status again on every change until interrupted; with
--json each status is one line.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			if !watch {
				st, err := c.Status(cmd.Context())
				if err != nil {
					return failure("status", "", err)
				}
				if asJSON {
					return writeJSON(s.Out, st)
				}
				return printStatus(s.Out, st)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			first := true
			err = c.Watch(ctx, func(ev api.Event) error {
				if asJSON {
					b, err := json.Marshal(ev.Status)
					if err != nil {
						return err
					}
					_, err = fmt.Fprintf(s.Out, "%s\n", b)
					return err
				}
				if !first {
					fmt.Fprintln(s.Out)
				}
				first = false
				return printStatus(s.Out, &ev.Status)
			})
			if ctx.Err() != nil {
				return nil // interrupted: the normal end of --watch
			}
			if err != nil {
				return failure("status --watch", "", err)
			}
			return fmt.Errorf("status --watch: the server closed the event stream")
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	cmd.Flags().BoolVar(&watch, "watch", false, "print the status again on every change until interrupted")
	return cmd
}

// printStatus writes the human status screen.
func printStatus(w io.Writer, st *api.Status) error {
	leader, quorum := st.Leader, "yes"
	if leader == "" {
		leader = "(none)"
	}
	if !st.Quorum {
		quorum = "NO"
	}
	fmt.Fprintf(w, "Leader: %s    Quorum: %s    Config epoch: %d\n", leader, quorum, st.Epoch)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\nNodes (%d):\n", len(st.Nodes))
	if len(st.Nodes) > 0 {
		fmt.Fprintln(tw, "  NAME\tSTATE\tROLE")
	}
	for _, n := range st.Nodes {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", n.Name, n.State, dash(n.Role))
	}
	fmt.Fprintf(tw, "\nResources (%d):\n", len(st.Resources))
	if len(st.Resources) > 0 {
		fmt.Fprintln(tw, "  ID\tAGENT\tROLE\tNODES")
	}
	for _, r := range st.Resources {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.ID, r.Agent, r.Role, dash(strings.Join(r.Nodes, ",")))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
