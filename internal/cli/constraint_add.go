package cli

import (
	"fmt"

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
	return groupCmd("constraint", "Add and remove placement and ordering constraints", add, newConstraintRemoveCmd(s))
}

// parseScore reads a score argument (an integer, INFINITY or -INFINITY).
func parseScore(word string) (model.Score, error) {
	sc, err := model.ParseScore(word)
	if err != nil {
		return 0, usagef("bad score %q: want an integer, INFINITY or -INFINITY", word)
	}
	return sc, nil
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

// scoreArgs lets a negative score follow the positional arguments
// (flags are only read before the first argument).
func scoreArgs(cmd *cobra.Command) *cobra.Command {
	cmd.Flags().SetInterspersed(false)
	return cmd
}

func newConstraintAddLocationCmd(s streams) *cobra.Command {
	return scoreArgs(&cobra.Command{
		Use:   "location ID RSC NODE SCORE",
		Short: "Prefer (positive score) or avoid (negative) NODE for resource RSC",
		Long: `Add location constraint ID: resource RSC gets SCORE on NODE. SCORE is an
integer, INFINITY (must run there when it can) or -INFINITY (never there).

  paceline constraint add location web-not-n2 web n2 -INFINITY`,
		Args: exactArgs(4, "ID RSC NODE SCORE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := parseScore(args[3])
			if err != nil {
				return err
			}
			return addConstraint(cmd, s, args[0], api.Constraint{Kind: api.ConstraintLocation,
				Location: &api.Location{ID: args[0], Resource: args[1], Node: args[2], Score: sc}})
		},
	})
}

func newConstraintAddColocationCmd(s streams) *cobra.Command {
	return scoreArgs(&cobra.Command{
		Use:   "colocation ID RSC WITH-RSC SCORE",
		Short: "Place RSC with (positive score) or away from (negative) WITH-RSC",
		Args:  exactArgs(4, "ID RSC WITH-RSC SCORE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := parseScore(args[3])
			if err != nil {
				return err
			}
			return addConstraint(cmd, s, args[0], api.Constraint{Kind: api.ConstraintColocation,
				Colocation: &api.Colocation{ID: args[0], Resource: args[1], With: args[2], Score: sc}})
		},
	})
}

func newConstraintAddOrderCmd(s streams) *cobra.Command {
	var kind string
	cmd := &cobra.Command{
		Use:   "order ID FIRST THEN [--kind Mandatory|Optional|Serialize]",
		Short: "Start THEN after FIRST (and stop it before)",
		Args:  exactArgs(3, "ID FIRST THEN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch kind {
			case "Mandatory", "Optional", "Serialize":
			default:
				return usagef("--kind %q: want Mandatory, Optional or Serialize", kind)
			}
			return addConstraint(cmd, s, args[0], api.Constraint{Kind: api.ConstraintOrder,
				Order: &api.Order{ID: args[0], First: args[1], Then: args[2], Kind: kind}})
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "Mandatory", "Mandatory, Optional or Serialize")
	return cmd
}
