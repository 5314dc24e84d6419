package cli

import (
	"fmt"

	"github.com/paceline/paceline/internal/model"
	"github.com/spf13/cobra"
)

func newVMMigrateCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate VM NODE",
		Short: "Live-migrate a shared-storage VM to a node (as resource move)",
		Long: `Live-migrate a VM to NODE: the location constraint cli-prefer-VM with score
INFINITY, as "resource move" adds; the cluster migrates a shared-storage
VM live (migrate_to, migrate_from). A local-storage VM is refused: its
disk is only on its host. "paceline resource clear VM" removes the
constraint.`,
		Args: exactArgs(2, "VM NODE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, node := args[0], args[1]
			c, err := connect()
			if err != nil {
				return err
			}
			cfg, err := c.Config(cmd.Context())
			if err != nil {
				return failure("migrate VM "+quote(id), "", err)
			}
			r, err := vmResource(cfg, id)
			if err != nil {
				return err
			}
			if vmStorage(r) != model.VMStorageShared {
				return fmt.Errorf("VM %s has local storage: it cannot migrate to %s (its disk is only on its host); nothing changed", quote(id), quote(node))
			}
			loc := model.Location{ID: preferID(id), Resource: id, Node: node, Score: model.Infinity}
			if err := placeResource(cmd.Context(), "migrate VM "+quote(id)+" to "+quote(node), loc); err != nil {
				return err
			}
			_, err = fmt.Fprintf(s.Out, "VM %s migrates to %s (constraint %s; undo with 'paceline resource clear %s')\n",
				quote(id), quote(node), preferID(id), id)
			return err
		},
	}
}
