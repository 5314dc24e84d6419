package cli

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"
)

func newNodeStopCmd(s streams) *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "stop NODE [--wait DURATION]",
		Short: "Stop a node's agent cleanly: drain its resources, then exit",
		Long: `Ask NODE's agent to shut down as SIGTERM does (Pacemaker's shutdown): the
node's resources move to other nodes first (stopped there, then started
elsewhere, honouring orders and colocations), leadership moves if the node
leads, and the agent exits once nothing runs on it. A node in maintenance
exits leaving its resources running, unmanaged.

It sets the node attribute "shutdown" to the time of the request; the
agent clears it when it starts again. With --wait, the command waits
until the node is offline (or the wait is over: exit status 1).

  paceline node stop n2 --wait 5m

Needs an operator or admin API token.`,
		Args: exactArgs(1, "NODE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			node := args[0]
			c, err := connect()
			if err != nil {
				return err
			}
			at := strconv.FormatInt(time.Now().Unix(), 10)
			if err := c.SetNodeAttributes(cmd.Context(), node, map[string]string{"shutdown": at}); err != nil {
				return failure("stop node "+quote(node), "node "+quote(node), err)
			}
			if wait <= 0 {
				_, err = fmt.Fprintf(s.Out, "node %s: shutdown requested (draining)\n", quote(node))
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), wait)
			defer cancel()
			for {
				ns, err := c.Nodes(ctx)
				if err == nil {
					for _, n := range ns {
						if n.Name == node && n.State == "offline" {
							_, err = fmt.Fprintf(s.Out, "node %s: drained and stopped\n", quote(node))
							return err
						}
					}
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("node %s: still not stopped after %v (see paceline status)", quote(node), wait)
				case <-time.After(200 * time.Millisecond):
				}
			}
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait until the node is offline, at most this long")
	return cmd
}
