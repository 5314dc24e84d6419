package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/spf13/cobra"
)

// The ids of the location constraints "resource move" and "resource ban"
// add, as pcs and crm_resource name them; "resource clear" removes them.
func preferID(rsc string) string    { return "cli-prefer-" + rsc }
func banID(rsc, node string) string { return "cli-ban-" + rsc + "-on-" + node }

func newResourceMoveCmd(s streams) *cobra.Command {
	var promoted bool
	cmd := &cobra.Command{
		Use:   "move ID NODE [--promoted]",
		Short: "Move a resource to a node (location constraint cli-prefer-ID, score INFINITY)",
		Long: `Move a resource to NODE by adding the location constraint cli-prefer-ID
with score INFINITY (replacing an earlier move). The constraint stays until
"paceline resource clear ID" removes it.

--promoted moves the promoted role of a promotable clone (ID is the clone
or its primitive): the constraint then applies to the role Promoted only,
as "pcs resource move --promoted" does, so the instance on NODE is promoted
and the others are demoted.`,
		Args: exactArgs(2, "ID NODE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, node := args[0], args[1]
			loc := model.Location{ID: preferID(id), Resource: id, Node: node, Score: model.Infinity}
			what := "move resource " + quote(id) + " to " + quote(node)
			if promoted {
				loc.Role = model.RolePromoted
				what = "move the promoted role of " + quote(id) + " to " + quote(node)
			}
			if err := placeResource(cmd.Context(), what, loc); err != nil {
				return err
			}
			role := ""
			if promoted {
				role = " in role Promoted"
			}
			_, err := fmt.Fprintf(s.Out, "resource %s prefers node %s%s (constraint %s; undo with 'paceline resource clear %s')\n",
				quote(id), quote(node), role, preferID(id), id)
			return err
		},
	}
	cmd.Flags().BoolVar(&promoted, "promoted", false, "move the promoted role of a promotable clone")
	return cmd
}

func newResourceBanCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "ban ID NODE",
		Short: "Keep a resource off a node (location constraint cli-ban-ID-on-NODE, score -INFINITY)",
		Args:  exactArgs(2, "ID NODE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, node := args[0], args[1]
			err := placeResource(cmd.Context(), "ban resource "+quote(id)+" from "+quote(node),
				model.Location{ID: banID(id, node), Resource: id, Node: node, Score: -model.Infinity})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(s.Out, "resource %s is banned from node %s (constraint %s; undo with 'paceline resource clear %s')\n",
				quote(id), quote(node), banID(id, node), id)
			return err
		},
	}
}

// placeResource adds loc, replacing a constraint with the same id.
func placeResource(ctx context.Context, what string, loc model.Location) error {
	c, err := connect()
	if err != nil {
		return err
	}
	cfg, err := c.Config(ctx)
	if err != nil {
		return failure(what, "", err)
	}
	r := findResource(cfg.Resources, loc.Resource)
	if r == nil {
		return fmt.Errorf("resource %s not found", quote(loc.Resource))
	}
	if loc.Role == model.RolePromoted && !inPromotable(cfg.Resources, r) {
		return fmt.Errorf("resource %s is not a promotable clone nor in one: only those have a promoted role to move", quote(loc.Resource))
	}
	if !slices.ContainsFunc(cfg.Nodes, func(n model.Node) bool { return n.Name == loc.Node }) {
		return fmt.Errorf("node %s not found", quote(loc.Node))
	}
	if err := c.PutConstraint(ctx, api.Constraint{Kind: api.ConstraintLocation, Location: &loc}); err != nil {
		return failure(what, "", err)
	}
	return nil
}

// inPromotable reports whether r is a promotable clone or inside one.
func inPromotable(rs []model.Resource, r *model.Resource) bool {
	for p := r; p != nil; p = model.ParentOf(rs, p.ID) {
		if p.Kind == model.KindClone && isTrue(p.Meta["promotable"]) {
			return true
		}
	}
	return false
}

// isTrue reads a Pacemaker boolean (true, yes, on, y, 1 in any case).
func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "true", "yes", "on", "y", "1":
		return true
	}
	return false
}
