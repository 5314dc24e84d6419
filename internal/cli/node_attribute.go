package cli

import (
	"fmt"
	"slices"

	"github.com/paceline/paceline/api"
	"github.com/spf13/cobra"
)

func newNodeAttributeCmd(s streams) *cobra.Command {
	var del []string
	cmd := &cobra.Command{
		Use:   "attribute NODE [key=value ...] [--delete KEY ...]",
		Short: "Show, set or delete a node's attributes",
		Long: `Without key=value words, print NODE's attributes (key=value per line; fail
counts included). key=value sets attributes and --delete KEY (repeatable)
removes one; location rules (#uname, pingd, site, ...) read them. Needs an
operator or admin API token to change.

  paceline node attribute n1 site=berlin
  paceline node attribute n1 --delete site`,
		Args: minArgs(1, "NODE [key=value ...]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			node := args[0]
			attrs := map[string]string{}
			for _, w := range args[1:] {
				k, v, err := parseKV(w)
				if err != nil {
					return err
				}
				if v == "" {
					return usagef("%s=: an empty value; remove an attribute with --delete %s", k, k)
				}
				attrs[k] = v
			}
			for _, k := range del {
				attrs[k] = ""
			}
			c, err := connect()
			if err != nil {
				return err
			}
			if len(attrs) > 0 {
				if err := c.SetNodeAttributes(cmd.Context(), node, attrs); err != nil {
					return failure("set attributes of node "+quote(node), "node "+quote(node), err)
				}
				return nil
			}
			nodes, err := c.Nodes(cmd.Context())
			if err != nil {
				return failure("read node "+quote(node), "", err)
			}
			i := slices.IndexFunc(nodes, func(n api.Node) bool { return n.Name == node })
			if i < 0 {
				return fmt.Errorf("node %s not found", quote(node))
			}
			keys := make([]string, 0, len(nodes[i].Attributes))
			for k := range nodes[i].Attributes {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				fmt.Fprintf(s.Out, "%s=%s\n", k, nodes[i].Attributes[k])
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&del, "delete", nil, "remove this attribute (repeatable)")
	return cmd
}
