package cli

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// versionInfo is the output of "paceline version --json".
type versionInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision,omitempty"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// currentVersion reads the version from the build information the Go
// toolchain embeds: the module version for "go install ...@vX", "(devel)"
// for a build from a checkout.
func currentVersion() versionInfo {
	v := versionInfo{
		Version:   "(devel)",
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				v.Revision = s.Value
			}
		}
	}
	return v
}

func newVersionCmd(s streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of this paceline binary",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := currentVersion()
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
