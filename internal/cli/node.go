package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newNodeCmd(s streams) *cobra.Command {
	return groupCmd("node", "Put nodes in and out of standby and maintenance, stop them",
		newNodeAttrCmd(s, "standby", "standby", "on", "Move every resource off a node and keep them off"),
		newNodeAttrCmd(s, "unstandby", "standby", "", "Let a node in standby run resources again"),
		newNodeAttrCmd(s, "maintenance", "maintenance", "on", "Stop managing a node's resources (they keep running, unmonitored)"),
		newNodeAttrCmd(s, "unmaintenance", "maintenance", "", "Manage a node's resources again after maintenance"),
		newNodeStopCmd(s),
		newNodeRemoveCmd(s),
		newNodeFenceCmd(s),
		newNodeConfirmDownCmd(s),
		newNodeAttributeCmd(s),
		newUtilizationCmd(s, true),
	)
}

// newNodeAttrCmd returns "node VERB NODE", which sets the node attribute
// attr to value ("" deletes it).
func newNodeAttrCmd(s streams, verb, attr, value, short string) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " NODE",
		Short: short,
		Long: short + `.

Sets the node attribute "` + attr + `" (on to enter, removed to leave); status
shows the node as standby or maintenance while it is online. Needs an
operator or admin API token.`,
		Args: exactArgs(1, "NODE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			node := args[0]
			c, err := connect()
			if err != nil {
				return err
			}
			if err := c.SetNodeAttributes(cmd.Context(), node, map[string]string{attr: value}); err != nil {
				return failure(verb+" node "+quote(node), "node "+quote(node), err)
			}
			state := attr + "=" + value
			if value == "" {
				state = attr + " cleared"
			}
			_, err = fmt.Fprintf(s.Out, "node %s: %s\n", quote(node), state)
			return err
		},
	}
}
