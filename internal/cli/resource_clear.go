package cli

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
)

func newResourceClearCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "clear ID",
		Short: `Remove the constraints "resource move" and "resource ban" (and a switchover's left over) added for a resource`,
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			what := "clear resource " + quote(id)
			c, err := connect()
			if err != nil {
				return err
			}
			cfg, err := c.Config(cmd.Context())
			if err != nil {
				return failure(what, "", err)
			}
			if findResource(cfg.Resources, id) == nil {
				return fmt.Errorf("resource %s not found", quote(id))
			}
			var ids []string
			for _, l := range cfg.Locations {
				if l.Resource == id && (l.ID == preferID(id) || strings.HasPrefix(l.ID, "cli-ban-"+id+"-on-") || l.ID == "cli-switchover-"+id) {
					ids = append(ids, l.ID)
				}
			}
			for _, cid := range ids {
				if err := c.RemoveConstraint(cmd.Context(), cid); err != nil && !isStatus(err, http.StatusNotFound) {
					return failure(what, "", err)
				}
			}
			if len(ids) == 0 {
				_, err = fmt.Fprintf(s.Out, "resource %s has no move or ban constraints\n", quote(id))
				return err
			}
			_, err = fmt.Fprintf(s.Out, "removed %s\n", strings.Join(ids, ", "))
			return err
		},
	}
}
