package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/paceline/paceline/api"
	"github.com/spf13/cobra"
)

func newStatusCmd(s streams) *cobra.Command {
	var asJSON, watch bool
	var view statusView
	cmd := &cobra.Command{
		Use:   "status [--json] [--watch] [--attributes] [--failcounts]",
		Short: "Show the cluster: leader, quorum, nodes, resources and failures (like crm_mon)",
		Long: `Show the cluster on one screen, as crm_mon does: the leader, whether there
is quorum, the configuration epoch and the last change (when, by which
token, what); every node with its state and role; the resources as a
tree: groups with their members, "Clone Set: api-clone [api]" with the
nodes of its instances by role ("Promoted: [ n1 ]", "Unpromoted: [ n2 n3 ]",
"Started: [ n1 n2 ]", "Stopped: [ n3 ]"), virtual IPs with their address;
for a replicated database (builtin:postgresql) a "Replication" table as
patronictl list shows it: per instance the node, state, database role,
timeline, WAL position, lag and sync state (primary, sync, potential,
async); then "Failed Resource Actions": each resource's last failed operation per
node with its exit code and reason, kept until "paceline resource cleanup".
--attributes adds the nodes' attributes, --failcounts the fail counts per
node and resource ("Migration Summary"). Colours only on a terminal (and
not with NO_COLOR set).

--json prints one JSON object (the API's Status): {"leader", "quorum",
"epoch", "last_change": {"at", "by", "role", "action"}, "nodes": [{"name",
"state", "role", "attributes"}], "resources": [{"id", "agent", "role",
"nodes", "parent", "instances": [{"node", "role", "replication": {"role",
"timeline", "lsn", "lag_bytes", "sync"}}], "address",
"managed"}], "collectives": [{"id", "kind", "parent", "promotable",
"children"}], "failed_actions": [{"resource", "operation", "interval_ms",
"node", "exit_code", "exit_reason", "status", "call_id", "at"}]}. A
resource's role is Started, Stopped, Promoted, Unpromoted or Failed (for a
clone's primitive, the highest of its instances). Fields are only ever
added.

--watch shows the status again on every change until interrupted
(redrawn in place on a terminal); with --json each status is one line.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			view.color = isTerminal(s.Out)
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
				return view.print(s.Out, st)
			}
			redraw := view.color
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
				switch {
				case redraw:
					fmt.Fprint(s.Out, "\x1b[H\x1b[2J") // home, clear the screen
				case !first:
					fmt.Fprintln(s.Out)
				}
				first = false
				return view.print(s.Out, &ev.Status)
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
	cmd.Flags().BoolVarP(&view.attributes, "attributes", "A", false, "show the nodes' attributes")
	cmd.Flags().BoolVar(&view.failcounts, "failcounts", false, "show the fail counts per node and resource")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
