package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newPropertyGetCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "get NAME",
		Short: "Print a cluster property's value",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			c, err := connect()
			if err != nil {
				return err
			}
			v, err := c.Property(cmd.Context(), name)
			if err != nil {
				if isStatus(err, 404) {
					return fmt.Errorf("property %s is not set", quote(name))
				}
				return failure("get property "+quote(name), "", err)
			}
			_, err = fmt.Fprintln(s.Out, v)
			return err
		},
	}
}
