package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newTokenListCmd(s streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List API tokens: id, role, where kept, creator, expiry, revocation",
		Long: `List the API tokens (never the tokens themselves). SOURCE is "cluster" for
tokens made with "paceline token create --role" (replicated) and "local" for
the bootstrap admin token of "paceline init" (kept in each node's data
directory). Needs an admin API token. --json prints the list as
[{"id","role","source","creator","created","expires","revoked","revoked_by"}].`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			list, err := c.Tokens(cmd.Context())
			if err != nil {
				return failure("list tokens", "", err)
			}
			if asJSON {
				return writeJSON(s.Out, list)
			}
			tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tROLE\tSOURCE\tCREATOR\tEXPIRES\tSTATE")
			for _, t := range list {
				exp, state := "never", "active"
				if !t.Expires.IsZero() {
					exp = t.Expires.Format(time.RFC3339)
					if time.Now().After(t.Expires) {
						state = "expired"
					}
				}
				if !t.Revoked.IsZero() {
					state = "revoked " + t.Revoked.Format(time.RFC3339) + " by " + dash(t.RevokedBy)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, dash(t.Role), t.Source, dash(t.Creator), exp, state)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newTokenRevokeCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API token everywhere in the cluster",
		Long: `Revoke the API token ID (as "paceline token list" shows it): every node
refuses it from then on with 401 "token ID was revoked". The bootstrap admin
token can be revoked too; make another admin token first. Needs an admin
API token.`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			if err := c.RevokeToken(cmd.Context(), args[0]); err != nil {
				return failure("revoke token "+quote(args[0]), "token "+quote(args[0]), err)
			}
			_, err = fmt.Fprintf(s.Out, "revoked token %s\n", args[0])
			return err
		},
	}
}
