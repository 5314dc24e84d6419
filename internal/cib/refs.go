package cib

import (
	"fmt"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// refs indexes the names a constraint may use for several resources at
// once: resource templates (standing for every primitive that uses the
// template) and tags (standing for their obj_ref members). The importer
// expands both, so the model and the scheduler never see them.
type refs struct {
	// templates are the <template> elements directly under <resources>,
	// by id (Pacemaker looks templates up there only).
	templates map[string]*node
	// members lists, for each template or tag id, the resources it stands
	// for, in document order without duplicates.
	members map[string][]string
	// resources holds the id of every resource element at any depth.
	resources map[string]bool
}

// scanRefs builds the index from the <configuration> element.
func scanRefs(conf *node) (*refs, error) {
	x := &refs{templates: map[string]*node{}, members: map[string][]string{}, resources: map[string]bool{}}
	add := func(group, id string) {
		for _, m := range x.members[group] {
			if m == id {
				return
			}
		}
		x.members[group] = append(x.members[group], id)
	}
	var walk func(n *node)
	walk = func(n *node) {
		switch n.name {
		case "primitive", "group", "clone", "master", "bundle":
		default:
			return
		}
		id := n.get("id")
		x.resources[id] = true
		if t := n.get("template"); t != "" && n.name == "primitive" && id != "" {
			add(t, id)
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	for _, sec := range conf.children {
		switch sec.name {
		case "resources":
			for _, n := range sec.children {
				if n.name == "template" {
					id, err := required(n, "id")
					if err != nil {
						return nil, err
					}
					if _, dup := x.templates[id]; !dup {
						x.templates[id] = n
						if x.members[id] == nil {
							x.members[id] = []string{}
						}
					}
					continue
				}
				walk(n)
			}
		case "tags":
			for _, t := range sec.children {
				if t.name != "tag" {
					continue
				}
				id, err := required(t, "id")
				if err != nil {
					return nil, err
				}
				if x.members[id] == nil {
					x.members[id] = []string{}
				}
				for _, o := range t.children {
					if o.name != "obj_ref" {
						continue
					}
					ref, err := required(o, "id")
					if err != nil {
						return nil, err
					}
					add(id, ref)
				}
			}
		}
	}
	return x, nil
}

// expand returns the resources a template or tag id stands for; ok is
// false for a resource id (resources take precedence, as in Pacemaker's
// pcmk__valid_resource_or_tag) or an unknown id.
func (x *refs) expand(id string) (members []string, ok bool) {
	if x == nil || x.resources[id] {
		return nil, false
	}
	members, ok = x.members[id]
	return members, ok
}

// expandSets replaces template and tag references inside resource sets by
// their members, in place of the reference (pcmk__expand_tags_in_sets). It
// reports whether anything was replaced.
func (x *refs) expandSets(sets []model.ResourceSet) bool {
	any := false
	for i := range sets {
		var out []string
		changed := false
		for _, id := range sets[i].Resources {
			if m, ok := x.expand(id); ok {
				out = append(out, m...)
				changed = true
				continue
			}
			out = append(out, id)
		}
		if changed {
			if out == nil {
				out = []string{}
			}
			sets[i].Resources = out
			any = true
		}
	}
	return any
}

// toSet converts the resource named by a constraint attribute into a
// resource set when it is a template or tag (pcmk__tag_to_set): the set is
// named after the reference, lists its members and is not sequential.
// With always, a plain resource becomes a one-member sequential set too
// (needed when the other side of a colocation or order is a set). ok is
// false when id stays as it is.
func (x *refs) toSet(id string, always bool) (set model.ResourceSet, ok bool) {
	if id == "" {
		return set, false
	}
	if m, isRef := x.expand(id); isRef {
		f := false
		return model.ResourceSet{ID: id, Resources: append([]string{}, m...), Sequential: &f}, true
	}
	if always {
		return model.ResourceSet{ID: id, Resources: []string{id}}, true
	}
	return set, false
}

// expandTemplate returns the element a primitive with template= stands
// for, as Pacemaker's unpack_template builds it: a copy of the template
// named primitive with the primitive's id, its children and the
// primitive's, and, when both have operations, the
// primitive's operations plus each template operation whose name and role
// the primitive does not define.
func (x *refs) expandTemplate(n *node) (*node, error) {
	ref := n.get("template")
	id := n.get("id")
	if ref == id {
		return nil, fmt.Errorf("primitive '%s': references itself as its template", id)
	}
	var t *node
	if x != nil {
		t = x.templates[ref]
	}
	if t == nil {
		return nil, invalid(n, "template", fmt.Errorf("no template named %q", ref))
	}
	out := &node{name: "primitive"}
	for _, a := range t.attrs {
		if a.Name.Space == "" && a.Name.Local == "id" {
			continue
		}
		out.attrs = append(out.attrs, a)
	}
	for _, a := range n.attrs {
		if a.Name.Space == "" && a.Name.Local == "id" {
			out.attrs = append(out.attrs, a)
		}
	}
	// Pacemaker puts the template's children first, then the
	// primitive's; among attribute sets of equal score the last one in
	// the document wins (attrSets), so the primitive's values win.
	tOps, rOps := t.child("operations"), n.child("operations")
	for _, c := range t.children {
		if c == tOps && rOps != nil {
			continue
		}
		out.children = append(out.children, c)
	}
	for _, c := range n.children {
		if c != rOps || tOps == nil {
			out.children = append(out.children, c)
			continue
		}
		merged := &node{name: c.name, attrs: c.attrs, children: append([]*node(nil), c.children...)}
		have := map[string]bool{}
		for _, o := range c.children {
			if o.name == "op" {
				have[templateOpKey(o)] = true
			}
		}
		for _, o := range tOps.children {
			if o.name == "op" && !have[templateOpKey(o)] {
				merged.children = append(merged.children, o)
			}
		}
		out.children = append(out.children, merged)
	}
	return out, nil
}

// templateOpKey identifies an operation for template merging: its name and
// role, Started and Unpromoted counting as no role.
func templateOpKey(o *node) string {
	role := o.get("role")
	switch strings.ToLower(role) {
	case "", "started", "unpromoted", "slave":
		role = "Unknown"
	}
	return o.get("name") + "-" + role
}
