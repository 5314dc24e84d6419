package cli

import (
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/spf13/cobra"
)

func newClusterCmd(s streams) *cobra.Command {
	return groupCmd("cluster", "Stop the agents of several nodes, start this node's agent",
		newClusterStopCmd(s), newClusterStartCmd(s))
}

func newClusterStopCmd(s streams) *cobra.Command {
	var all bool
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "stop (--all | NODE...) [--wait DURATION]",
		Short: "Drain and stop the agents of the nodes named, or of every node",
		Long: `Ask each node's agent to shut down as "node stop" does (a drain: its
resources move to the nodes that keep running, then the agent exits). With
--all every node is asked, the leader last: once too few servers are left
for a quorum, the last ones stop what they run themselves and exit, so the
whole cluster stops cleanly (pcs cluster stop --all).

  paceline cluster stop n2 n3 --wait 5m
  paceline cluster stop --all

Needs an operator or admin API token.`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case all && len(args) > 0:
				return usagef("'%s' takes --all or node names, not both", cmd.CommandPath())
			case !all && len(args) == 0:
				return usagef("'%s' wants --all or NODE... (see '%s --help')", cmd.CommandPath(), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			nodes := args
			if all {
				st, err := c.Status(cmd.Context())
				if err != nil {
					return failure("stop the cluster", "", err)
				}
				for _, n := range st.Nodes {
					if n.Name != st.Leader && n.State != "offline" {
						nodes = append(nodes, n.Name)
					}
				}
				if st.Leader != "" {
					nodes = append(nodes, st.Leader)
				}
			}
			return stopNodes(cmd.Context(), s.Out, c, nodes, wait)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "every node of the cluster")
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait until the nodes are offline, at most this long")
	return cmd
}

func newClusterStartCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "start",
		Short: "Start this node's agent (its systemd unit paceline.service)",
		Long: `Start the agent of this node through systemd (systemctl start
paceline.service, as the Debian package installs it); a stopped agent
cannot be reached through the API, so other nodes are started on their
own hosts. Where systemd does not run, start "paceline agent" as you run it.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := os.Stat("/run/systemd/system"); err != nil {
				return fmt.Errorf("systemd does not run on this host: start the agent with 'paceline agent' (see 'paceline agent --help')")
			}
			out, err := exec.CommandContext(cmd.Context(), "systemctl", "start", "paceline.service").CombinedOutput()
			if err != nil {
				return fmt.Errorf("systemctl start paceline.service: %v: %s", err, firstLine(string(out)))
			}
			_, err = fmt.Fprintln(s.Out, "paceline.service started")
			return err
		},
	}
}

// firstLine is s up to its first line break, trimmed.
func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
