package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newJoinCmd(s streams) *cobra.Command {
	var o InitOptions
	var token string
	cmd := &cobra.Command{
		Use:   "join --name NAME --data-dir DIR --listen HOST:PORT --token TOKEN SEED",
		Short: "Prepare this node to join a cluster through SEED (HOST:PORT of a member)",
		Long: `Join a cluster: checks that SEED's CA is the one the join token (from
"paceline token create") names, trades the single-use token for this node's
certificate, and writes DIR. The next "paceline agent --data-dir DIR"
completes the join.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("join needs exactly one SEED address (HOST:PORT of a cluster member)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if s.Daemon == nil {
				return errNoDaemon
			}
			if o.Name == "" || o.DataDir == "" || o.Listen == "" || token == "" {
				return usagef("join needs --name, --data-dir, --listen and --token")
			}
			if err := s.Daemon.Join(cmd.Context(), o, token, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(s.Out, "node %s is ready to join through %s\nstart it with: paceline agent --data-dir %s\n", o.Name, args[0], o.DataDir)
			return nil
		},
	}
	addNodeFlags(cmd.Flags(), &o, "server (default), witness or client")
	cmd.Flags().StringVar(&token, "token", "", "join token from 'paceline token create'")
	return cmd
}
