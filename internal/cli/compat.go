package cli

import (
	"github.com/spf13/cobra"
)

func newCompatCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "compat TOOL [ARGS...]",
		Short: "Answer a Pacemaker helper command (crm_node, crm_attribute, ...) for OCF agents",
		Long: `Run one of the Pacemaker helper commands that OCF resource agents call,
answered by the local paceline agent over its unix socket
(PACELINE_COMPAT_SOCKET, default /var/lib/paceline/compat.sock; root only):

  crm_node       -n | -l | -p | -q | -i | -N ID
  crm_attribute  -n NAME (-G | -v VALUE | -D) [-N NODE] [-l reboot|forever]
                 [-t nodes|status|crm_config] [-q] [-d DEFAULT] [-p [RSC]]
  crm_master     (-G | -v VALUE | -D) [-l reboot|forever] [-N NODE] [-r RSC] [-q]
  attrd_updater  -n NAME (-U VALUE | -Q [-A] | -D) [-N NODE] [-d DELAY] [-p]
  pacemakerd     --version

"paceline agent" installs links with these names to the paceline binary in
DATA_DIR/bin and puts that directory first in the agents' PATH (and in
HA_SBIN_DIR), so unmodified agents run them. Output and exit statuses are
Pacemaker 2.1's: the value alone with -q, 105 when the attribute does not
exist, 64 for bad arguments.

Writes go through the agent's API as an operator named local:uid=UID@NODE,
with the same role check and audit log (paceline audit) as the CLI: node
attributes are allowed; a cluster option (-t crm_config, or no node and no
lifetime) needs admin, so it exits 4 (CRM_EX_INSUFFICIENT_PRIV): set it with
paceline property set and an admin token.`,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
				return cmd.Help()
			}
			if s.Daemon == nil {
				return errNoDaemon
			}
			if code := s.Daemon.Compat(args[0], args[1:], s.Out, s.Err); code != ExitOK {
				return exitStatus(code)
			}
			return nil
		},
	}
}
