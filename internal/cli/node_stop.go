package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/paceline/paceline/api"
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
			c, err := connect()
			if err != nil {
				return err
			}
			return stopNodes(cmd.Context(), s.Out, c, args, wait)
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait until the node is offline, at most this long")
	return cmd
}

// stopNodes asks each node to shut down (the shutdown attribute) and,
// with wait, waits until every one of them is offline.
func stopNodes(ctx context.Context, out io.Writer, c *api.Client, nodes []string, wait time.Duration) error {
	at := strconv.FormatInt(time.Now().Unix(), 10)
	for _, node := range nodes {
		if err := c.SetNodeAttributes(ctx, node, map[string]string{"shutdown": at}); err != nil {
			return failure("stop node "+quote(node), "node "+quote(node), err)
		}
		if wait <= 0 {
			if _, err := fmt.Fprintf(out, "node %s: shutdown requested (draining)\n", quote(node)); err != nil {
				return err
			}
		}
	}
	if wait <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	left := slices.Clone(nodes)
	for {
		if ns, err := c.Nodes(ctx); err == nil {
			for _, n := range ns {
				if n.State == "offline" && slices.Contains(left, n.Name) {
					left = slices.DeleteFunc(left, func(x string) bool { return x == n.Name })
					if _, err := fmt.Fprintf(out, "node %s: drained and stopped\n", quote(n.Name)); err != nil {
						return err
					}
				}
			}
		}
		if len(left) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s: still not stopped after %v (see paceline status)", quote(left[0]), wait)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
