package cli

import (
	"fmt"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/spf13/cobra"
)

func newVMHACmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "ha VM NeverStop|None",
		Short: "Set a VM's HA level (meta ha-level)",
		Long: `Set a VM's HA level: NeverStop (restarted whenever it stops other than
through the cluster; recovered on another host when its host fails, if
its storage is shared) or None (left stopped and reported).`,
		Args: exactArgs(2, "VM and NeverStop|None"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			level, err := haLevel(args[1])
			if err != nil {
				return err
			}
			c, err := connect()
			if err != nil {
				return err
			}
			err = editVM(cmd.Context(), c, "set the HA level of VM "+quote(id), id, func(r *api.Resource) error {
				setMeta(r, map[string]string{model.MetaHALevel: level, model.MetaVMHASuspended: ""})
				return nil
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(s.Out, "VM %s: ha-level %s\n", quote(id), level)
			return err
		},
	}
}
