package cli

import (
	"fmt"
	"slices"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/spf13/cobra"
)

// newResourceCloneCmd is "resource clone ID [k=v ...]", or with
// promotable "resource promotable ID [k=v ...]": the top-level primitive
// or group ID becomes the child of a new clone ID-clone.
func newResourceCloneCmd(s streams, promotable bool) *cobra.Command {
	verb, kind := "clone", "clone"
	if promotable {
		verb, kind = "promotable", "promotable clone"
	}
	return &cobra.Command{
		Use:   verb + " ID [key=value ...]",
		Short: "Make a primitive or group a " + kind + " ID-clone",
		Long: `Wrap the top-level primitive or group ID in a ` + kind + ` named ID-clone (as
pcs names it); the key=value words are the clone's meta-attributes
(clone-max, clone-node-max, notify, interleave, ordered, globally-unique,
promoted-max, ...). Constraints naming ID keep naming it: Pacemaker applies
them to the clone. "paceline resource unclone ID" undoes it.`,
		Args: minArgs(1, "ID [key=value ...]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			meta := map[string]string{}
			for _, w := range args[1:] {
				k, v, err := parseKV(w)
				if err != nil {
					return err
				}
				meta[k] = v
			}
			if promotable {
				meta["promotable"] = "true"
			}
			c, err := connect()
			if err != nil {
				return err
			}
			cloneID := api.CloneID(id)
			err = editConfig(cmd.Context(), c, verb+" resource "+quote(id), func(cfg *api.Config) error {
				i := slices.IndexFunc(cfg.Resources, func(r api.Resource) bool { return r.ID == id })
				if i < 0 {
					if p := model.ParentOf(cfg.Resources, id); p != nil {
						return fmt.Errorf("resource %s is in %s %s: only top-level primitives and groups can be cloned", quote(id), p.Kind, quote(p.ID))
					}
					return fmt.Errorf("resource %s not found", quote(id))
				}
				if k := cfg.Resources[i].Kind; k != model.KindPrimitive && k != model.KindGroup {
					return fmt.Errorf("resource %s is a %s: only primitives and groups can be cloned", quote(id), k)
				}
				if findResource(cfg.Resources, cloneID) != nil {
					return fmt.Errorf("resource %s exists", quote(cloneID))
				}
				cfg.Resources[i] = api.Resource{ID: cloneID, Kind: model.KindClone, Meta: meta,
					Children: []api.Resource{cfg.Resources[i]}}
				return nil
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(s.Out, "resource %s is now in %s %s\n", quote(id), kind, quote(cloneID))
			return err
		},
	}
}

func newResourceUncloneCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "unclone ID",
		Short: "Take a clone's child out of its clone and remove the clone",
		Long: `Replace the clone ID (or the clone of the resource ID) by its child. The
constraints that named the clone name the child instead.`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			c, err := connect()
			if err != nil {
				return err
			}
			var child string
			err = editConfig(cmd.Context(), c, "unclone resource "+quote(id), func(cfg *api.Config) error {
				i := slices.IndexFunc(cfg.Resources, func(r api.Resource) bool { return r.ID == id && r.Kind == model.KindClone })
				if i < 0 {
					if p := model.ParentOf(cfg.Resources, id); p != nil && p.Kind == model.KindClone {
						i = slices.IndexFunc(cfg.Resources, func(r api.Resource) bool { return r.ID == p.ID })
					}
				}
				if i < 0 || len(cfg.Resources[i].Children) != 1 {
					if findResource(cfg.Resources, id) == nil {
						return fmt.Errorf("resource %s not found", quote(id))
					}
					return fmt.Errorf("resource %s is neither a clone nor cloned", quote(id))
				}
				clone := cfg.Resources[i].ID
				child = cfg.Resources[i].Children[0].ID
				cfg.Resources[i] = cfg.Resources[i].Children[0]
				renameRefs(cfg, clone, child)
				return nil
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(s.Out, "resource %s is no longer cloned\n", quote(child))
			return err
		},
	}
}

// renameRefs makes every constraint that names from name to instead.
func renameRefs(cfg *api.Config, from, to string) {
	ren := func(s *string) {
		if *s == from {
			*s = to
		}
	}
	sets := func(ss []api.ResourceSet) {
		for i := range ss {
			for j := range ss[i].Resources {
				ren(&ss[i].Resources[j])
			}
		}
	}
	for i := range cfg.Locations {
		ren(&cfg.Locations[i].Resource)
		sets(cfg.Locations[i].Sets)
	}
	for i := range cfg.Colocations {
		ren(&cfg.Colocations[i].Resource)
		ren(&cfg.Colocations[i].With)
		sets(cfg.Colocations[i].Sets)
	}
	for i := range cfg.Orders {
		ren(&cfg.Orders[i].First)
		ren(&cfg.Orders[i].Then)
		sets(cfg.Orders[i].Sets)
	}
	for i := range cfg.Tickets {
		ren(&cfg.Tickets[i].Resource)
		sets(cfg.Tickets[i].Sets)
	}
}

func newResourceGroupCmd(s streams) *cobra.Command {
	return groupCmd("group", "Add primitives to a group or take them out", newResourceGroupAddCmd(s), newResourceGroupRemoveCmd(s))
}

func newResourceGroupAddCmd(s streams) *cobra.Command {
	var before, after string
	cmd := &cobra.Command{
		Use:   "add GROUP ID... [--before ID|--after ID]",
		Short: "Move primitives into a group (created when missing)",
		Long: `Move the primitives ID... (top-level, or members of another group) into
GROUP, in the order given: last, or before or after the member named by
--before or --after. GROUP is created when it does not exist; a group left
empty is removed.`,
		Args: minArgs(2, "GROUP ID..."),
		RunE: func(cmd *cobra.Command, args []string) error {
			group, ids := args[0], args[1:]
			if before != "" && after != "" {
				return usagef("--before and --after cannot be combined")
			}
			c, err := connect()
			if err != nil {
				return err
			}
			err = editConfig(cmd.Context(), c, "add to group "+quote(group), func(cfg *api.Config) error {
				var moved []api.Resource
				for _, id := range ids {
					r := findResource(cfg.Resources, id)
					switch {
					case r == nil:
						return fmt.Errorf("resource %s not found", quote(id))
					case r.Kind != model.KindPrimitive:
						return fmt.Errorf("resource %s is a %s: groups hold primitives", quote(id), r.Kind)
					case id == before || id == after:
						return fmt.Errorf("resource %s cannot be placed next to itself", quote(id))
					}
					if p := model.ParentOf(cfg.Resources, id); p != nil && p.Kind != model.KindGroup {
						return fmt.Errorf("resource %s is in %s %s: take it out first", quote(id), p.Kind, quote(p.ID))
					}
					moved = append(moved, *r)
					detach(cfg, id, group)
				}
				g := findResource(cfg.Resources, group)
				if g == nil {
					if before != "" || after != "" {
						return fmt.Errorf("group %s does not exist, so it has no member %s", quote(group), quote(before+after))
					}
					cfg.Resources = append(cfg.Resources, api.Resource{ID: group, Kind: model.KindGroup, Children: moved})
					return nil
				}
				if g.Kind != model.KindGroup {
					return fmt.Errorf("resource %s is a %s, not a group", quote(group), g.Kind)
				}
				at := len(g.Children)
				if ref := before + after; ref != "" {
					i := slices.IndexFunc(g.Children, func(m api.Resource) bool { return m.ID == ref })
					if i < 0 {
						return fmt.Errorf("group %s has no member %s", quote(group), quote(ref))
					}
					at = i
					if after != "" {
						at++
					}
				}
				g.Children = slices.Insert(g.Children, at, moved...)
				return nil
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(s.Out, "group %s holds %v\n", quote(group), ids)
			return err
		},
	}
	cmd.Flags().StringVar(&before, "before", "", "put them before this member")
	cmd.Flags().StringVar(&after, "after", "", "put them after this member")
	return cmd
}

func newResourceGroupRemoveCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "remove GROUP [ID...]",
		Short: "Take members out of a group (all of them: ungroup)",
		Long: `Take the members ID... out of GROUP; they become top-level resources right
after it, keeping their constraints. Without ID, every member is taken out
and the group removed (constraints naming the group go with it). A group
left empty is removed.`,
		Args: minArgs(1, "GROUP [ID...]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			group, ids := args[0], args[1:]
			c, err := connect()
			if err != nil {
				return err
			}
			err = editConfig(cmd.Context(), c, "remove from group "+quote(group), func(cfg *api.Config) error {
				gi := slices.IndexFunc(cfg.Resources, func(r api.Resource) bool { return r.ID == group })
				if gi < 0 || cfg.Resources[gi].Kind != model.KindGroup {
					if r := findResource(cfg.Resources, group); r != nil {
						return fmt.Errorf("resource %s is not a top-level group", quote(group))
					}
					return fmt.Errorf("group %s not found", quote(group))
				}
				if len(ids) == 0 {
					for _, m := range cfg.Resources[gi].Children {
						ids = append(ids, m.ID)
					}
				}
				var out []api.Resource
				for _, id := range ids {
					i := slices.IndexFunc(cfg.Resources[gi].Children, func(m api.Resource) bool { return m.ID == id })
					if i < 0 {
						return fmt.Errorf("group %s has no member %s", quote(group), quote(id))
					}
					out = append(out, cfg.Resources[gi].Children[i])
				}
				cfg.Resources = slices.Insert(cfg.Resources, gi+1, out...)
				for _, id := range ids {
					detach(cfg, id, "")
				}
				return nil
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(s.Out, "took %v out of group %s\n", ids, quote(group))
			return err
		},
	}
}

// detach removes the group member id from its group (a group left empty
// goes, with the constraints that named it, unless it is keep); a
// top-level id is removed from the top level.
func detach(cfg *api.Config, id, keep string) {
	if p := model.ParentOf(cfg.Resources, id); p != nil {
		p.Children = slices.DeleteFunc(p.Children, func(m api.Resource) bool { return m.ID == id })
		if len(p.Children) == 0 && p.ID != keep {
			gid := p.ID
			detach(cfg, gid, keep)
			dropRefs(cfg, gid)
		}
		return
	}
	for i := range cfg.Resources {
		if cfg.Resources[i].ID == id {
			cfg.Resources = slices.Delete(cfg.Resources, i, i+1)
			return
		}
	}
}

// dropRefs removes the constraints that name id.
func dropRefs(cfg *api.Config, id string) {
	names := func(ss []api.ResourceSet, more ...string) bool {
		if slices.Contains(more, id) {
			return true
		}
		for _, s := range ss {
			if slices.Contains(s.Resources, id) {
				return true
			}
		}
		return false
	}
	cfg.Locations = slices.DeleteFunc(cfg.Locations, func(l api.Location) bool { return names(l.Sets, l.Resource) })
	cfg.Colocations = slices.DeleteFunc(cfg.Colocations, func(c api.Colocation) bool { return names(c.Sets, c.Resource, c.With) })
	cfg.Orders = slices.DeleteFunc(cfg.Orders, func(o api.Order) bool { return names(o.Sets, o.First, o.Then) })
	cfg.Tickets = slices.DeleteFunc(cfg.Tickets, func(t model.TicketConstraint) bool { return names(t.Sets, t.Resource) })
}
