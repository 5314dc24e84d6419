package model

import (
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"strconv"
)

func itoa(i int) string { return strconv.Itoa(i) }

// Change kinds of a ConfigChange.
const (
	Added   = "added"
	Removed = "removed"
	Changed = "changed"
)

// ConfigChange is one difference between two configurations: an object
// (resource, location, colocation, order, ticket, node, property,
// rsc_default, op_default) added, removed or changed, by id or name.
type ConfigChange struct {
	Kind   string `json:"kind"`
	Object string `json:"object"`
	ID     string `json:"id"`
}

// DiffConfigs lists what turns old into new, in a stable order: resources
// (at any depth; a group or clone changes when its own fields or its
// members' order do), constraints, nodes, then properties and defaults.
// Epochs are ignored.
func DiffConfigs(old, new *Config) []ConfigChange {
	var out []ConfigChange
	diffByID(&out, "resource", flatResources(old.Resources), flatResources(new.Resources))
	diffByID(&out, "location", byID(old.Locations, func(l Location) string { return l.ID }),
		byID(new.Locations, func(l Location) string { return l.ID }))
	diffByID(&out, "colocation", byID(old.Colocations, func(c Colocation) string { return c.ID }),
		byID(new.Colocations, func(c Colocation) string { return c.ID }))
	diffByID(&out, "order", byID(old.Orders, func(o Order) string { return o.ID }),
		byID(new.Orders, func(o Order) string { return o.ID }))
	diffByID(&out, "ticket", byID(old.Tickets, func(t TicketConstraint) string { return t.ID }),
		byID(new.Tickets, func(t TicketConstraint) string { return t.ID }))
	diffByID(&out, "fencing_level", byID(old.FencingLevels, func(l FencingLevel) string { return l.Target + "/" + itoa(l.Index) }),
		byID(new.FencingLevels, func(l FencingLevel) string { return l.Target + "/" + itoa(l.Index) }))
	diffByID(&out, "node", byID(old.Nodes, func(n Node) string { return n.Name }),
		byID(new.Nodes, func(n Node) string { return n.Name }))
	diffByID(&out, "property", mapValues(old.Properties), mapValues(new.Properties))
	diffByID(&out, "rsc_default", mapValues(old.RscDefaults), mapValues(new.RscDefaults))
	diffByID(&out, "op_default", mapValues(old.OpDefaults), mapValues(new.OpDefaults))
	for _, sets := range []struct {
		name     string
		old, new []AttrSet
	}{{"property_sets", old.PropertySets, new.PropertySets}, {"rsc_default_sets", old.RscDefaultSets, new.RscDefaultSets},
		{"op_default_sets", old.OpDefaultSets, new.OpDefaultSets}} {
		if !sameJSON(sets.old, sets.new) {
			out = append(out, ConfigChange{Kind: Changed, Object: "config", ID: sets.name})
		}
	}
	return out
}

// Removes reports the resources and constraints a change list removes.
func Removes(changes []ConfigChange) []ConfigChange {
	var out []ConfigChange
	for _, c := range changes {
		if c.Kind == Removed && c.Object != "property" && c.Object != "rsc_default" && c.Object != "op_default" && c.Object != "node" {
			out = append(out, c)
		}
	}
	return out
}

// flatResources maps every resource id (any depth) to its JSON without
// its children, plus its members' ids in order.
func flatResources(rs []Resource) map[string]string {
	out := map[string]string{}
	var walk func(rs []Resource)
	walk = func(rs []Resource) {
		for _, r := range rs {
			own := r
			own.Children = nil
			var members []string
			for _, c := range r.Children {
				members = append(members, c.ID)
			}
			b, _ := json.Marshal(struct {
				R       Resource
				Members []string
			}{own, members})
			out[r.ID] = string(b)
			walk(r.Children)
		}
	}
	walk(rs)
	return out
}

func byID[T any](list []T, id func(T) string) map[string]string {
	out := map[string]string{}
	for _, x := range list {
		b, _ := json.Marshal(x)
		out[id(x)] = string(b)
	}
	return out
}

func mapValues(m map[string]string) map[string]string { return maps.Clone(m) }

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// diffByID appends the differences of two id -> canonical form maps.
func diffByID(out *[]ConfigChange, object string, old, new map[string]string) {
	ids := slices.Collect(maps.Keys(old))
	for id := range new {
		if _, ok := old[id]; !ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		o, inOld := old[id]
		n, inNew := new[id]
		switch {
		case !inOld:
			*out = append(*out, ConfigChange{Kind: Added, Object: object, ID: id})
		case !inNew:
			*out = append(*out, ConfigChange{Kind: Removed, Object: object, ID: id})
		case o != n:
			*out = append(*out, ConfigChange{Kind: Changed, Object: object, ID: id})
		}
	}
}
