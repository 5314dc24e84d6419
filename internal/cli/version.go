package cli

import (
	"encoding/json"
	"fmt"

	"github.com/paceline/paceline/internal/version"
	"github.com/spf13/cobra"
)

// versionInfo is the output of "paceline version --json".
type versionInfo = version.Info

func newVersionCmd(s streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of this paceline binary",
		Long: `Print the version of this paceline binary: the package version it was
built as (make build and make deb stamp it from git describe), else the Go
module version ("(devel)" for a plain go build), with the git revision.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := version.Get()
			if asJSON {
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			rev := ""
			if v.Revision != "" {
				rev = " " + v.Revision
			}
			_, err := fmt.Fprintf(s.Out, "paceline %s%s (%s, %s)\n", v.Version, rev, v.GoVersion, v.Platform)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"version", "revision", "go_version", "platform"} as JSON`)
	return cmd
}
