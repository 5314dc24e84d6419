package cli

import (
	"fmt"
	"os"

	"github.com/paceline/paceline/api"
	"github.com/spf13/cobra"
)

func newResourceCreateCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use: "create ID AGENT [key=value ...] [--meta key=value ...] [--op NAME key=value ...] " +
			"[--group GROUP [--before ID|--after ID]] [--clone [key=value ...]] [--promotable [key=value ...]] [--force]",
		Short: "Create a primitive resource, in a group or a clone (pcs style)",
		Long: `Create a primitive resource, pcs style:

  paceline resource create web builtin:dummy --op monitor interval=1s
  paceline resource create vip ocf:heartbeat:IPaddr2 ip=10.0.0.10 cidr_netmask=24 \
      --meta resource-stickiness=100 --op monitor interval=5s timeout=20s
  paceline resource create db ocf:pacemaker:Stateful --promotable notify=true \
      --op monitor interval=5s role=Promoted --op monitor interval=2s role=Unpromoted
  paceline resource create app1 ocf:heartbeat:Dummy --group app
  paceline resource create app0 ocf:heartbeat:Dummy --group app --before app1
  paceline resource create api ocf:heartbeat:Dummy --clone clone-max=2

"--group GROUP" makes the resource a member of GROUP, which is created when
it does not exist; the member is added last, or before or after the member
named by "--before ID" or "--after ID".

"--clone" wraps the resource in a clone named ID-clone (as pcs names it);
the key=value words after it are the clone's meta-attributes (clone-max,
clone-node-max, notify, interleave, ordered, globally-unique, ...).
"--promotable" makes a promotable clone ID-clone (meta promotable=true),
whose words may also set promoted-max and promoted-node-max. A resource is
either in a group or cloned: to clone a group, create the group first.
Roles (role=Promoted) may be written Master and Slave, as Pacemaker 1 did.

The resource is checked against its agent's meta-data on the node that
answers: an agent that is not installed, an unknown parameter, a missing
required one or an unknown operation is refused with the closest known
name ("did you mean Dummy?"), and nothing is created. "--force" creates it
anyway (an agent whose meta-data is wrong, or one installed only on other
nodes). "paceline resource agents" and "paceline resource describe AGENT"
show what is installed and what an agent takes.

AGENT is class:type or class:provider:type. The key=value words right after
it are the agent's instance parameters. "--meta" starts meta-attributes
(target-role, resource-stickiness, ...); each "--op NAME" starts one
operation whose words are interval, timeout (Go durations or seconds),
role, on-fail or any other operation attribute. "--op" may be repeated.

"--secret-file NAME=PATH" adds a secret parameter (a password) whose value
is read from PATH, or from standard input when PATH is "-", so that it is
never on a command line. Secret values reach the agent but are shown as
***** everywhere (status, resource show, config export without --secrets).`,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if wantsHelp(args) {
				return cmd.Help()
			}
			if len(args) < 2 {
				return usagef("%s wants ID AGENT [key=value ...] (see '%s --help')", cmdName(cmd), cmd.CommandPath())
			}
			id, agent := args[0], args[1]
			if err := checkID("resource id", id); err != nil {
				return err
			}
			if err := checkID("agent", agent); err != nil {
				return err
			}
			rw, err := parseResourceWords(args[2:])
			if err != nil {
				return err
			}
			if err := rw.readSecretFiles(os.Stdin); err != nil {
				return err
			}
			req := api.ResourceRequest{ID: id, Agent: agent, Params: rw.params, Meta: rw.meta, Ops: rw.ops,
				Group: rw.group, Before: rw.before, After: rw.after, Clone: rw.clone}
			if _, err := req.Primitive(); err != nil {
				return usagef("%v", err)
			}
			c, err := connect()
			if err != nil {
				return err
			}
			create := c.CreateResource
			if rw.force {
				create = c.ForceCreateResource
			}
			r, err := create(cmd.Context(), req)
			if err != nil {
				return failure("create resource "+quote(id), "", err)
			}
			where := ""
			switch {
			case req.Group != "":
				where = " in group " + quote(req.Group)
			case req.Clone != nil && req.Clone.Promotable:
				where = " in promotable clone " + quote(api.CloneID(id))
			case req.Clone != nil:
				where = " in clone " + quote(api.CloneID(id))
			}
			_, err = fmt.Fprintf(s.Out, "created resource %s (%s)%s\n", quote(r.ID), r.Agent(), where)
			return err
		},
	}
}
