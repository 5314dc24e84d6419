package cli

import (
	"fmt"
	"net/http"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newResourceAgentsCmd(s streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "agents [CLASS[:PROVIDER]] [--json]",
		Short: "List the resource agents installed on the answering node",
		Long: `List the resource agents installed on the node that answers, one per line
as "resource create" takes them: ocf:heartbeat:IPaddr2, builtin:vip, ...
CLASS (ocf, builtin) or CLASS:PROVIDER (ocf:heartbeat) narrows the list.

--json prints {"agents": [...]}.`,
		Args: maxArgs(1, "[CLASS[:PROVIDER]]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var class, provider string
			if len(args) == 1 {
				class, provider, _ = strings.Cut(args[0], ":")
			}
			c, err := connect()
			if err != nil {
				return err
			}
			list, err := c.Agents(cmd.Context(), class, provider)
			if err != nil {
				return agentFailure("list agents", err)
			}
			if asJSON {
				return writeJSON(s.Out, map[string][]string{"agents": list})
			}
			if len(list) == 0 {
				return fmt.Errorf("no agents of %s installed", args[0])
			}
			_, err = fmt.Fprintln(s.Out, strings.Join(list, "\n"))
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// agentFailure explains a node without an agent catalogue.
func agentFailure(what string, err error) error {
	if isStatus(err, http.StatusNotImplemented) {
		return fmt.Errorf("%s: the answering node has no agent catalogue (a witness, or an older version)", what)
	}
	return failure(what, "", err)
}

func newResourceDescribeCmd(s streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "describe AGENT [--json]",
		Short: "Show an agent's parameters and actions (from its meta-data)",
		Long: `Show what an agent takes, from its meta-data on the answering node: each
parameter with whether it is required, its default, whether a change can
be reloaded without a restart, and whether it looks like a secret (set it
with --secret-file); each action with its advised timeout (and interval
and role for monitors).

  paceline resource describe ocf:heartbeat:IPaddr2

--json prints {"agent", "version", "shortdesc", "longdesc", "parameters":
[{"name", "required", "unique", "reloadable", "deprecated", "secret",
"type", "default", "shortdesc"}], "actions": [{"name", "timeout",
"interval", "role", "depth"}]}.`,
		Args: exactArgs(1, "AGENT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			m, err := c.AgentMeta(cmd.Context(), args[0])
			if isStatus(err, http.StatusNotFound) {
				return failure("describe "+args[0], "", err)
			}
			if err != nil {
				return agentFailure("describe "+args[0], err)
			}
			if asJSON {
				return writeJSON(s.Out, m)
			}
			fmt.Fprintf(s.Out, "%s", m.Agent)
			if m.ShortDesc != "" {
				fmt.Fprintf(s.Out, ": %s", m.ShortDesc)
			}
			fmt.Fprintln(s.Out)
			tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "\nParameters (%d):\n", len(m.Parameters))
			fmt.Fprintln(tw, "  NAME\tREQUIRED\tDEFAULT\tRELOADABLE\tSECRET\tDESCRIPTION")
			yes := func(b bool) string {
				if b {
					return "yes"
				}
				return "-"
			}
			for _, p := range m.Parameters {
				desc := p.ShortDesc
				if p.Deprecated {
					desc = "(deprecated) " + desc
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", p.Name, yes(p.Required), dash(p.Default), yes(p.Reloadable),
					yes(p.Secret), oneLine(desc))
			}
			fmt.Fprintf(tw, "\nActions (%d):\n", len(m.Actions))
			fmt.Fprintln(tw, "  NAME\tTIMEOUT\tINTERVAL\tROLE")
			for _, a := range m.Actions {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", a.Name, dash(a.Timeout), dash(a.Interval), dash(a.Role))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
