package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newConstraintRemoveCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "remove ID",
		Short: "Remove the constraint with that id",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			c, err := connect()
			if err != nil {
				return err
			}
			if err := c.RemoveConstraint(cmd.Context(), id); err != nil {
				return failure("remove constraint "+quote(id), "constraint "+quote(id), err)
			}
			_, err = fmt.Fprintf(s.Out, "removed constraint %s\n", quote(id))
			return err
		},
	}
}
