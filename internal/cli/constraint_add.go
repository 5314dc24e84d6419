package cli

import (
	"fmt"
	"strings"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/spf13/cobra"
)

func newConstraintCmd(s streams) *cobra.Command {
	add := groupCmd("add", "Add a location, colocation or order constraint",
		newConstraintAddLocationCmd(s),
		newConstraintAddColocationCmd(s),
		newConstraintAddOrderCmd(s),
	)
	return groupCmd("constraint", "Add, list and remove placement and ordering constraints", add, newConstraintRemoveCmd(s),
		newConstraintListCmd(s))
}

// parseScore reads a score argument (an integer, INFINITY or -INFINITY).
func parseScore(word string) (model.Score, error) {
	sc, err := model.ParseScore(word)
	if err != nil {
		return 0, usagef("bad score %q: want an integer, INFINITY or -INFINITY", word)
	}
	return sc, nil
}

// parseRole reads a --role or --with-role value.
func parseRole(flag, word string) (string, error) {
	role, ok := model.CanonicalRole(word)
	if !ok || role == "" {
		return "", usagef("%s %q: want Started, Stopped, Promoted or Unpromoted (Master and Slave also do)", flag, word)
	}
	return role, nil
}

// parseAction reads a --first-action or --then-action value; empty is
// start, pcs's default.
func parseAction(flag, word string) (string, error) {
	switch word {
	case "":
		return "start", nil
	case "start", "stop", "promote", "demote":
		return word, nil
	}
	return "", usagef("%s %q: want start, stop, promote or demote", flag, word)
}

// addConstraint sends con and reports it.
func addConstraint(cmd *cobra.Command, s streams, id string, con api.Constraint) error {
	c, err := connect()
	if err != nil {
		return err
	}
	if err := c.AddConstraint(cmd.Context(), con); err != nil {
		return failure("add constraint "+quote(id), "", err)
	}
	_, err = fmt.Fprintf(s.Out, "added %s constraint %s\n", con.Kind, quote(id))
	return err
}

// negMark prefixes a negative score while cobra's flag parser reads the
// words, so that -INFINITY or -100 is an argument, not a flag.
const negMark = "\x00"

// mixedArgs lets flags stand before or after the positional words of a
// constraint command while negative scores (-INFINITY, -100) stay
// positional: cmd parses its own flags, with DisableFlagParsing set.
// It returns the positional words, or a usage error naming an unknown
// flag.
func mixedArgs(cmd *cobra.Command, words []string) ([]string, error) {
	marked := make([]string, len(words))
	for i, w := range words {
		marked[i] = w
		if !strings.HasPrefix(w, "-") || w == "-" {
			continue
		}
		if _, err := model.ParseScore(w); err != nil {
			continue
		}
		if i > 0 && takesValue(cmd, words[i-1]) {
			continue // the value of the flag before it
		}
		marked[i] = negMark + w
	}
	fs := cmd.Flags()
	if err := fs.Parse(marked); err != nil {
		return nil, usagef("%v (see '%s --help')", err, cmd.CommandPath())
	}
	args := fs.Args()
	for i, a := range args {
		args[i] = strings.TrimPrefix(a, negMark)
	}
	return args, nil
}

// takesValue reports whether word is a flag of cmd written without "="
// that takes a value from the next word.
func takesValue(cmd *cobra.Command, word string) bool {
	name, ok := strings.CutPrefix(word, "--")
	if !ok || strings.Contains(name, "=") {
		return false
	}
	f := cmd.Flags().Lookup(name)
	return f != nil && f.NoOptDefVal == ""
}

// constraintCmd is a constraint command with flags anywhere among its
// positional words: n of them (names: their names for the usage
// message), or any number when n < 0 (run checks them).
func constraintCmd(cmd *cobra.Command, n int, names string, run func(cmd *cobra.Command, args []string) error) *cobra.Command {
	cmd.DisableFlagParsing = true
	cmd.RunE = func(cmd *cobra.Command, words []string) error {
		if wantsHelp(words) {
			return cmd.Help()
		}
		args, err := mixedArgs(cmd, words)
		if err != nil {
			return err
		}
		if n >= 0 {
			if err := exactArgs(n, names)(cmd, args); err != nil {
				return err
			}
		}
		return run(cmd, args)
	}
	return cmd
}

func newConstraintAddLocationCmd(s streams) *cobra.Command {
	var rule, role string
	cmd := &cobra.Command{
		Use:   "location ID RSC NODE SCORE | location ID RSC --rule EXPRESSION SCORE [--role R]",
		Short: "Prefer (positive score) or avoid (negative) NODE, or the nodes a rule matches, for RSC",
		Long: `Add location constraint ID: resource RSC gets SCORE on NODE, or with --rule
on every node the rule matches. SCORE is an integer, INFINITY (must run
there when it can) or -INFINITY (never there). --role limits it to RSC's
instances in that role (Promoted, Unpromoted, Started; Master and Slave
also do). Flags may stand before or after the other words.

The rule is pcs's syntax: "defined ATTR", "not_defined ATTR", "ATTR
lt|gt|lte|gte|eq|ne [string|integer|number|version] VALUE" (ATTR a node
attribute or #uname), "date gt|lt DATE", "date in_range DATE to DATE",
"date in_range DATE to duration months=1", "date-spec hours=9-16
weekdays=1-5", joined with and/or (and binds tighter) and parentheses.

  paceline constraint add location web-not-n2 web n2 -INFINITY
  paceline constraint add location vip-ping vip --rule 'pingd lt 1 or not_defined pingd' -INFINITY
  paceline constraint add location db-site db-clone --rule '#uname eq n1' 100 --role Promoted`,
	}
	cmd = constraintCmd(cmd, -1, "", func(cmd *cobra.Command, args []string) error {
		ruled := cmd.Flags().Changed("rule")
		switch {
		case ruled && len(args) != 3:
			return usagef("%s --rule wants ID RSC SCORE, got %d argument(s) (see '%s --help')", cmdName(cmd), len(args), cmd.CommandPath())
		case !ruled && len(args) != 4:
			return usagef("%s wants ID RSC NODE SCORE (or ID RSC --rule EXPRESSION SCORE), got %d argument(s) (see '%s --help')",
				cmdName(cmd), len(args), cmd.CommandPath())
		}
		sc, err := parseScore(args[len(args)-1])
		if err != nil {
			return err
		}
		loc := &api.Location{ID: args[0], Resource: args[1]}
		if cmd.Flags().Changed("role") {
			if loc.Role, err = parseRole("--role", role); err != nil {
				return err
			}
		}
		if ruled {
			r, err := model.ParseRule(rule)
			if err != nil {
				return usagef("--rule %q: %v", rule, err)
			}
			r.Score, r.HasScore = sc, true
			loc.Rules = []model.Rule{r}
		} else {
			loc.Node, loc.Score = args[2], sc
		}
		return addConstraint(cmd, s, args[0], api.Constraint{Kind: api.ConstraintLocation, Location: loc})
	})
	cmd.Flags().StringVar(&rule, "rule", "", "a rule (pcs syntax) choosing the nodes instead of NODE")
	cmd.Flags().StringVar(&role, "role", "", "only RSC's instances in this role")
	return cmd
}

func newConstraintAddColocationCmd(s streams) *cobra.Command {
	var role, withRole string
	cmd := constraintCmd(&cobra.Command{
		Use:   "colocation ID RSC WITH-RSC SCORE [--role R] [--with-role R]",
		Short: "Place RSC with (positive score) or away from (negative) WITH-RSC",
		Long: `Add colocation constraint ID: RSC is placed relative to WITH-RSC with SCORE
(INFINITY: only where WITH-RSC is; -INFINITY: never where it is; an integer
is a preference). WITH-RSC is placed first.

--role limits the constraint to RSC's instances in that role, --with-role
to WITH-RSC's: Started, Stopped, Promoted or Unpromoted (Master and Slave
also do). Flags may stand before or after the other words.

  paceline constraint add colocation app-with-db app db-clone INFINITY --with-role Promoted
  paceline constraint add colocation apart a b -INFINITY`,
	}, 4, "ID RSC WITH-RSC SCORE", func(cmd *cobra.Command, args []string) error {
		sc, err := parseScore(args[3])
		if err != nil {
			return err
		}
		co := &api.Colocation{ID: args[0], Resource: args[1], With: args[2], Score: sc}
		if cmd.Flags().Changed("role") {
			if co.Role, err = parseRole("--role", role); err != nil {
				return err
			}
		}
		if cmd.Flags().Changed("with-role") {
			if co.WithRole, err = parseRole("--with-role", withRole); err != nil {
				return err
			}
		}
		return addConstraint(cmd, s, args[0], api.Constraint{Kind: api.ConstraintColocation, Colocation: co})
	})
	cmd.Flags().StringVar(&role, "role", "", "only RSC's instances in this role (Started, Stopped, Promoted, Unpromoted)")
	cmd.Flags().StringVar(&withRole, "with-role", "", "only with WITH-RSC's instances in this role")
	return cmd
}

func newConstraintAddOrderCmd(s streams) *cobra.Command {
	var kind, firstAction, thenAction string
	var symmetrical bool
	cmd := constraintCmd(&cobra.Command{
		Use: "order ID FIRST THEN [--first-action A] [--then-action A] [--kind Mandatory|Optional|Serialize] " +
			"[--symmetrical=false]",
		Short: "Run THEN's action after FIRST's (start after start, by default)",
		Long: `Add order constraint ID: THEN's action (--then-action) runs after FIRST's
(--first-action). Actions are start, stop, promote or demote; one left out
is start, as in pcs. --kind Mandatory (the default) makes THEN wait for
FIRST and stop when FIRST stops; Optional only orders actions that happen
in the same transition; Serialize never runs them at the same time. A
symmetrical order (the default for Mandatory) also stops or demotes in the
reverse order; --symmetrical=false does not. Flags may stand before or after
the other words. Mandatory orders that form a cycle are refused.

  paceline constraint add order app-after-db db-clone app --first-action promote`,
	}, 3, "ID FIRST THEN", func(cmd *cobra.Command, args []string) error {
		switch kind {
		case "Mandatory", "Optional", "Serialize":
		default:
			return usagef("--kind %q: want Mandatory, Optional or Serialize", kind)
		}
		o := &api.Order{ID: args[0], First: args[1], Then: args[2], Kind: kind}
		var err error
		if o.FirstAction, err = parseAction("--first-action", firstAction); err != nil {
			return err
		}
		if o.ThenAction, err = parseAction("--then-action", thenAction); err != nil {
			return err
		}
		if cmd.Flags().Changed("symmetrical") {
			o.Symmetrical = &symmetrical
		}
		return addConstraint(cmd, s, args[0], api.Constraint{Kind: api.ConstraintOrder, Order: o})
	})
	cmd.Flags().StringVar(&kind, "kind", "Mandatory", "Mandatory, Optional or Serialize")
	cmd.Flags().StringVar(&firstAction, "first-action", "", "FIRST's action: start (default), stop, promote or demote")
	cmd.Flags().StringVar(&thenAction, "then-action", "", "THEN's action: start (default), stop, promote or demote")
	cmd.Flags().BoolVar(&symmetrical, "symmetrical", true, "also order the reverse actions in reverse (default true for Mandatory)")
	return cmd
}
