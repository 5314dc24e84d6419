package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newNodeFenceCmd is "node fence NODE [--off|--reboot]".
func newNodeFenceCmd(s streams) *cobra.Command {
	var off, reboot bool
	cmd := &cobra.Command{
		Use:   "fence NODE [--off|--reboot]",
		Short: "Fence a node now through its fence devices",
		Long: `Fence NODE now (stonith_admin --fence): the answering node (never NODE
itself: another one is asked) runs NODE's fence devices level by level, as
the cluster does for a lost node, and the command returns when a device
confirmed NODE off (or rebooted) or every level failed. The attempts are in
the fence history; a fenced node's resources are recovered at once. The
action is the cluster's stonith-action (reboot by default) unless --off or
--reboot. Needs an admin API token; audited.`,
		Args: exactArgs(1, "NODE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if off && reboot {
				return usagef("node fence: --off and --reboot exclude each other")
			}
			action := ""
			switch {
			case off:
				action = "off"
			case reboot:
				action = "reboot"
			}
			c, err := connect()
			if err != nil {
				return err
			}
			res, err := c.FenceNode(cmd.Context(), args[0], action)
			if err != nil {
				return failure("fence node "+quote(args[0]), "node "+quote(args[0]), err)
			}
			if err := printFenceHistory(s.Out, res.Entries); err != nil {
				return err
			}
			_, err = fmt.Fprintf(s.Out, "node %s fenced by %s\n", args[0], res.By)
			return err
		},
	}
	cmd.Flags().BoolVar(&off, "off", false, "power the node off")
	cmd.Flags().BoolVar(&reboot, "reboot", false, "reboot the node")
	return cmd
}

// newNodeConfirmDownCmd is "node confirm-down NODE".
func newNodeConfirmDownCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "confirm-down NODE",
		Short: "Tell the cluster a lost node is off: its held resources are recovered",
		Long: `Confirm that NODE is down (stonith_admin --confirm). With stonith-enabled=true
a lost node that no fence device confirmed and no watchdog guards keeps its
resources held (status says why): it may only be paused and come back
still running them. Once you have made sure NODE is off (powered down,
its agent and every process it started gone), this records it as fenced
by you, and its resources are recovered elsewhere. Confirming a node that
is not down can run a resource twice. A node that renews its lease (online)
is refused. Needs an admin API token; audited.`,
		Args: exactArgs(1, "NODE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			res, err := c.ConfirmDown(cmd.Context(), args[0])
			if err != nil {
				return failure("confirm node "+quote(args[0])+" down", "node "+quote(args[0]), err)
			}
			_, err = fmt.Fprintf(s.Out, "node %s confirmed down (%s): its resources are recovered\n", args[0], res.By)
			return err
		},
	}
}
