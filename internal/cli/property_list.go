package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/paceline/paceline/internal/model"
	"github.com/spf13/cobra"
)

func newPropertyListCmd(s streams) *cobra.Command {
	var all, asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--all] [--json]",
		Short: "List the cluster properties: value, type, default and description",
		Long: `List the cluster options Paceline knows (Pacemaker 2.1's) with their
current value, type, default, allowed values and description: the ones
set, or with --all every one. Properties set that are not known (set
with "property set --force") are listed too.

--json prints [{"name", "type", "default", "values", "read_only",
"description", "value", "set"}].`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			props, err := c.Properties(cmd.Context())
			if err != nil {
				return failure("list properties", "", err)
			}
			type row struct {
				model.PropertyDef
				Value string `json:"value"`
				Set   bool   `json:"set"`
			}
			var rows []row
			known := map[string]bool{}
			for _, d := range model.ClusterProperties() {
				known[d.Name] = true
				v, set := props[d.Name]
				if !set {
					v = d.Default
				}
				if set || all {
					rows = append(rows, row{PropertyDef: d, Value: v, Set: set})
				}
			}
			for name, v := range props {
				if !known[name] {
					rows = append(rows, row{PropertyDef: model.PropertyDef{Name: name, Type: model.PropString,
						Description: "(not a known cluster option)"}, Value: v, Set: true})
				}
			}
			if asJSON {
				if rows == nil {
					rows = []row{}
				}
				return writeJSON(s.Out, rows)
			}
			tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVALUE\tTYPE\tDEFAULT\tDESCRIPTION")
			for _, r := range rows {
				value := r.Value
				if !r.Set {
					value = "(default)"
				}
				typ := string(r.Type)
				if len(r.Values) > 0 {
					typ = strings.Join(r.Values, "|")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, dash(value), typ, dash(r.Default), r.Description)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "list every known property, not only those set")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
