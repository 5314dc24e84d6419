package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newResourceCleanupCmd(s streams) *cobra.Command {
	var node string
	cmd := &cobra.Command{
		Use:   "cleanup ID [--node NODE]",
		Short: "Forget a resource's failures and operation history so it is probed again",
		Long: `Forget a resource's fail counts, last failures and operation history (on
every node, or on --node only), as "crm_resource --cleanup" does: the
cluster probes the resource again and may start it where it had failed.
Needs an operator or admin API token.`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			c, err := connect()
			if err != nil {
				return err
			}
			res, err := c.CleanupResource(cmd.Context(), id, node)
			if err != nil {
				subject := "resource " + quote(id)
				if node != "" {
					subject = "resource " + quote(id) + " or node " + quote(node)
				}
				return failure("clean up resource "+quote(id), subject, err)
			}
			msg := "cleaned up resource %s\n"
			if !res.Changed {
				msg = "resource %s had no failures or history to clean up\n"
			}
			_, err = fmt.Fprintf(s.Out, msg, quote(id))
			return err
		},
	}
	cmd.Flags().StringVar(&node, "node", "", "clean up on this node only")
	return cmd
}
