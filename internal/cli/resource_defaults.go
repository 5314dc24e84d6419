package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/paceline/paceline/api"
	"github.com/spf13/cobra"
)

// newDefaultsCmd is "resource defaults [set k=v ...]" (ops false) or
// "resource op defaults [set k=v ...]" (ops true).
func newDefaultsCmd(s streams, ops bool) *cobra.Command {
	what, example := "resource", "resource-stickiness=100 migration-threshold=3"
	if ops {
		what, example = "operation", "timeout=60s record-pending=true"
	}
	pick := func(cfg *api.Config) *map[string]string {
		if ops {
			return &cfg.OpDefaults
		}
		return &cfg.RscDefaults
	}
	return &cobra.Command{
		Use:   "defaults [set key=value ...]",
		Short: "Show or set the " + what + " defaults",
		Long: `Without words, print the ` + what + ` defaults (meta-attributes every ` + what + `
has unless it sets its own), one key=value per line. "set key=value ..."
sets them; an empty value (key=) removes one.

  paceline resource ` + map[bool]string{false: "", true: "op "}[ops] + `defaults set ` + example,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && args[0] != "set" {
				return usagef("%s wants nothing or \"set key=value ...\", got %q (see '%s --help')", cmdName(cmd), args[0], cmd.CommandPath())
			}
			c, err := connect()
			if err != nil {
				return err
			}
			if len(args) == 0 {
				cfg, err := c.Config(cmd.Context())
				if err != nil {
					return failure("read "+what+" defaults", "", err)
				}
				m := *pick(cfg)
				keys := make([]string, 0, len(m))
				for k := range m {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				for _, k := range keys {
					fmt.Fprintf(s.Out, "%s=%s\n", k, m[k])
				}
				if len(keys) == 0 {
					fmt.Fprintf(s.Out, "no %s defaults set\n", what)
				}
				return nil
			}
			if len(args) == 1 {
				return usagef("%s set wants key=value ...", cmdName(cmd))
			}
			kvs := map[string]string{}
			for _, w := range args[1:] {
				k, v, err := parseKV(w)
				if err != nil {
					return err
				}
				kvs[k] = v
			}
			err = editConfig(cmd.Context(), c, "set "+what+" defaults", func(cfg *api.Config) error {
				m := pick(cfg)
				for k, v := range kvs {
					if v == "" {
						delete(*m, k)
						continue
					}
					if *m == nil {
						*m = map[string]string{}
					}
					(*m)[k] = v
				}
				return nil
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(s.Out, "%s defaults: %s\n", what, strings.Join(args[1:], " "))
			return err
		},
	}
}

func newResourceOpCmd(s streams) *cobra.Command {
	return groupCmd("op", "Operation defaults", newDefaultsCmd(s, true))
}

// newResourceManageCmd is "resource manage ID" (manage) or "resource
// unmanage ID": meta is-managed, which operators may change.
func newResourceManageCmd(s streams, manage bool) *cobra.Command {
	verb, short := "manage", "Let the cluster manage a resource again (is-managed=true)"
	if !manage {
		verb, short = "unmanage", "Leave a resource alone: no starts, stops or recovery (is-managed=false)"
	}
	return &cobra.Command{
		Use:   verb + " ID",
		Short: short,
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			c, err := connect()
			if err != nil {
				return err
			}
			err = editResource(cmd.Context(), c, verb+" resource "+quote(id), id, func(r *api.Resource) error {
				setMeta(r, map[string]string{"is-managed": fmt.Sprint(manage)})
				return nil
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(s.Out, "resource %s: is-managed=%v\n", quote(id), manage)
			return err
		},
	}
}
