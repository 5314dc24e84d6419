package cli

import (
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/paceline/paceline/api"
	"github.com/spf13/cobra"
)

func newConfigApplyCmd(s streams) *cobra.Command {
	var file string
	var force bool
	cmd := &cobra.Command{
		Use:   "apply -f FILE [--force]",
		Short: "Replace the configuration with a YAML file (from 'config export')",
		Long: `Replace the whole configuration with FILE (YAML, the schema "config
export" prints; "-" reads stdin). The file's epoch must be the current one,
so a change someone else made since the export is never overwritten
silently; --force applies over any epoch.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return usagef("config apply needs -f FILE (see 'paceline config apply --help')")
			}
			var doc []byte
			var err error
			if file == "-" {
				doc, err = readAll(cmd.InOrStdin())
			} else {
				doc, err = os.ReadFile(file)
			}
			if err != nil {
				return fmt.Errorf("config apply: %v", err)
			}
			if _, err := api.DecodeConfigYAML(doc); err != nil {
				return fmt.Errorf("config apply: %s: %v", file, err)
			}
			c, err := connect()
			if err != nil {
				return err
			}
			res, err := c.ApplyConfigYAML(cmd.Context(), doc, force)
			if err != nil {
				var ae *api.Error
				if errors.As(err, &ae) && ae.StatusCode == http.StatusConflict {
					return fmt.Errorf("config apply: the configuration changed since %s was exported (%s); export it again, or use --force",
						file, ae.Message)
				}
				return failure("config apply", "", err)
			}
			if !res.Changed {
				_, err = fmt.Fprintf(s.Out, "configuration unchanged (epoch %d)\n", res.Epoch)
				return err
			}
			_, err = fmt.Fprintf(s.Out, "configuration applied (epoch %d)\n", res.Epoch)
			return err
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the YAML file to apply (- for stdin)")
	cmd.Flags().BoolVar(&force, "force", false, "apply even if the configuration changed since the file's epoch")
	return cmd
}
