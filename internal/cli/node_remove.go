package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newNodeRemoveCmd is "node remove NODE".
func newNodeRemoveCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "remove NODE",
		Short: "Remove a node from the cluster and revoke its certificate",
		Long: `Remove a node from the cluster and revoke its certificate.

The leader revokes the node's certificate (a replicated revocation list that
every node checks on every node-to-node connection and call), then removes
the node from the cluster's membership and Raft. The removed node can no
longer talk to the cluster; to bring the host back, wipe its data directory
and join it again with a new join token. Needs an admin API token.`,
		Args: exactArgs(1, "NODE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			node := args[0]
			c, err := connect()
			if err != nil {
				return err
			}
			if err := c.RemoveNode(cmd.Context(), node); err != nil {
				return failure("remove node "+quote(node), "node "+quote(node), err)
			}
			_, err = fmt.Fprintf(s.Out, "node %s: removed, certificate revoked\n", quote(node))
			return err
		},
	}
}
