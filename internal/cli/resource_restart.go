package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/spf13/cobra"
)

func newResourceRestartCmd(s streams) *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "restart ID [--wait 2m]",
		Short: "Stop a resource everywhere, wait until it is stopped, start it again",
		Long: `Restart a resource as crm_resource --restart does: set its target-role to
Stopped, wait until status shows none of its primitives active, then put
the target-role back as it was (removed, or its earlier value), so the
cluster starts it again where it belongs. After --wait without the stop,
the target-role is put back and the command fails.`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			ctx := cmd.Context()
			c, err := connect()
			if err != nil {
				return err
			}
			var prev string
			var had bool
			err = editResource(ctx, c, "stop resource "+quote(id), id, func(r *api.Resource) error {
				prev, had = r.Meta["target-role"]
				setMeta(r, map[string]string{"target-role": "Stopped"})
				return nil
			})
			if err != nil {
				return err
			}
			restore := func() error {
				v := prev
				if !had {
					v = ""
				}
				return editResource(context.WithoutCancel(ctx), c, "start resource "+quote(id), id, func(r *api.Resource) error {
					setMeta(r, map[string]string{"target-role": v})
					return nil
				})
			}
			stopErr := waitStopped(ctx, c, id, wait)
			if err := restore(); err != nil {
				return err
			}
			if stopErr != nil {
				return stopErr
			}
			_, err = fmt.Fprintf(s.Out, "resource %s stopped and started again\n", quote(id))
			return err
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 2*time.Minute, "how long to wait for the stop")
	return cmd
}

// waitStopped polls status until no primitive of id (itself, its members
// or its clone's child) is active.
func waitStopped(ctx context.Context, c *api.Client, id string, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		cfg, err := c.Config(ctx)
		if err == nil {
			var ids []string
			var walk func(r *model.Resource)
			walk = func(r *model.Resource) {
				ids = append(ids, r.ID)
				for i := range r.Children {
					walk(&r.Children[i])
				}
			}
			if r := findResource(cfg.Resources, id); r != nil {
				walk(r)
			}
			st, err := c.Status(ctx)
			if err == nil {
				active := false
				for _, rs := range st.Resources {
					for _, x := range ids {
						active = active || (rs.ID == x && len(rs.Instances) > 0)
					}
				}
				if !active {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("restart resource %s: still active after %v; its target-role is back as it was", quote(id), wait)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
