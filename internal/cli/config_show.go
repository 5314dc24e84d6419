package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/spf13/cobra"
)

func newConfigCmd(s streams) *cobra.Command {
	return groupCmd("config", "Show, export and apply the cluster configuration",
		newConfigShowCmd(s), newConfigExportCmd(s), newConfigApplyCmd(s), newConfigDiffCmd(s))
}

func newConfigShowCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Show the configuration for people (use 'config export' for a file)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			cfg, err := c.Config(cmd.Context())
			if err != nil {
				return failure("config show", "", err)
			}
			return printConfig(s.Out, cfg)
		},
	}
}

// printConfig writes the human view of a configuration.
func printConfig(w io.Writer, cfg *api.Config) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Config epoch: %d\n", cfg.Epoch)
	fmt.Fprintf(tw, "\nProperties (%d):\n", len(cfg.Properties))
	for _, k := range sortedKeys(cfg.Properties) {
		fmt.Fprintf(tw, "  %s\t%s\n", k, cfg.Properties[k])
	}
	fmt.Fprintf(tw, "\nNodes (%d):\n", len(cfg.Nodes))
	for _, n := range cfg.Nodes {
		fmt.Fprintf(tw, "  %s\t%s\n", n.Name, dash(kvList(n.Attributes)))
	}
	fmt.Fprintf(tw, "\nResources (%d):\n", len(cfg.Resources))
	var printRes func(rs []model.Resource, indent string)
	printRes = func(rs []model.Resource, indent string) {
		for i := range rs {
			r := &rs[i]
			what := string(r.Kind)
			if r.Kind == model.KindPrimitive {
				what = r.Agent()
			}
			fmt.Fprintf(tw, "%s%s\t%s", indent, r.ID, what)
			if len(r.Params) > 0 {
				var ps []string
				for _, p := range r.Params {
					ps = append(ps, p.Name+"="+p.Value)
				}
				fmt.Fprintf(tw, "  %s", strings.Join(ps, " "))
			}
			if len(r.Meta) > 0 {
				fmt.Fprintf(tw, "  meta %s", kvList(r.Meta))
			}
			for _, op := range r.Ops {
				fmt.Fprintf(tw, "  op %s", op.Name)
				if op.Interval != 0 {
					fmt.Fprintf(tw, " interval=%v", op.Interval)
				}
				if op.Timeout != 0 {
					fmt.Fprintf(tw, " timeout=%v", op.Timeout)
				}
			}
			fmt.Fprintln(tw)
			printRes(r.Children, indent+"  ")
		}
	}
	printRes(cfg.Resources, "  ")
	fmt.Fprintf(tw, "\nConstraints (%d):\n", len(cfg.Locations)+len(cfg.Colocations)+len(cfg.Orders)+len(cfg.Tickets))
	for _, l := range cfg.Locations {
		target := l.Resource
		if target == "" {
			target = l.ResourcePattern
		}
		where := "on " + l.Node
		if l.Node == "" {
			where = "(rules)"
		}
		fmt.Fprintf(tw, "  location\t%s\t%s %s score %s\n", l.ID, target, where, l.Score)
	}
	for _, c := range cfg.Colocations {
		fmt.Fprintf(tw, "  colocation\t%s\t%s with %s score %s\n", c.ID, c.Resource, c.With, c.Score)
	}
	for _, o := range cfg.Orders {
		kind := o.Kind
		if kind == "" {
			kind = "Mandatory"
		}
		fmt.Fprintf(tw, "  order\t%s\t%s then %s (%s)\n", o.ID, o.First, o.Then, kind)
	}
	for _, t := range cfg.Tickets {
		fmt.Fprintf(tw, "  ticket\t%s\t%s\n", t.ID, t.Resource)
	}
	return tw.Flush()
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func kvList(m map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, " ")
}
