package cli

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/spf13/cobra"
)

// The ids of the location constraints "resource move" and "resource ban"
// add, as pcs and crm_resource name them; "resource clear" removes them.
func preferID(rsc string) string    { return "cli-prefer-" + rsc }
func banID(rsc, node string) string { return "cli-ban-" + rsc + "-on-" + node }

func newResourceMoveCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "move ID NODE",
		Short: "Move a resource to a node (location constraint cli-prefer-ID, score INFINITY)",
		Long: `Move a resource to NODE by adding the location constraint cli-prefer-ID
with score INFINITY (replacing an earlier move). The constraint stays until
"paceline resource clear ID" removes it.`,
		Args: exactArgs(2, "ID NODE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, node := args[0], args[1]
			err := placeResource(cmd.Context(), "move resource "+quote(id)+" to "+quote(node),
				model.Location{ID: preferID(id), Resource: id, Node: node, Score: model.Infinity})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(s.Out, "resource %s prefers node %s (constraint %s; undo with 'paceline resource clear %s')\n",
				quote(id), quote(node), preferID(id), id)
			return err
		},
	}
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
	if findResource(cfg.Resources, loc.Resource) == nil {
		return fmt.Errorf("resource %s not found", quote(loc.Resource))
	}
	if !slices.ContainsFunc(cfg.Nodes, func(n model.Node) bool { return n.Name == loc.Node }) {
		return fmt.Errorf("node %s not found", quote(loc.Node))
	}
	con := api.Constraint{Kind: api.ConstraintLocation, Location: &loc}
	err = c.AddConstraint(ctx, con)
	if isStatus(err, http.StatusConflict) {
		if err = c.RemoveConstraint(ctx, loc.ID); err == nil || isStatus(err, http.StatusNotFound) {
			err = c.AddConstraint(ctx, con)
		}
	}
	if err != nil {
		return failure(what, "", err)
	}
	return nil
}
