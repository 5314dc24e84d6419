package cli

import (
	"time"

	"github.com/spf13/cobra"
)

func newWatchdogSimCmd(s streams) *cobra.Command {
	var socket, netns string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "watchdog-sim --socket PATH --netns HOST --timeout 300ms",
		Short: "Run the simulated watchdog of a test host (outside the host's namespace)",
		Long: `The simulated watchdog stands in for /dev/watchdog on test hosts that are
network namespaces. The host's agent (paceline agent --watchdog
sim:unix:PATH) feeds it over the unix socket while its lease is valid; when
no feed arrives within --timeout after the first, it "resets" the host:
every process in network namespace HOST is killed and its addresses are
removed. A clean agent stop disarms it. Runs until interrupted.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if s.Daemon == nil {
				return errNoDaemon
			}
			if socket == "" || netns == "" || timeout <= 0 {
				return usagef("watchdog-sim needs --socket, --netns and a positive --timeout")
			}
			return s.Daemon.WatchdogSim(cmd.Context(), socket, netns, timeout, s.Err)
		},
	}
	cmd.Flags().StringVar(&socket, "socket", "", "unix socket the agent feeds")
	cmd.Flags().StringVar(&netns, "netns", "", "network namespace of the host to reset")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "reset when not fed for this long (e.g. 300ms)")
	return cmd
}
