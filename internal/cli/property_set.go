package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newPropertyCmd(s streams) *cobra.Command {
	return groupCmd("property", "Read and set cluster properties", newPropertySetCmd(s), newPropertyGetCmd(s))
}

func newPropertySetCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "set NAME=VALUE ...",
		Short: "Set cluster properties (NAME= removes one)",
		Long: `Set cluster properties by their Pacemaker names:

  paceline property set stonith-enabled=false no-quorum-policy=stop

An empty value (NAME=) removes the property. Each property is one change.`,
		Args: minArgs(1, "NAME=VALUE ..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			type kv struct{ k, v string }
			var props []kv
			for _, w := range args {
				k, v, err := parseKV(w)
				if err != nil {
					return err
				}
				props = append(props, kv{k, v})
			}
			c, err := connect()
			if err != nil {
				return err
			}
			for _, p := range props {
				if err := c.SetProperty(cmd.Context(), p.k, p.v); err != nil {
					return failure("set property "+quote(p.k), "", err)
				}
				if _, err := fmt.Fprintf(s.Out, "%s=%s\n", p.k, p.v); err != nil {
					return err
				}
			}
			return nil
		},
	}
}
