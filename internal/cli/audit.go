package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/spf13/cobra"
)

func newAuditCmd(s streams) *cobra.Command {
	var asJSON, verify bool
	var since, who, resource string
	cmd := &cobra.Command{
		Use:   "audit [--json] [--verify] [--since D] [--who TOKEN] [--resource ID]",
		Short: "Show the audit log of changes: who, what, when, result",
		Long: `Show the cluster's audit log, oldest first: every request that asked for a
change (anything needing an operator or admin token), including the ones
refused with 403, with the token id and role, the source address, the
request (secret values masked as ***), the time and the result.

The entries are hash-chained: each stores the SHA-256 of the one before.
--verify recomputes the chain here, from what the server returned, and
exits 1 naming the first entry that was changed or is missing; it prints
"audit log intact: N entries (SEQ..SEQ)" otherwise.

--since keeps the entries of the last D (a duration: 30m, 2h) or since a
time (2026-12-06, "2026-12-06 15:04", RFC 3339); --who those of one token
id; --resource those whose request names that resource (its path or its
body). The human view prints one line per entry, cut to under 160
characters (the request body is shortened with "…"); --json prints the
entries whole: {"entries":[{"seq","at","at_ms","token","role","source",
"action","detail","result","prev","hash"}]}. Any API token may read the
log.`,
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
			keep, err := auditFilter(since, who, resource, time.Now())
			if err != nil {
				return err
			}
			log.Entries = slices.DeleteFunc(log.Entries, func(e api.AuditEntry) bool { return !keep(e) })
			if asJSON {
				return writeJSON(s.Out, log)
			}
			var b strings.Builder
			tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tTIME\tTOKEN\tROLE\tSOURCE\tACTION\tRESULT\tDETAIL")
			for _, e := range log.Entries {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.At.Local().Format(time.DateTime), dash(e.Token),
					dash(e.Role), dash(e.Source), e.Action, oneLine(e.Result), oneLine(e.Detail))
			}
			tw.Flush()
			for _, line := range strings.SplitAfter(b.String(), "\n") {
				if _, err := io.WriteString(s.Out, cutLine(line, auditLineMax)); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "only entries of the last D (30m, 2h) or since a date or time")
	cmd.Flags().StringVar(&who, "who", "", "only the entries of this token id")
	cmd.Flags().StringVar(&resource, "resource", "", "only the entries whose request names this resource")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&verify, "verify", false, "recompute the hash chain; exit 1 naming the first bad entry")
	return cmd
}

// auditLineMax is the longest line of the human audit view, newline
// included.
const auditLineMax = 159

// cutLine shortens a line to max runes (its newline kept), ending it
// with "…".
func cutLine(line string, max int) string {
	body, nl := strings.CutSuffix(line, "\n")
	r := []rune(body)
	if len(r)+1 <= max || !nl && len(r) <= max {
		return line
	}
	out := string(r[:max-2]) + "…"
	if nl {
		out += "\n"
	}
	return out
}

// auditFilter returns what --since, --who and --resource keep.
func auditFilter(since, who, resource string, now time.Time) (func(api.AuditEntry) bool, error) {
	var from time.Time
	if since != "" {
		if d, err := time.ParseDuration(since); err == nil && d >= 0 {
			from = now.Add(-d)
		} else {
			for _, layout := range []string{time.RFC3339, time.DateTime, "2006-01-02 15:04", time.DateOnly} {
				if t, err := time.ParseInLocation(layout, since, time.Local); err == nil {
					from = t
					break
				}
			}
			if from.IsZero() {
				return nil, usagef("--since %q: want a duration (30m, 2h) or a time (2026-12-06, 2026-12-06 15:04, RFC 3339)", since)
			}
		}
	}
	return func(e api.AuditEntry) bool {
		if !from.IsZero() && e.At.Before(from) {
			return false
		}
		if who != "" && e.Token != who {
			return false
		}
		if resource != "" && !namesResource(e, resource) {
			return false
		}
		return true
	}, nil
}

// namesResource reports whether an audit entry's request names the
// resource: a path segment, or the id as a JSON string in its body.
func namesResource(e api.AuditEntry, id string) bool {
	_, path, _ := strings.Cut(e.Action, " ")
	if slices.Contains(strings.Split(path, "/"), id) {
		return true
	}
	return strings.Contains(e.Detail, `"`+id+`"`)
}
