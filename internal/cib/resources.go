package cib

import (
	"fmt"

	"github.com/paceline/paceline/internal/model"
)

// resources reads the <resources> section.
func (p *parser) resources(sec *node) ([]model.Resource, error) {
	var out []model.Resource
	for _, n := range sec.children {
		if n.name == "template" {
			// Templates are not resources: primitives using one are
			// expanded (see refs.expandTemplate).
			continue
		}
		r, err := p.resource(n, "")
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// resource reads a primitive, group, clone or master element; parent is
// the element name of the enclosing group or clone ("" at top level).
func (p *parser) resource(n *node, parent string) (model.Resource, error) {
	var r model.Resource
	if n.name == "primitive" && n.get("template") != "" {
		e, err := p.refs.expandTemplate(n)
		if err != nil {
			return r, err
		}
		n = e
	}
	switch n.name {
	case "primitive", "group", "clone", "master":
	case "bundle":
		if parent != "" {
			return r, fmt.Errorf("bundle '%s': a bundle cannot be inside a %s", n.get("id"), parent)
		}
	case "template":
		return r, unsupported(n, "", "")
	default:
		return r, unsupported(n, "resource element <"+n.name+">", "")
	}
	id, err := required(n, "id")
	if err != nil {
		return r, err
	}
	r.ID = id
	switch {
	case parent == "group" && n.name != "primitive":
		return r, fmt.Errorf("group member %s '%s': only primitives may be group members", n.name, id)
	case parent != "" && n.name == "clone" || parent != "" && n.name == "master":
		return r, fmt.Errorf("%s '%s': a clone cannot be inside a %s", n.name, id, parent)
	}

	// Attributes common to every kind.
	sets, err := p.attrSets(n, "instance_attributes", "")
	if err != nil {
		return r, err
	}
	var plain []attrSet
	for _, s := range sets {
		if s.rule == nil {
			plain = append(plain, s)
			continue
		}
		rule, err := p.rule(s.rule)
		if err != nil {
			return r, err
		}
		r.RuleParams = append(r.RuleParams, model.AttrSet{
			ID: s.elem.get("id"), Score: s.score, Rule: &rule, Values: dedupe(s.pairs),
		})
	}
	// RuleParams in document order (attrSets sorted them by score).
	sortByDocument(n, r.RuleParams)
	r.Params = mergeList(nil, plain)
	if r.Meta, r.MetaSets, err = p.ruleMap(n, "meta_attributes", ""); err != nil {
		return r, err
	}
	if r.Utilization, r.UtilizationSets, err = p.ruleMap(n, "utilization", ""); err != nil {
		return r, err
	}

	switch n.name {
	case "primitive":
		err = p.primitive(n, &r)
	case "bundle":
		err = p.bundle(n, &r)
	case "group":
		r.Kind = model.KindGroup
		for _, c := range n.children {
			if !isResourceElement(c.name) {
				continue
			}
			child, err := p.resource(c, "group")
			if err != nil {
				return r, err
			}
			r.Children = append(r.Children, child)
		}
		if len(r.Children) == 0 {
			return r, fmt.Errorf("group '%s': no members", id)
		}
	case "clone", "master":
		r.Kind = model.KindClone
		if n.name == "master" {
			if r.Meta == nil {
				r.Meta = make(map[string]string)
			}
			r.Meta["promotable"] = "true"
		}
		for _, c := range n.children {
			if !isResourceElement(c.name) {
				continue
			}
			if len(r.Children) > 0 {
				return r, fmt.Errorf("%s '%s': more than one resource inside", n.name, id)
			}
			child, err := p.resource(c, n.name)
			if err != nil {
				return r, err
			}
			r.Children = append(r.Children, child)
		}
		if len(r.Children) == 0 {
			return r, fmt.Errorf("%s '%s': no primitive or group inside", n.name, id)
		}
	}
	return r, err
}

func isResourceElement(name string) bool {
	switch name {
	case "primitive", "group", "clone", "master", "bundle", "template":
		return true
	}
	return false
}

// sortByDocument reorders sets into the order their elements appear under
// parent (attrSets returns them by score).
func sortByDocument(parent *node, sets []model.AttrSet) {
	if len(sets) < 2 {
		return
	}
	pos := make(map[string]int)
	for i, c := range parent.children {
		if c.name == "instance_attributes" {
			pos[c.id()] = i
		}
	}
	// Insertion sort: there are only a few sets.
	for i := 1; i < len(sets); i++ {
		for j := i; j > 0 && pos[sets[j].ID] < pos[sets[j-1].ID]; j-- {
			sets[j], sets[j-1] = sets[j-1], sets[j]
		}
	}
}

func (p *parser) primitive(n *node, r *model.Resource) error {
	r.Kind = model.KindPrimitive
	var err error
	if r.Class, err = required(n, "class"); err != nil {
		return err
	}
	if r.Type, err = required(n, "type"); err != nil {
		return err
	}
	r.Provider = n.get("provider")
	for _, c := range n.children {
		if c.name != "operations" {
			continue
		}
		ops, err := p.idx.deref(c)
		if err != nil {
			return err
		}
		for _, o := range ops.children {
			if o.name != "op" {
				continue
			}
			op, err := p.op(o)
			if err != nil {
				return err
			}
			r.Ops = append(r.Ops, op)
		}
	}
	return nil
}

// op reads one operation definition.
func (p *parser) op(o *node) (model.Op, error) {
	var op model.Op
	o, err := p.idx.deref(o)
	if err != nil {
		return op, err
	}
	if op.ID, err = required(o, "id"); err != nil {
		return op, err
	}
	if op.Name, err = required(o, "name"); err != nil {
		return op, err
	}
	for _, a := range o.attrs {
		k, v := a.Name.Local, a.Value
		if a.Name.Space != "" {
			continue
		}
		switch k {
		case "id", "name", "description":
		case "interval":
			if op.Interval, err = ParseDuration(v); err != nil {
				return op, invalid(o, k, err)
			}
		case "timeout":
			// Pacemaker falls back to the default timeout for an
			// invalid value (timeout="bad" in the corpus), and so
			// do we: zero means the default.
			op.Timeout, _ = ParseDuration(v)
		case "role":
			op.Role = normRole(v)
		case "on-fail":
			op.OnFail = v
		case "enabled":
			b, err := parseBool(v)
			if err != nil {
				return op, invalid(o, k, err)
			}
			op.Enabled = &b
		default:
			if op.Meta == nil {
				op.Meta = make(map[string]string)
			}
			op.Meta[k] = v
		}
	}
	sets, err := p.attrSets(o, "meta_attributes", "")
	if err != nil {
		return op, err
	}
	for _, s := range sets {
		if s.rule != nil {
			return op, unsupported(s.elem, "", "with a rule")
		}
	}
	// Pacemaker merges an op's meta_attributes overwriting: of sets with
	// equal scores the first in the document wins, and a lower score
	// beats a higher one.
	if err := promoteOpMeta(o, &op, mergeOverwrite(sets)); err != nil {
		return op, err
	}
	sets, err = p.attrSets(o, "instance_attributes", "")
	if err != nil {
		return op, err
	}
	for _, s := range sets {
		if s.rule != nil {
			return op, unsupported(s.elem, "", "with a rule")
		}
	}
	op.Params = mergeList(nil, sets)
	return op, nil
}

// promoteOpMeta merges an op's meta_attributes into op: attributes of the
// <op> element take precedence (as in Pacemaker's unpack_operation), and
// nvpairs naming a field (interval, timeout, role, on-fail, enabled) fill
// that field when the element did not set it.
func promoteOpMeta(o *node, op *model.Op, m map[string]string) error {
	for k, v := range m {
		if _, set := o.attr(k); set {
			continue
		}
		var err error
		switch k {
		case "id", "name", "description":
		case "interval":
			op.Interval, err = ParseDuration(v)
		case "timeout":
			op.Timeout, _ = ParseDuration(v) // invalid: the default
		case "role":
			op.Role = normRole(v)
		case "on-fail":
			op.OnFail = v
		case "enabled":
			var b bool
			if b, err = parseBool(v); err == nil {
				op.Enabled = &b
			}
		default:
			if op.Meta == nil {
				op.Meta = make(map[string]string)
			}
			op.Meta[k] = v
		}
		if err != nil {
			return fmt.Errorf("op '%s': meta attribute %q: %w", op.ID, k, err)
		}
	}
	return nil
}
