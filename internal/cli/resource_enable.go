package cli

import (
	"fmt"

	"github.com/paceline/paceline/api"
	"github.com/spf13/cobra"
)

// newResourceEnableCmd returns "resource enable" (enable) or "resource
// disable": the meta-attribute target-role Started or Stopped.
func newResourceEnableCmd(s streams, enable bool) *cobra.Command {
	verb, role, short := "disable", api.RoleStopped, "Stop a resource and keep it stopped (target-role=Stopped)"
	if enable {
		verb, role, short = "enable", api.RoleStarted, "Allow a resource to run (target-role=Started)"
	}
	return &cobra.Command{
		Use:   verb + " ID",
		Short: short,
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			c, err := connect()
			if err != nil {
				return err
			}
			err = editResource(cmd.Context(), c, verb+" resource "+quote(id), id, func(r *api.Resource) error {
				setMeta(r, map[string]string{"target-role": role})
				return nil
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(s.Out, "%sd resource %s (target-role=%s)\n", verb, quote(id), role)
			return err
		},
	}
}
