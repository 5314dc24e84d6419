package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/spf13/cobra"
)

// newFenceCmd is "fence": the fencing topology, history and devices.
func newFenceCmd(s streams) *cobra.Command {
	level := groupCmd("level", "Manage the fencing topology: which devices fence a node, level by level",
		newFenceLevelAddCmd(s), newFenceLevelRemoveCmd(s), newFenceLevelListCmd(s))
	return groupCmd("fence", "Fencing: levels, history and devices",
		level, newFenceHistoryCmd(s), newFenceDevicesCmd(s))
}

func newFenceLevelAddCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "add NODE LEVEL DEVICE[,DEVICE]",
		Short: "Add a fencing level: devices that must all succeed to fence NODE",
		Long: `Add a fencing level for NODE (Pacemaker's fencing-topology, pcs stonith level
add). Level 1 is tried first; a level fences the node when every one of its
devices succeeded, else the next level is tried. DEVICE are ids of
stonith-class resources (paceline resource create ID stonith:fence_ipmilan
...). A node without levels is fenced by every device that can fence it,
one after another. A level naming a device that is not configured, a node
that does not exist or a level already used is refused. Needs an admin API
token.

Example: paceline fence level add n2 1 ipmi-n2
         paceline fence level add n2 2 pdu-a,pdu-b`,
		Args: exactArgs(3, "NODE LEVEL DEVICE[,DEVICE]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			index, err := strconv.Atoi(args[1])
			if err != nil {
				return usagef("fence level add: LEVEL %q is not a number (1 to 9)", args[1])
			}
			var devices []string
			for _, d := range strings.Split(args[2], ",") {
				if d = strings.TrimSpace(d); d != "" {
					devices = append(devices, d)
				}
			}
			if len(devices) == 0 {
				return usagef("fence level add: no DEVICE given")
			}
			c, err := connect()
			if err != nil {
				return err
			}
			what := fmt.Sprintf("add fencing level %d of %s", index, quote(args[0]))
			if err := c.AddFenceLevel(cmd.Context(), api.FenceLevel{Target: args[0], Index: index, Devices: devices}); err != nil {
				return failure(what, "", err)
			}
			_, err = fmt.Fprintf(s.Out, "fencing level %d of %s: %s\n", index, args[0], strings.Join(devices, ","))
			return err
		},
	}
}

func newFenceLevelRemoveCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "remove NODE LEVEL",
		Short: "Remove a fencing level of a node",
		Long:  "Remove NODE's fencing level LEVEL. Needs an admin API token.",
		Args:  exactArgs(2, "NODE LEVEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			index, err := strconv.Atoi(args[1])
			if err != nil {
				return usagef("fence level remove: LEVEL %q is not a number (1 to 9)", args[1])
			}
			c, err := connect()
			if err != nil {
				return err
			}
			what := fmt.Sprintf("remove fencing level %d of %s", index, quote(args[0]))
			if err := c.RemoveFenceLevel(cmd.Context(), args[0], index); err != nil {
				return failure(what, "", err)
			}
			_, err = fmt.Fprintf(s.Out, "fencing level %d of %s removed\n", index, args[0])
			return err
		},
	}
}

func newFenceLevelListCmd(s streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the fencing levels",
		Long: `List the fencing topology, one level a line: NODE LEVEL DEVICE[,DEVICE].
--json prints [{"target","index","devices"}].`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			ls, err := c.FenceLevels(cmd.Context())
			if err != nil {
				return failure("list fencing levels", "", err)
			}
			if asJSON {
				return writeJSON(s.Out, ls)
			}
			if len(ls) == 0 {
				_, err = fmt.Fprintln(s.Out, "no fencing levels (every device that can fence a node is tried, one after another)")
				return err
			}
			tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NODE\tLEVEL\tDEVICES")
			for _, l := range ls {
				fmt.Fprintf(tw, "%s\t%d\t%s\n", l.Target, l.Index, strings.Join(l.Devices, ","))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newFenceHistoryCmd(s streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "history [NODE] [--json]",
		Short: "Show the fence history: every attempt, its device, who asked, the result",
		Long: `Show the replicated fence history (the newest 500 attempts), oldest first, of
every node or of NODE: one line per run of a fence device (each retry and
each level its own line) or operator confirmation, with the target, the
action, the device and its level, who asked (controller: the cluster's
scheduler; token:ID: an operator), the node that ran the device, the
result, the time it took and why it failed.
--json prints [{"seq","op","target","action","agent_action","device",
"level","attempt","origin","executor","result","reason","start","end"}].`,
		Args: maxArgs(1, "[NODE]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := ""
			if len(args) == 1 {
				target = args[0]
			}
			c, err := connect()
			if err != nil {
				return err
			}
			h, err := c.FenceHistory(cmd.Context(), target)
			if err != nil {
				subject := ""
				if target != "" {
					subject = "node " + quote(target)
				}
				return failure("read fence history", subject, err)
			}
			if asJSON {
				return writeJSON(s.Out, h)
			}
			return printFenceHistory(s.Out, h)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// printFenceHistory prints the history as a table.
func printFenceHistory(w io.Writer, h []api.FenceEntry) error {
	if len(h) == 0 {
		_, err := fmt.Fprintln(w, "no fencing recorded")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tTARGET\tACTION\tDEVICE\tLEVEL\tORIGIN\tBY\tRESULT\tTOOK\tREASON")
	for _, e := range h {
		level := "-"
		if e.Level > 0 {
			level = strconv.Itoa(e.Level)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Start.Local().Format(time.DateTime), e.Target, e.Action,
			dash(e.Device), level, dash(e.Origin), dash(e.Executor), e.Result, e.End.Sub(e.Start).Round(time.Millisecond), oneLine(e.Reason))
	}
	return tw.Flush()
}

func newFenceDevicesCmd(s streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "devices [--json]",
		Short: "List the fence devices: agent, the nodes they fence, their levels",
		Long: `List the fence devices (stonith-class resources): the agent, how a device
decides which nodes it fences (pcmk_host_check) and the nodes of its
pcmk_host_list/pcmk_host_map, the fencing levels that name it and the
nodes where it is started. --json prints [{"id","agent","host_check",
"targets","levels","nodes"}].`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			ds, err := c.FenceDevices(cmd.Context())
			if err != nil {
				return failure("list fence devices", "", err)
			}
			if asJSON {
				return writeJSON(s.Out, ds)
			}
			if len(ds) == 0 {
				_, err = fmt.Fprintln(s.Out, "no fence devices (paceline resource create ID stonith:fence_AGENT ... adds one)")
				return err
			}
			tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "DEVICE\tAGENT\tHOST CHECK\tTARGETS\tLEVELS\tSTARTED ON")
			for _, d := range ds {
				check := d.HostCheck
				if check == "" {
					check = "(from the agent)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Agent, check, dash(strings.Join(d.Targets, ",")),
					dash(strings.Join(d.Levels, ",")), dash(strings.Join(d.Nodes, ",")))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
