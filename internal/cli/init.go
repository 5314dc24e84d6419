package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newInitCmd(s streams) *cobra.Command {
	var o InitOptions
	cmd := &cobra.Command{
		Use:   "init --name NAME --data-dir DIR --listen HOST:PORT [--two-node]",
		Short: "Create a new cluster: its CA, this node's certificate and an admin token",
		Long: `Create a new cluster with this node as its first member. Writes into
DIR (mode 0700): the cluster CA (ca.pem, ca.key), this node's certificate,
an admin token (admin.token, mode 0600) and node.yaml; the first
"paceline agent --data-dir DIR" then bootstraps the cluster.

Clients use: PACELINE_ADDR=https://HOST:PORT PACELINE_TOKEN_FILE=DIR/admin.token
PACELINE_CACERT=DIR/ca.pem.

With --two-node the cluster is two servers without a witness
(docs/two-node.md): the second server joins as usual, a witness or a
third server cannot join, and either server goes on alone after it has
fenced the other through a fence device (one for each node).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if s.Daemon == nil {
				return errNoDaemon
			}
			if o.Name == "" || o.DataDir == "" || o.Listen == "" {
				return usagef("init needs --name, --data-dir and --listen")
			}
			if o.TwoNode && o.Role != "" && o.Role != "server" {
				return usagef("init --two-node: --role %s: the two nodes of a two-node cluster are servers (a two-node cluster has no witness)", o.Role)
			}
			tok, ca, err := s.Daemon.Init(o)
			if err != nil {
				return err
			}
			fmt.Fprintf(s.Out, "initialised cluster node %s in %s\nadmin token: %s\nCA certificate: %s\nstart it with: paceline agent --data-dir %s\n", o.Name, o.DataDir, tok, ca, o.DataDir)
			if o.TwoNode {
				fmt.Fprintf(s.Out, "two-node cluster: join one more server (paceline join --role server), then create a fence device for each node (docs/two-node.md)\n")
			}
			return nil
		},
	}
	addNodeFlags(cmd.Flags(), &o, "server (the first node must be one)")
	cmd.Flags().BoolVar(&o.TwoNode, "two-node", false, "two servers without a witness: either goes on alone after fencing the other (docs/two-node.md)")
	return cmd
}

// addNodeFlags registers the node identity flags init and join share.
func addNodeFlags(f *pflag.FlagSet, o *InitOptions, roleHelp string) {
	f.StringVar(&o.Name, "name", "", "this node's name")
	f.StringVar(&o.DataDir, "data-dir", "", "the node's data directory")
	f.StringVar(&o.Listen, "listen", "", "HOST:PORT of the API (Raft uses PORT+1000)")
	f.StringVar(&o.Advertise, "advertise", "", "HOST:PORT others reach the API at (default: --listen)")
	f.StringVar(&o.Role, "role", "", roleHelp)
}
