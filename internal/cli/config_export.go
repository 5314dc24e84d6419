package cli

import (
	"github.com/spf13/cobra"
)

func newConfigExportCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "export",
		Short: "Print the configuration as YAML (the schema 'config apply -f' reads)",
		Long: `Print the configuration as YAML, with its epoch. Edit the file and give it
to "paceline config apply -f FILE": the apply succeeds only if nobody
changed the configuration meanwhile (the epoch still matches), unless
--force.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			doc, err := c.ConfigYAML(cmd.Context())
			if err != nil {
				return failure("config export", "", err)
			}
			_, err = s.Out.Write(doc)
			return err
		},
	}
}
