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
		newConfigShowCmd(s), newConfigExportCmd(s), newConfigApplyCmd(s), newConfigDiffCmd(s),
		newConfigSchemaCmd(s), newConfigHistoryCmd(s), newConfigRollbackCmd(s))
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
	fmt.Fprintf(tw, "\nResource defaults (%d):\n", len(cfg.RscDefaults))
	for _, k := range sortedKeys(cfg.RscDefaults) {
		fmt.Fprintf(tw, "  %s\t%s\n", k, cfg.RscDefaults[k])
	}
	fmt.Fprintf(tw, "\nOperation defaults (%d):\n", len(cfg.OpDefaults))
	for _, k := range sortedKeys(cfg.OpDefaults) {
		fmt.Fprintf(tw, "  %s\t%s\n", k, cfg.OpDefaults[k])
	}
	for _, sets := range []struct {
		name string
		sets []model.AttrSet
	}{{"Property sets", cfg.PropertySets}, {"Resource default sets", cfg.RscDefaultSets}, {"Operation default sets", cfg.OpDefaultSets}} {
		if len(sets.sets) == 0 {
			continue
		}
		fmt.Fprintf(tw, "\n%s (%d):\n", sets.name, len(sets.sets))
		for _, set := range sets.sets {
			fmt.Fprintf(tw, "  %s\tscore %s\t%s%s\n", dash(set.ID), set.Score, nvList(set.Values), ruleText(set.Rule))
		}
	}
	fmt.Fprintf(tw, "\nNodes (%d):\n", len(cfg.Nodes))
	for _, n := range cfg.Nodes {
		line := dash(kvList(n.Attributes))
		if len(n.Utilization) > 0 {
			line += "  utilization " + kvList(n.Utilization)
		}
		fmt.Fprintf(tw, "  %s\t%s\n", n.Name, line)
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
				fmt.Fprintf(tw, "  %s", nvList(r.Params))
			}
			if len(r.Meta) > 0 {
				fmt.Fprintf(tw, "  meta %s", kvList(r.Meta))
			}
			if len(r.Utilization) > 0 {
				fmt.Fprintf(tw, "  utilization %s", kvList(r.Utilization))
			}
			for _, op := range r.Ops {
				fmt.Fprintf(tw, "  op %s", op.Name)
				if op.Interval != 0 {
					fmt.Fprintf(tw, " interval=%v", op.Interval)
				}
				if op.Timeout != 0 {
					fmt.Fprintf(tw, " timeout=%v", op.Timeout)
				}
				if op.Role != "" {
					fmt.Fprintf(tw, " role=%s", op.Role)
				}
				if op.OnFail != "" {
					fmt.Fprintf(tw, " on-fail=%s", op.OnFail)
				}
				if !op.IsEnabled() {
					fmt.Fprint(tw, " enabled=false")
				}
				if len(op.Meta) > 0 {
					fmt.Fprintf(tw, " %s", kvList(op.Meta))
				}
				if len(op.Params) > 0 {
					fmt.Fprintf(tw, " %s", nvList(op.Params))
				}
			}
			for _, set := range r.RuleParams {
				fmt.Fprintf(tw, "  params %s%s", nvList(set.Values), ruleText(set.Rule))
			}
			fmt.Fprintln(tw)
			printRes(r.Children, indent+"  ")
		}
	}
	printRes(cfg.Resources, "  ")
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nConstraints (%d):\n", len(cfg.Locations)+len(cfg.Colocations)+len(cfg.Orders)+len(cfg.Tickets))
	writeConstraints(w, cfg, func(...string) bool { return true })
	return nil
}

// nvList renders name=value pairs in order (secret values are masked
// already by the server).
func nvList(nvs []model.NV) string {
	var ps []string
	for _, p := range nvs {
		ps = append(ps, p.Name+"="+p.Value)
	}
	return strings.Join(ps, " ")
}

// ruleText renders an optional rule.
func ruleText(r *model.Rule) string {
	if r == nil {
		return ""
	}
	return " when '" + model.FormatRule(*r) + "'"
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
