package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newResourceDeleteCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a resource and the constraints that name it",
		Long: `Delete a resource and every constraint that names it. A group takes its
members along and a clone its child; deleting a clone's primitive deletes
the clone, and a group's last member the group, as pcs does.`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			c, err := connect()
			if err != nil {
				return err
			}
			if err := c.DeleteResource(cmd.Context(), id); err != nil {
				return failure("delete resource "+quote(id), "resource "+quote(id), err)
			}
			_, err = fmt.Fprintf(s.Out, "deleted resource %s\n", quote(id))
			return err
		},
	}
}
