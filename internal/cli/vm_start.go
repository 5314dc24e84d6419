package cli

import (
	"fmt"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/spf13/cobra"
)

func newVMStartCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "start VM",
		Short: "Start a VM and bring it back under HA (target-role=Started)",
		Long: `Start a VM: target-role=Started (as "resource enable"), the reason of an
earlier stop removed, the HA level a "vm stop --keep-ha=false" set aside
restored, and its failures cleaned up (as "resource cleanup") so that a VM
the cluster stopped because it stopped by itself may run again.`,
		Args: exactArgs(1, "VM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			c, err := connect()
			if err != nil {
				return err
			}
			level := model.HALevelNone
			err = editVM(cmd.Context(), c, "start VM "+quote(id), id, func(r *api.Resource) error {
				meta := map[string]string{"target-role": api.RoleStarted, model.MetaVMStopReason: ""}
				if l := r.Meta[model.MetaVMHASuspended]; l != "" {
					meta[model.MetaHALevel], meta[model.MetaVMHASuspended] = l, ""
				}
				setMeta(r, meta)
				if l := r.Meta[model.MetaHALevel]; l != "" {
					level = l
				}
				return nil
			})
			if err != nil {
				return err
			}
			if _, err := c.CleanupResource(cmd.Context(), id, ""); err != nil {
				return failure("clean up VM "+quote(id), "VM "+quote(id), err)
			}
			_, err = fmt.Fprintf(s.Out, "started VM %s (target-role=Started, ha-level %s)\n", quote(id), level)
			return err
		},
	}
}

func newVMStopCmd(s streams) *cobra.Command {
	var keepHA bool
	cmd := &cobra.Command{
		Use:   "stop VM [--keep-ha=false]",
		Short: "Stop a VM and keep it stopped (target-role=Stopped); HA never starts it again",
		Long: `Stop a VM: target-role=Stopped (as "resource disable"). HA never undoes an
explicit stop, whatever the VM's HA level. --keep-ha=false also drops the
VM's HA level to None until "paceline vm start VM" restores it.`,
		Args: exactArgs(1, "VM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			c, err := connect()
			if err != nil {
				return err
			}
			note := ""
			err = editVM(cmd.Context(), c, "stop VM "+quote(id), id, func(r *api.Resource) error {
				meta := map[string]string{"target-role": api.RoleStopped, model.MetaVMStopReason: "stopped by the user (vm stop)"}
				if l := r.Meta[model.MetaHALevel]; !keepHA && l != "" && l != model.HALevelNone {
					meta[model.MetaHALevel], meta[model.MetaVMHASuspended] = model.HALevelNone, l
					note = ", ha-level None until vm start"
				}
				setMeta(r, meta)
				return nil
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(s.Out, "stopped VM %s (target-role=Stopped%s)\n", quote(id), note)
			return err
		},
	}
	cmd.Flags().BoolVar(&keepHA, "keep-ha", true, "keep the VM's HA level (false: None until vm start)")
	return cmd
}
