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
			var keep bool
			if co, keep, err = p.colocation(c); err == nil && keep {
				cfg.Colocations = append(cfg.Colocations, co)
			}
		case "rsc_order":
			var o model.Order
			if o, err = p.order(c); err == nil {
				cfg.Orders = append(cfg.Orders, o)
			}
		case "rsc_ticket":
			var t model.TicketConstraint
			if t, err = p.ticket(c); err == nil {
				cfg.Tickets = append(cfg.Tickets, t)
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
	if !p.refs.expandSets(l.Sets) && len(l.Sets) == 0 {
		if set, ok := p.refs.toSet(l.Resource, false); ok {
			set.Role, l.Role = l.Role, ""
			l.Resource, l.Sets = "", []model.ResourceSet{set}
		}
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

// colocation reads an rsc_colocation; keep is false for one Pacemaker
// ignores (between two templates or tags).
func (p *parser) colocation(n *node) (c model.Colocation, keep bool, err error) {
	if c.ID, err = required(n, "id"); err != nil {
		return c, false, err
	}
	if c.Sets, err = p.resourceSets(n); err != nil {
		return c, false, err
	}
	c.Resource, c.With = n.get("rsc"), n.get("with-rsc")
	if len(c.Sets) == 0 {
		if c.Resource == "" {
			return c, false, missing(n, "rsc")
		}
		if c.With == "" {
			return c, false, missing(n, "with-rsc")
		}
	}
	if v, ok := n.attr("score"); ok {
		if c.Score, err = model.ParseScore(v); err != nil {
			return c, false, invalid(n, "score", err)
		}
	}
	c.Role = normRole(n.get("rsc-role"))
	c.WithRole = normRole(n.get("with-rsc-role"))
	keep = true
	if !p.refs.expandSets(c.Sets) && len(c.Sets) == 0 {
		keep = p.colocationRefs(&c)
	}
	c.NodeAttribute = n.get("node-attribute")
	// Pacemaker uses the default (the dependent's critical meta) for an
	// invalid influence rather than rejecting the constraint.
	c.Influence, _ = optBool(n, "influence")
	return c, keep, nil
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
	if !p.refs.expandSets(o.Sets) && len(o.Sets) == 0 {
		p.orderRefs(&o)
	}
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

// colocationRefs turns a colocation whose rsc or with-rsc names a template
// or tag into two resource sets, the dependent's first (as Pacemaker's
// unpack_colocation_tags does); the roles move into the sets. It returns
// false for a colocation between two templates or tags, which Pacemaker
// ignores.
func (p *parser) colocationRefs(c *model.Colocation) bool {
	_, depRef := p.refs.expand(c.Resource)
	_, primRef := p.refs.expand(c.With)
	if !depRef && !primRef {
		return true
	}
	if depRef && primRef {
		return false
	}
	dep, _ := p.refs.toSet(c.Resource, true)
	prim, _ := p.refs.toSet(c.With, true)
	dep.Role, prim.Role = c.Role, c.WithRole
	c.Resource, c.With, c.Role, c.WithRole = "", "", "", ""
	c.Sets = []model.ResourceSet{dep, prim}
	return true
}

// orderRefs turns an order whose first or then names a template or tag
// into two resource sets (unpack_order_tags); the actions move into the
// sets, where an absent action means start.
func (p *parser) orderRefs(o *model.Order) {
	_, firstRef := p.refs.expand(o.First)
	_, thenRef := p.refs.expand(o.Then)
	if !firstRef && !thenRef {
		return
	}
	first, _ := p.refs.toSet(o.First, true)
	then, _ := p.refs.toSet(o.Then, true)
	first.Action, then.Action = o.FirstAction, o.ThenAction
	o.First, o.Then, o.FirstAction, o.ThenAction = "", "", "", ""
	o.Sets = []model.ResourceSet{first, then}
}

// ticket reads an rsc_ticket. A template or tag in rsc becomes a resource
// set (with the role), and references inside sets are expanded.
func (p *parser) ticket(n *node) (model.TicketConstraint, error) {
	var t model.TicketConstraint
	var err error
	if t.ID, err = required(n, "id"); err != nil {
		return t, err
	}
	if t.Ticket, err = required(n, "ticket"); err != nil {
		return t, err
	}
	if t.Sets, err = p.resourceSets(n); err != nil {
		return t, err
	}
	t.Resource = n.get("rsc")
	t.Role = normRole(n.get("rsc-role"))
	if len(t.Sets) == 0 && t.Resource == "" {
		return t, missing(n, "rsc")
	}
	t.LossPolicy = strings.ToLower(n.get("loss-policy"))
	switch t.LossPolicy {
	case "", "stop", "demote", "fence", "freeze":
	default:
		// Pacemaker applies the default for an unknown policy.
		t.LossPolicy = ""
	}
	if !p.refs.expandSets(t.Sets) && len(t.Sets) == 0 {
		if set, ok := p.refs.toSet(t.Resource, false); ok {
			set.Role, t.Role = t.Role, ""
			t.Resource, t.Sets = "", []model.ResourceSet{set}
		}
	}
	return t, nil
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
		case "rsc_expression":
			e, err := p.idx.deref(c)
			if err != nil {
				return r, err
			}
			r.Agents = append(r.Agents, model.AgentExpr{Class: e.get("class"), Provider: e.get("provider"), Type: e.get("type")})
		case "op_expression":
			e, err := p.idx.deref(c)
			if err != nil {
				return r, err
			}
			x := model.OpExpr{Interval: e.get("interval")}
			if x.Name, err = required(e, "name"); err != nil {
				return r, err
			}
			r.Operations = append(r.Operations, x)
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
