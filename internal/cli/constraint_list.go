package cli

import (
	"fmt"

	"github.com/paceline/paceline/api"
	"github.com/spf13/cobra"
)

func newConstraintListCmd(s streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List every constraint",
		Long: `List every location, colocation, order and ticket constraint, one per
line as pcs shows them: id, what it binds, score or kind, roles and
actions. --json prints {"locations", "colocations", "orders", "tickets"}
as the configuration holds them.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			cfg, err := c.Config(cmd.Context())
			if err != nil {
				return failure("list constraints", "", err)
			}
			if asJSON {
				return writeJSON(s.Out, struct {
					Locations   []api.Location   `json:"locations"`
					Colocations []api.Colocation `json:"colocations"`
					Orders      []api.Order      `json:"orders"`
					Tickets     any              `json:"tickets"`
				}{nonNil(cfg.Locations), nonNil(cfg.Colocations), nonNil(cfg.Orders), nonNil(cfg.Tickets)})
			}
			if writeConstraints(s.Out, cfg, func(...string) bool { return true }) == 0 {
				_, err = fmt.Fprintln(s.Out, "no constraints")
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// nonNil turns a nil slice into an empty one (JSON [] rather than null).
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
