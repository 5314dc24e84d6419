package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func newTokenCmd(s streams) *cobra.Command {
	return groupCmd("token", "Create, list and revoke API tokens and join tokens",
		newTokenCreateCmd(s), newTokenListCmd(s), newTokenRevokeCmd(s))
}

func newTokenCreateCmd(s streams) *cobra.Command {
	var ttl time.Duration
	var role string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "create [--role viewer|operator|admin] [--ttl D] [--json]",
		Short: "Create an API token (--role) or a single-use join token, and print only it",
		Long: `With --role, create an API token and print it (only it) on stdout; its id,
role and expiry go to stderr. The token is shown this once: the cluster keeps
only its hash. Roles:
  viewer    reads (status, resources, configuration, audit log)
  operator  reads and operational commands: node standby/unstandby and
            maintenance, resource move, ban, clear, cleanup, enable, disable
  admin     everything, including creating or changing resources,
            constraints, properties, the configuration and tokens
--ttl defaults to 720h (30 days) for an API token; --ttl 0 makes one that
never expires.

Without --role, create a single-use token a new node presents to
"paceline join" (--ttl defaults to 1h).

Both need an admin API token. --json prints {"token","id","role","expires"}.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if role == "" {
				if !cmd.Flags().Changed("ttl") {
					ttl = time.Hour
				}
				if ttl <= 0 {
					return usagef("--ttl %v: a join token needs a positive duration", ttl)
				}
				c, err := connect()
				if err != nil {
					return err
				}
				tr, err := c.CreateJoinToken(cmd.Context(), ttl)
				if err != nil {
					return failure("create join token", "", err)
				}
				if asJSON {
					return writeJSON(s.Out, tr)
				}
				_, err = fmt.Fprintln(s.Out, tr.Token)
				return err
			}
			switch role {
			case "viewer", "operator", "admin":
			default:
				return usagef("--role %q: want viewer, operator or admin", role)
			}
			if !cmd.Flags().Changed("ttl") {
				ttl = 30 * 24 * time.Hour
			}
			if ttl < 0 {
				return usagef("--ttl %v: want a positive duration, or 0 for a token that never expires", ttl)
			}
			c, err := connect()
			if err != nil {
				return err
			}
			tr, err := c.CreateToken(cmd.Context(), role, ttl)
			if err != nil {
				return failure("create "+role+" token", "", err)
			}
			if asJSON {
				return writeJSON(s.Out, tr)
			}
			exp := "never expires"
			if !tr.Expires.IsZero() {
				exp = "expires " + tr.Expires.Format(time.RFC3339)
			}
			fmt.Fprintf(s.Err, "token %s (%s), %s; revoke with 'paceline token revoke %s'\n", tr.ID, tr.Role, exp, tr.ID)
			_, err = fmt.Fprintln(s.Out, tr.Token)
			return err
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "make an API token with this role: viewer, operator or admin")
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "how long the token is valid (default 1h for a join token, 720h for an API token)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the token, id, role and expiry as JSON")
	return cmd
}
