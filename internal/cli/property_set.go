package cli

import (
	"fmt"

	"github.com/paceline/paceline/internal/model"
	"github.com/spf13/cobra"
)

func newPropertyCmd(s streams) *cobra.Command {
	return groupCmd("property", "Read, set and list cluster properties", newPropertySetCmd(s), newPropertyGetCmd(s),
		newPropertyListCmd(s))
}

func newPropertySetCmd(s streams) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "set NAME=VALUE ... [--force]",
		Short: "Set cluster properties (NAME= removes one)",
		Long: `Set cluster properties by their Pacemaker names:

  paceline property set stonith-enabled=false no-quorum-policy=stop

An empty value (NAME=) removes the property. Each property is one change.
NAME must be a cluster option Paceline knows ('paceline property list
--all') and VALUE of its type (boolean, integer, score, time, one of a
list); a typo is refused with the closest name. --force sets any name and
value (a custom property, or an option of a newer version).`,
		Args: minArgs(1, "NAME=VALUE ..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			type kv struct{ k, v string }
			var props []kv
			for _, w := range args {
				k, v, err := parseKV(w)
				if err != nil {
					return err
				}
				if !force {
					// Every word is checked before anything is set.
					if err := model.CheckProperty(k, v); err != nil {
						return fmt.Errorf("%v (--force sets it anyway)", err)
					}
				}
				props = append(props, kv{k, v})
			}
			c, err := connect()
			if err != nil {
				return err
			}
			set := c.SetProperty
			if force {
				set = c.ForceProperty
			}
			for _, p := range props {
				if err := set(cmd.Context(), p.k, p.v); err != nil {
					return failure("set property "+quote(p.k), "", err)
				}
				if _, err := fmt.Fprintf(s.Out, "%s=%s\n", p.k, p.v); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "set unknown properties and values without checking them")
	return cmd
}
