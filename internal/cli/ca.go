package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/paceline/paceline/api"
)

func newCACmd(s streams) *cobra.Command {
	return groupCmd("ca", "Show and rotate the cluster's certificate authority",
		newCAStatusCmd(s), newCARotateCmd(s))
}

func newCAStatusCmd(s streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [--json]",
		Short: "Show the cluster CA, the CAs nodes trust and each node's certificate",
		Long: `Show the cluster's certificate authority: the CA that signs node
certificates, every CA the nodes trust (two during a rotation), the node that
holds the CA key, and each member's certificate (serial, issuing CA, expiry;
CURRENT is yes when the signing CA issued it). --json prints
{"signing","trusted","holder","rotating","nodes"}.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			st, err := c.CA(cmd.Context())
			if err != nil {
				return failure("CA status", "", err)
			}
			if asJSON {
				return writeJSON(s.Out, st)
			}
			return printCA(s.Out, st)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printCA(w io.Writer, st *api.CAStatus) error {
	state := "stable"
	if st.Rotating {
		state = fmt.Sprintf("rotating (%d of %d nodes renewed)", st.Renewed(), len(st.Nodes))
	}
	fmt.Fprintf(w, "signing CA: %s (%s, expires %s)\nholder:     %s\nstate:      %s\n",
		st.Signing.Fingerprint, st.Signing.Subject, st.Signing.NotAfter.Format(time.DateOnly), dash(st.Holder), state)
	for _, t := range st.Trusted[1:] {
		fmt.Fprintf(w, "also trusted: %s (expires %s)\n", t.Fingerprint, t.NotAfter.Format(time.DateOnly))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nNODE\tSERIAL\tISSUER\tEXPIRES\tCURRENT")
	for _, n := range st.Nodes {
		exp := "-"
		if !n.NotAfter.IsZero() {
			exp = n.NotAfter.Format(time.DateOnly)
		}
		cur := "no"
		if n.Current {
			cur = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.Name, dash(n.Serial), abbrev(n.Issuer), exp, cur)
	}
	return tw.Flush()
}

// abbrev abbreviates a fingerprint for tables.
func abbrev(fp string) string {
	if len(fp) > 23 {
		return fp[:23] + "…"
	}
	return dash(fp)
}

func newCARotateCmd(s streams) *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "rotate [--wait DURATION]",
		Short: "Replace the cluster CA without downtime",
		Long: `Replace the cluster's certificate authority while the cluster runs. The
node that holds the CA key makes a new CA; every node trusts both the new
and the old CA, renews its own certificate with the new one (a new key; name,
role and addresses unchanged) and switches to it for new connections; once
every member has renewed, the old CA is dropped everywhere and connections
still authenticated by it are closed. No agent restarts, no resource moves.

The command waits until the rotation has finished (at most --wait, default
2m; 0 returns once it has started) and prints each node as it renews. A
member that is down holds the rotation until it is back: "paceline ca status"
shows who is missing. Clients keep working when PACELINE_CACERT names a
node's ca.pem (the nodes rewrite it); copies elsewhere must be refreshed.
Join tokens issued before the rotation no longer work. Needs an admin API
token.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			start := time.Now()
			st, err := c.RotateCA(cmd.Context())
			if err != nil {
				return failure("rotate the CA", "", err)
			}
			fmt.Fprintf(s.Out, "new CA %s; also trusting the old %s until every node has renewed\n",
				st.Signing.Fingerprint, st.Trusted[len(st.Trusted)-1].Fingerprint)
			if wait <= 0 {
				return nil
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), wait)
			defer cancel()
			return followRotation(ctx, c, s.Out, st.Signing.Fingerprint, start)
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 2*time.Minute, "wait at most this long for the rotation to finish (0: do not wait)")
	return cmd
}

// followRotation prints nodes as they renew until the old CA is dropped.
func followRotation(ctx context.Context, c *api.Client, w io.Writer, signing string, start time.Time) error {
	seen := map[string]bool{}
	for {
		st, err := c.CA(ctx)
		if err == nil && st.Signing.Fingerprint == signing {
			for _, n := range st.Nodes {
				if n.Current && !seen[n.Name] {
					seen[n.Name] = true
					fmt.Fprintf(w, "  %s renewed (serial %s) after %.1fs\n", n.Name, n.Serial, time.Since(start).Seconds())
				}
			}
			if !st.Rotating {
				_, err := fmt.Fprintf(w, "rotation finished in %.1fs: %d nodes on CA %s, the old CA is no longer trusted\n",
					time.Since(start).Seconds(), len(st.Nodes), signing)
				return err
			}
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("the rotation has not finished yet (%d nodes renewed so far): see paceline ca status", len(seen))
			}
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
