package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/spf13/cobra"
)

func newAuditCmd(s streams) *cobra.Command {
	var asJSON, verify bool
	cmd := &cobra.Command{
		Use:   "audit [--json] [--verify]",
		Short: "Show the audit log of changes: who, what, when, result",
		Long: `Show the cluster's audit log, oldest first: every request that asked for a
change (anything needing an operator or admin token), including the ones
refused with 403, with the token id and role, the source address, the
request (secret values masked as ***), the time and the result.

The entries are hash-chained: each stores the SHA-256 of the one before.
--verify recomputes the chain here, from what the server returned, and
exits 1 naming the first entry that was changed or is missing; it prints
"audit log intact: N entries (SEQ..SEQ)" otherwise.

Any API token may read the log. --json prints {"entries":[{"seq","at",
"at_ms","token","role","source","action","detail","result","prev","hash"}]}.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			log, err := c.Audit(cmd.Context())
			if err != nil {
				return failure("read audit log", "", err)
			}
			if verify {
				if err := api.VerifyAudit(log.Entries); err != nil {
					return err
				}
				if n := len(log.Entries); n > 0 {
					_, err = fmt.Fprintf(s.Out, "audit log intact: %d entries (%d..%d)\n", n, log.Entries[0].Seq, log.Entries[n-1].Seq)
				} else {
					_, err = fmt.Fprintln(s.Out, "audit log intact: 0 entries")
				}
				return err
			}
			if asJSON {
				return writeJSON(s.Out, log)
			}
			tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tTIME\tTOKEN\tROLE\tSOURCE\tACTION\tRESULT\tDETAIL")
			for _, e := range log.Entries {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.At.Local().Format(time.DateTime), dash(e.Token),
					dash(e.Role), dash(e.Source), e.Action, e.Result, e.Detail)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&verify, "verify", false, "recompute the hash chain; exit 1 naming the first bad entry")
	return cmd
}
