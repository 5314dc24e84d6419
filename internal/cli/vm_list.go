package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/paceline/paceline/api"
	"github.com/spf13/cobra"
)

func newVMListCmd(s streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the VMs with their state, host and HA level",
		Long: `List the VMs (builtin:vm and ocf:heartbeat:VirtualDomain resources) in
configuration order: state
(Starting, Running, Stopping, Stopped, Migrating, Unknown when the host is
unreachable, Recovering), host, HA level, storage and why. --json prints
status --json's "vms" array: id, state, host, ha_level, storage, reason.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return failure("list VMs", "", err)
			}
			if asJSON {
				if st.VMs == nil {
					st.VMs = []api.VMStatus{}
				}
				return writeJSON(s.Out, st.VMs)
			}
			if len(st.VMs) == 0 {
				_, err := fmt.Fprintln(s.Out, "no VMs")
				return err
			}
			tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VM\tSTATE\tHOST\tHA LEVEL\tSTORAGE\tREASON")
			for _, v := range st.VMs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.State, dash(v.Host), v.HALevel, v.Storage, dash(v.Reason))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newVMShowCmd(s streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show VM [--json]",
		Short: "Show one VM: state, host, HA level, storage, domain and definition file",
		Args:  exactArgs(1, "VM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			c, err := connect()
			if err != nil {
				return err
			}
			cfg, err := c.Config(cmd.Context())
			if err != nil {
				return failure("show VM "+quote(id), "", err)
			}
			r, err := vmResource(cfg, id)
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return failure("show VM "+quote(id), "", err)
			}
			var v api.VMStatus
			for _, x := range st.VMs {
				if x.ID == id {
					v = x
				}
			}
			if asJSON {
				return writeJSON(s.Out, v)
			}
			params := map[string]string{}
			for _, p := range r.Params {
				params[p.Name] = p.Value
			}
			if r.Class == "ocf" { // VirtualDomain's words for the same
				params["xml"], params["uri"] = params["config"], params["hypervisor"]
			}
			tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
			for _, kv := range [][2]string{{"VM", id}, {"State", v.State}, {"Host", dash(v.Host)}, {"HA level", v.HALevel},
				{"Storage", v.Storage}, {"Reason", dash(v.Reason)}, {"Domain", dash(params["domain"])},
				{"XML", dash(params["xml"])}, {"URI", dash(params["uri"])}, {"Target role", dash(r.Meta["target-role"])}} {
				fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (as one element of vm list --json)")
	return cmd
}
