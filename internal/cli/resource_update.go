package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/spf13/cobra"
)

func newResourceUpdateCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "update ID [key=value ...] [--meta key=value ...] [--op NAME key=value ...] [--force]",
		Short: "Change a resource's parameters, meta-attributes or operations",
		Long: `Change a resource, pcs style. The key=value words set instance
parameters; after "--meta" they set meta-attributes; an empty value
(key=) removes one. Each "--op NAME key=value ..." replaces the
operations of that name. Everything not named stays as it is. The result
is checked against the agent's meta-data as "resource create" checks it;
"--force" skips the check.

  paceline resource update web state=/run/web --meta resource-stickiness=50`,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if wantsHelp(args) {
				return cmd.Help()
			}
			if len(args) < 2 {
				return usagef("%s wants ID and at least one key=value (see '%s --help')", cmdName(cmd), cmd.CommandPath())
			}
			id := args[0]
			if err := checkID("resource id", id); err != nil {
				return err
			}
			rw, err := parseResourceWords(args[1:])
			if err != nil {
				return err
			}
			if w := rw.placement(); w != "" {
				return usagef("%s is a word of 'paceline resource create'; update changes parameters, --meta and --op only", w)
			}
			if err := rw.readSecretFiles(os.Stdin); err != nil {
				return err
			}
			ops, err := opsFromSpecs(id, rw.ops)
			if err != nil {
				return err
			}
			c, err := connect()
			if err != nil {
				return err
			}
			err = editResource(cmd.Context(), c, "update resource "+quote(id), id, func(r *api.Resource) error {
				if len(rw.params) > 0 && r.Kind != model.KindPrimitive {
					return fmt.Errorf("resource %s is a %s: only primitives have instance parameters", quote(id), r.Kind)
				}
				for _, p := range rw.params {
					if p.Value == "" {
						r.Params = slices.DeleteFunc(r.Params, func(nv api.NV) bool { return nv.Name == p.Name })
					} else {
						r.Params = setNV(r.Params, p.Name, p.Value)
						if p.Secret {
							i := slices.IndexFunc(r.Params, func(nv api.NV) bool { return nv.Name == p.Name })
							r.Params[i].Secret = true
						}
					}
				}
				setMeta(r, rw.meta)
				for _, op := range ops {
					r.Ops = slices.DeleteFunc(r.Ops, func(o api.Op) bool { return o.Name == op.Name })
				}
				r.Ops = append(r.Ops, ops...)
				if rw.force || r.Kind != model.KindPrimitive {
					return nil
				}
				return checkAgent(cmd.Context(), c, r)
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(s.Out, "updated resource %s\n", quote(id))
			return err
		},
	}
}

// setMeta sets meta-attributes; an empty value removes one.
func setMeta(r *api.Resource, meta map[string]string) {
	for k, v := range meta {
		if v == "" {
			delete(r.Meta, k)
			continue
		}
		if r.Meta == nil {
			r.Meta = map[string]string{}
		}
		r.Meta[k] = v
	}
}

// checkAgent checks a primitive against its agent's meta-data from the
// answering node, as the API checks a new one; a node without an agent
// catalogue (501) checks nothing.
func checkAgent(ctx context.Context, c *api.Client, r *api.Resource) error {
	m, err := c.AgentMeta(ctx, r.Agent())
	switch {
	case isStatus(err, http.StatusNotImplemented):
		return nil
	case isStatus(err, http.StatusNotFound):
		var ae *api.Error
		errors.As(err, &ae)
		return fmt.Errorf("resource %s: %s (--force keeps it anyway)", quote(r.ID), ae.Message)
	case err != nil:
		return failure("read the meta-data of "+r.Agent(), "", err)
	}
	if err := m.Check(r); err != nil {
		return fmt.Errorf("resource %s: %s (--force keeps it anyway)", quote(r.ID), strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return nil
}
