package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/spf13/cobra"
)

func newResourceSwitchoverCmd(s streams) *cobra.Command {
	var wait time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "switchover ID [NODE] [--wait 2m] [--json]",
		Short: "Move the promoted role of a promotable clone to another node, planned and lossless",
		Long: `Move the promoted role of a promotable clone (ID is the clone or its
primitive) to NODE, or without NODE to the eligible node with the highest
promotion score, and wait until it is done: the current promoted instance
is demoted, the target promoted (builtin:postgresql promotes it only once
it has everything the demoted primary wrote), and what is colocated with
the promoted role (a VIP) follows. It works through the temporary location
constraint cli-switchover-CLONE, which it removes when done, failed or out
of time.

It is refused, with one line saying why and nothing changed, when the
resource is not promoted exactly once, or NODE is not an online node
running an unpromoted instance with a usable promotion score (for a
synchronous database: the synchronous standby), or another constraint
keeps the scheduler from promoting it there.

--json prints {"resource", "from", "to", "constraint", "milliseconds"}.
Needs an operator or admin API token.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := minArgs(1, "ID [NODE]")(cmd, args); err != nil {
				return err
			}
			return maxArgs(2, "ID [NODE]")(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			id, node := args[0], ""
			if len(args) == 2 {
				node = args[1]
			}
			if wait <= 0 {
				return usagef("--wait %v: want a positive duration", wait)
			}
			c, err := connect()
			if err != nil {
				return err
			}
			// The server gives up after --wait; the client waits a little
			// longer for its answer.
			ctx, cancel := context.WithTimeout(cmd.Context(), wait+15*time.Second)
			defer cancel()
			res, err := c.Switchover(ctx, id, api.SwitchoverRequest{Node: node, Wait: wait.String()})
			if err != nil {
				return failure("switch over "+quote(id), "", err)
			}
			if asJSON {
				return writeJSON(s.Out, res)
			}
			_, err = fmt.Fprintf(s.Out, "%s: promoted role switched over from %s to %s in %.1f s (temporary constraint %s removed)\n",
				res.Resource, res.From, res.To, float64(res.Milliseconds)/1000, res.Constraint)
			return err
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 2*time.Minute, "give up (and remove the temporary constraint) after this long")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
