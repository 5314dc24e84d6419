package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func newTokenCmd(s streams) *cobra.Command {
	return groupCmd("token", "Create tokens for joining the cluster", newTokenCreateCmd(s))
}

func newTokenCreateCmd(s streams) *cobra.Command {
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "create [--ttl 10m]",
		Short: "Create a single-use join token and print it (only it) on stdout",
		Long: `Create a single-use token a new node presents to "paceline join". Only
the token is printed, on one line, so it can be captured by a script.
Needs an admin API token.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if ttl <= 0 {
				return usagef("--ttl %v: want a positive duration", ttl)
			}
			c, err := connect()
			if err != nil {
				return err
			}
			tr, err := c.CreateJoinToken(cmd.Context(), ttl)
			if err != nil {
				return failure("create join token", "", err)
			}
			_, err = fmt.Fprintln(s.Out, tr.Token)
			return err
		},
	}
	cmd.Flags().DurationVar(&ttl, "ttl", time.Hour, "how long the token is valid")
	return cmd
}
