package cli

import (
	"fmt"
	"slices"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/spf13/cobra"
)

// newUtilizationCmd is "resource utilization ID [k=v ...]" (node false) or
// "node utilization NODE [k=v ...]": show or set the utilization
// attributes placement-strategy weighs (an empty value removes one).
func newUtilizationCmd(s streams, node bool) *cobra.Command {
	what, use := "resource", "utilization ID [key=value ...]"
	if node {
		what, use = "node", "utilization NODE [key=value ...]"
	}
	return &cobra.Command{
		Use:   use,
		Short: "Show or set a " + what + "'s utilization (cpu=2 memory=2048 ...)",
		Long: `Without key=value words, print the ` + what + `'s utilization attributes; with
them, set them (an empty value removes one). With placement-strategy
utilization, minimal or balanced, a resource is placed only where the
nodes' capacities cover the utilization of what runs there.`,
		Args: minArgs(1, what+" [key=value ...]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			kvs := map[string]string{}
			for _, w := range args[1:] {
				k, v, err := parseKV(w)
				if err != nil {
					return err
				}
				kvs[k] = v
			}
			c, err := connect()
			if err != nil {
				return err
			}
			pick := func(cfg *api.Config) (*map[string]string, error) {
				if node {
					i := slices.IndexFunc(cfg.Nodes, func(n model.Node) bool { return n.Name == id })
					if i < 0 {
						return nil, fmt.Errorf("node %s not found", quote(id))
					}
					return &cfg.Nodes[i].Utilization, nil
				}
				r := findResource(cfg.Resources, id)
				if r == nil {
					return nil, fmt.Errorf("resource %s not found", quote(id))
				}
				return &r.Utilization, nil
			}
			if len(kvs) == 0 {
				cfg, err := c.Config(cmd.Context())
				if err != nil {
					return failure("read utilization of "+quote(id), "", err)
				}
				u, err := pick(cfg)
				if err != nil {
					return err
				}
				keys := make([]string, 0, len(*u))
				for k := range *u {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				for _, k := range keys {
					fmt.Fprintf(s.Out, "%s=%s\n", k, (*u)[k])
				}
				return nil
			}
			return editConfig(cmd.Context(), c, "set utilization of "+quote(id), func(cfg *api.Config) error {
				u, err := pick(cfg)
				if err != nil {
					return err
				}
				for k, v := range kvs {
					if v == "" {
						delete(*u, k)
						continue
					}
					if *u == nil {
						*u = map[string]string{}
					}
					(*u)[k] = v
				}
				return nil
			})
		},
	}
}
