package cli

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newConfigHistoryCmd(s streams) *cobra.Command {
	var asJSON bool
	var last int
	cmd := &cobra.Command{
		Use:   "history [--last N] [--json]",
		Short: "List the last configuration epochs: when, who, what changed",
		Long: `List the kept configuration epochs, newest first (the last 20 with --last
unset): the epoch, when and by whom it was made, the change's message and
what it changed from the epoch before ("+ resource web", "~ order o1").
"paceline config rollback EPOCH" brings one back.

--json prints [{"epoch", "at", "author", "message", "changes": [{"kind",
"object", "id"}]}].`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			h, err := c.ConfigHistory(cmd.Context())
			if err != nil {
				return failure("config history", "", err)
			}
			if last > 0 && len(h) > last {
				h = h[:last]
			}
			if asJSON {
				return writeJSON(s.Out, h)
			}
			tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EPOCH\tTIME\tAUTHOR\tCHANGE")
			mark := map[string]string{"added": "+", "removed": "-", "changed": "~"}
			for _, e := range h {
				var what []string
				for _, ch := range e.Changes {
					what = append(what, mark[ch.Kind]+ch.Object+" "+ch.ID)
				}
				at := "-"
				if !e.At.IsZero() {
					at = e.At.Local().Format(time.DateTime)
				}
				line := dash(e.Message)
				if len(what) > 0 {
					line += ": " + strings.Join(what, ", ")
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", e.Epoch, at, dash(e.Author), cutLine(line, 100))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&last, "last", 20, "at most this many epochs (0: all kept)")
	return cmd
}

func newConfigRollbackCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "rollback EPOCH",
		Short: "Make the configuration of an earlier epoch the current one (a new epoch)",
		Long: `Bring back the configuration of a kept EPOCH ("paceline config history"
lists them) as the next epoch: nothing in between is lost from the
history, and the rollback itself can be rolled back.`,
		Args: exactArgs(1, "EPOCH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			epoch, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return usagef("bad epoch %q: want a number from 'paceline config history'", args[0])
			}
			c, err := connect()
			if err != nil {
				return err
			}
			res, err := c.Rollback(cmd.Context(), epoch)
			if err != nil {
				return failure("config rollback to epoch "+args[0], "", err)
			}
			_, err = fmt.Fprintf(s.Out, "configuration of epoch %d is now epoch %d\n", epoch, res.Epoch)
			return err
		},
	}
}
