package cib

import (
	"fmt"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// constraints reads the <constraints> section.
func (p *parser) constraints(sec *node, cfg *model.Config) error {
	for _, c := range sec.children {
		var err error
		switch c.name {
		case "rsc_location":
			var l model.Location
			if l, err = p.location(c); err == nil {
				cfg.Locations = append(cfg.Locations, l)
			}
		case "rsc_colocation":
			var co model.Colocation
			if co, err = p.colocation(c); err == nil {
				cfg.Colocations = append(cfg.Colocations, co)
			}
		case "rsc_order":
			var o model.Order
			if o, err = p.order(c); err == nil {
				cfg.Orders = append(cfg.Orders, o)
			}
		default:
			err = unsupported(c, "", "")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) location(n *node) (model.Location, error) {
	var l model.Location
	var err error
	if l.ID, err = required(n, "id"); err != nil {
		return l, err
	}
	l.Resource = n.get("rsc")
	l.ResourcePattern = n.get("rsc-pattern")
	l.Role = normRole(n.get("role"))
	l.ResourceDiscovery = n.get("resource-discovery")
	if l.Sets, err = p.resourceSets(n); err != nil {
		return l, err
	}
	if l.Resource == "" && l.ResourcePattern == "" && len(l.Sets) == 0 {
		return l, missing(n, "rsc")
	}
	if l.Node = n.get("node"); l.Node != "" {
		v, err := required(n, "score")
		if err != nil {
			return l, err
		}
		if l.Score, err = model.ParseScore(v); err != nil {
			return l, invalid(n, "score", err)
		}
	}
	for _, c := range n.children {
		switch c.name {
		case "rule":
			r, err := p.rule(c)
			if err != nil {
				return l, err
			}
			l.Rules = append(l.Rules, r)
		case "lifetime":
			return l, unsupported(c, "", "(in rsc_location '"+l.ID+"')")
		}
	}
	if l.Node == "" && len(l.Rules) == 0 {
		return l, missing(n, "node")
	}
	return l, nil
}

func (p *parser) colocation(n *node) (model.Colocation, error) {
	var c model.Colocation
	var err error
	if c.ID, err = required(n, "id"); err != nil {
		return c, err
	}
	if c.Sets, err = p.resourceSets(n); err != nil {
		return c, err
	}
	c.Resource, c.With = n.get("rsc"), n.get("with-rsc")
	if len(c.Sets) == 0 {
		if c.Resource == "" {
			return c, missing(n, "rsc")
		}
		if c.With == "" {
			return c, missing(n, "with-rsc")
		}
	}
	if v, ok := n.attr("score"); ok {
		if c.Score, err = model.ParseScore(v); err != nil {
			return c, invalid(n, "score", err)
		}
	}
	c.Role = normRole(n.get("rsc-role"))
	c.WithRole = normRole(n.get("with-rsc-role"))
	c.NodeAttribute = n.get("node-attribute")
	if c.Influence, err = optBool(n, "influence"); err != nil {
		return c, err
	}
	return c, nil
}

func (p *parser) order(n *node) (model.Order, error) {
	var o model.Order
	var err error
	if o.ID, err = required(n, "id"); err != nil {
		return o, err
	}
	if o.Sets, err = p.resourceSets(n); err != nil {
		return o, err
	}
	o.First, o.Then = n.get("first"), n.get("then")
	if len(o.Sets) == 0 {
		if o.First == "" {
			return o, missing(n, "first")
		}
		if o.Then == "" {
			return o, missing(n, "then")
		}
	}
	o.FirstAction, o.ThenAction = n.get("first-action"), n.get("then-action")
	o.Kind = orderKind(n.get("kind"))
	if o.Score, err = optScore(n, "score"); err != nil {
		return o, err
	}
	if o.Symmetrical, err = optBool(n, "symmetrical"); err != nil {
		return o, err
	}
	if o.RequireAll, err = optBool(n, "require-all"); err != nil {
		return o, err
	}
	return o, nil
}

// resourceSets reads the resource_set children of a constraint.
func (p *parser) resourceSets(n *node) ([]model.ResourceSet, error) {
	var out []model.ResourceSet
	for _, c := range n.children {
		if c.name != "resource_set" {
			continue
		}
		e, err := p.idx.deref(c)
		if err != nil {
			return nil, err
		}
		s := model.ResourceSet{ID: e.get("id"), Resources: []string{}}
		for _, r := range e.children {
			if r.name != "resource_ref" {
				continue
			}
			id, err := required(r, "id")
			if err != nil {
				return nil, err
			}
			s.Resources = append(s.Resources, id)
		}
		if s.Sequential, err = optBool(e, "sequential"); err != nil {
			return nil, err
		}
		if s.RequireAll, err = optBool(e, "require-all"); err != nil {
			return nil, err
		}
		s.Role = normRole(e.get("role"))
		s.Action = e.get("action")
		s.Kind = orderKind(e.get("kind"))
		s.Ordering = strings.ToLower(e.get("ordering"))
		if s.Score, err = optScore(e, "score"); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// maxRuleDepth bounds rule nesting, which id-refs could otherwise make
// infinite.
const maxRuleDepth = 32

// rule reads a rule (expanding an id-ref) with its expressions and nested
// rules.
func (p *parser) rule(n *node) (model.Rule, error) { return p.ruleAt(n, 0) }

func (p *parser) ruleAt(n *node, depth int) (model.Rule, error) {
	var r model.Rule
	n, err := p.idx.deref(n)
	if err != nil {
		return r, err
	}
	if depth > maxRuleDepth {
		return r, fmt.Errorf("rule '%s': rules nested more than %d deep (an id-ref loop?)", n.get("id"), maxRuleDepth)
	}
	r.ID = n.get("id")
	if v, ok := n.attr("score"); ok {
		if r.Score, err = model.ParseScore(v); err != nil {
			return r, invalid(n, "score", err)
		}
		r.HasScore = true
	}
	if v, ok := n.attr("score-attribute"); ok {
		r.ScoreAttribute = v
		r.HasScore = true
	}
	r.Role = normRole(n.get("role"))
	r.BooleanOp = n.get("boolean-op")
	for _, c := range n.children {
		switch c.name {
		case "expression":
			e, err := p.idx.deref(c)
			if err != nil {
				return r, err
			}
			x := model.Expr{Value: e.get("value"), Type: e.get("type"), ValueSource: e.get("value-source")}
			if x.Attribute, err = required(e, "attribute"); err != nil {
				return r, err
			}
			if x.Operation, err = required(e, "operation"); err != nil {
				return r, err
			}
			r.Expressions = append(r.Expressions, x)
		case "date_expression":
			e, err := p.idx.deref(c)
			if err != nil {
				return r, err
			}
			d := model.DateExpr{Operation: e.get("operation"), Start: e.get("start"), End: e.get("end")}
			if d.Operation == "" {
				d.Operation = "in_range"
			}
			for _, k := range e.children {
				switch k.name {
				case "duration":
					d.Duration = specAttrs(k)
				case "date_spec":
					d.Spec = specAttrs(k)
				}
			}
			r.Dates = append(r.Dates, d)
		case "rule":
			sub, err := p.ruleAt(c, depth+1)
			if err != nil {
				return r, err
			}
			r.Rules = append(r.Rules, sub)
		default:
			if r.Unsupported == "" {
				r.Unsupported = c.name
			}
		}
	}
	return r, nil
}

// specAttrs returns the attributes of a date_spec or duration element
// other than its id.
func specAttrs(n *node) map[string]string {
	m := make(map[string]string, len(n.attrs))
	for _, a := range n.attrs {
		if a.Name.Space == "" && a.Name.Local != "id" {
			m[a.Name.Local] = a.Value
		}
	}
	return m
}

// optBool reads an optional boolean attribute (nil when absent).
func optBool(n *node, attr string) (*bool, error) {
	v, ok := n.attr(attr)
	if !ok {
		return nil, nil
	}
	b, err := parseBool(v)
	if err != nil {
		return nil, invalid(n, attr, err)
	}
	return &b, nil
}

// optScore reads an optional score attribute (nil when absent).
func optScore(n *node, attr string) (*model.Score, error) {
	v, ok := n.attr(attr)
	if !ok {
		return nil, nil
	}
	s, err := model.ParseScore(v)
	if err != nil {
		return nil, invalid(n, attr, err)
	}
	return &s, nil
}

// orderKind normalises an order kind as Pacemaker does: case-insensitive,
// and an unknown kind is reset to Mandatory (case order-wrong-kind).
func orderKind(k string) string {
	switch strings.ToLower(k) {
	case "":
		return ""
	case "optional":
		return "Optional"
	case "serialize":
		return "Serialize"
	}
	return "Mandatory"
}
