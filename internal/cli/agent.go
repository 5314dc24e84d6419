package cli

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newAgentCmd(s streams) *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "agent [--config FILE] [--data-dir DIR] [flags]",
		Short: "Run the Paceline daemon on this node",
		Long: `Run the Paceline daemon on this node until interrupted (SIGINT or
SIGTERM) or asked to stop ('paceline node stop NODE'). Stopping drains
the node as Pacemaker's shutdown does: its resources move to other nodes
first (leadership too, if it leads), and the agent exits once nothing
runs here; a node in maintenance exits leaving its resources running,
unmanaged. Without a quorate leader, or when the drain takes longer than
shutdown_timeout (default 20m), the node stops its resources itself.
The configuration comes from the YAML file (--config, default
/etc/paceline/paceline.yaml when it exists), then PACELINE_* environment
variables (PACELINE_DATA_DIR, PACELINE_LISTEN, ...), then these flags;
the node's identity written by init (DIR/node.yaml) fills the rest.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if s.Daemon == nil {
				return errNoDaemon
			}
			flags := map[string]string{}
			cmd.Flags().Visit(func(f *pflag.Flag) {
				if f.Name != "config" {
					flags[strings.ReplaceAll(f.Name, "-", "_")] = f.Value.String()
				}
			})
			return s.Daemon.Agent(cmd.Context(), configPath, flags, s.Err)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "configuration file (default /etc/paceline/paceline.yaml if present)")
	f.String("data-dir", "", "data directory")
	f.String("name", "", "node name")
	f.String("role", "", "server, witness or client")
	f.String("listen", "", "HOST:PORT of the API")
	f.String("advertise", "", "HOST:PORT others reach the API at")
	f.String("raft-listen", "", "HOST:PORT of Raft (default: API port + 1000)")
	f.String("profile", "", "lease timings: default or fast")
	f.String("watchdog", "", "/dev/watchdog or sim:unix:PATH")
	f.String("log-level", "", "debug, info, warn or error")
	f.String("shutdown-timeout", "", "bound of the drain on stop (default 20m)")
	f.String("run-dir", "", "run directory: pid and state files, HA_RSCTMP (default /run/paceline/NAME)")
	return cmd
}
