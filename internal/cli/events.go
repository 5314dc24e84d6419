package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/spf13/cobra"
)

func newEventsCmd(s streams) *cobra.Command {
	var asJSON, follow bool
	var since time.Duration
	cmd := &cobra.Command{
		Use:   "events [--since DURATION] [--json] [--follow]",
		Short: "Show what happened to the cluster: nodes lost and back, resources recovered, moved, failed",
		Long: `Show the cluster's recorded events, oldest first: nodes joined, online, lost,
fenced, back, offline (a clean stop) and left; quorum lost and regained;
leader changes; resources started, stopped, failed (with the operation, exit
code and reason), recovered (from the lost node to the new one), moved,
migrated, promoted and demoted; virtual IPs moved (address, from, to);
configuration changes (epoch and who); alerts delivered and failed.

The leader records them in the replicated store (the newest 5000 are
kept). A node without quorum keeps its own quorum events and records them,
with the time they happened, once it has quorum again.

--since keeps the events of the last DURATION (30m, 2h). --follow prints
new events as they are recorded until interrupted. --json prints
{"events":[{"seq","time","time_ms","kind","node","resource","from","to",
"address","operation","interval_ms","rc","reason","detail","epoch","who",
"alert"}]} (empty fields left out); with --follow, one event object per
line. Any API token may read the events.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if since < 0 {
				return usagef("--since %v: want a positive duration (30m, 2h)", since)
			}
			c, err := connect()
			if err != nil {
				return err
			}
			evs, err := c.Events(cmd.Context(), since, 0)
			if err != nil {
				return failure("read events", "", err)
			}
			if !follow {
				if asJSON {
					return writeJSON(s.Out, api.EventLog{Events: evs})
				}
				return printEvents(s.Out, evs)
			}
			var last uint64
			for _, e := range evs {
				if err := printEvent(s.Out, e, asJSON); err != nil {
					return err
				}
				last = e.Seq
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			for ctx.Err() == nil {
				err := c.WatchEvents(ctx, last, func(e api.ClusterEvent) error {
					last = e.Seq
					return printEvent(s.Out, e, asJSON)
				})
				if ctx.Err() != nil {
					return nil
				}
				if err != nil {
					fmt.Fprintf(s.Err, "paceline: events: %v; retrying\n", strings.TrimPrefix(err.Error(), "api: "))
				}
				select { // the node went away: the client tries the others
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&since, "since", 0, "only the events of the last DURATION (30m, 2h)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "print new events as they are recorded")
	return cmd
}

func printEvents(w io.Writer, evs []api.ClusterEvent) error {
	for _, e := range evs {
		if err := printEvent(w, e, false); err != nil {
			return err
		}
	}
	return nil
}

// printEvent prints one event: a JSON object, or a line with its time,
// kind and what it says.
func printEvent(w io.Writer, e api.ClusterEvent, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintf(w, "%s  %-18s  %s\n", e.Time.Local().Format("2006-01-02 15:04:05.000"), e.Kind, e.Describe())
	return err
}
