package cli

import (
	"github.com/spf13/cobra"
)

func newConfigExportCmd(s streams) *cobra.Command {
	var secrets bool
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Print the configuration as YAML (the schema 'config apply -f' reads)",
		Long: `Print the configuration as YAML, with its epoch. Edit the file and give it
to "paceline config apply -f FILE": the apply succeeds only if nobody
changed the configuration meanwhile (the epoch still matches), unless
--force.

Secret parameters are shown as ***** (applying the file back keeps
their values); --secrets shows them, and needs an admin token.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			doc, err := c.ConfigYAML(cmd.Context())
			if secrets {
				doc, err = c.ConfigYAMLWithSecrets(cmd.Context())
			}
			if err != nil {
				return failure("config export", "", err)
			}
			_, err = s.Out.Write(doc)
			return err
		},
	}
	cmd.Flags().BoolVar(&secrets, "secrets", false, "show secret parameter values (admin token only)")
	return cmd
}
