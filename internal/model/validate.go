package model

import (
	"errors"
	"fmt"
	"regexp"
)

// Problems Validate reports, wrapped in a *FieldError (test with
// errors.Is).
var (
	ErrEmptyID         = errors.New("empty id")
	ErrDuplicateID     = errors.New("duplicate id")
	ErrUnknownResource = errors.New("unknown resource")
	ErrInvalidValue    = errors.New("invalid value")
)

// FieldError is one problem Validate found: which object (kind and id) and
// which field.
type FieldError struct {
	Object string // node, resource, op, location, colocation, order or ticket
	ID     string // the object's id (or "#N", its 1-based position, when empty)
	Field  string // the field's JSON name, with set indexes (sets[0].resources)
	Err    error
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s %q: field %q: %v", e.Object, e.ID, e.Field, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

// validator collects problems.
type validator struct {
	errs []error
	rsc  map[string]bool // every resource id, at any depth
}

func (v *validator) add(object, id, field string, err error) {
	v.errs = append(v.errs, &FieldError{Object: object, ID: id, Field: field, Err: err})
}

// Validate checks that the configuration is self-consistent: node names
// and ids, resource and constraint ids are unique and non-empty, resource
// and constraint ids are XML NCNames without ':' (CheckID; resources
// and constraints share one namespace, as in a CIB); primitives name an
// agent, groups hold primitives and clones one primitive or group; every
// resource a constraint or constraint set names exists (top-level, group
// member or clone child); roles, kinds and actions are known values.
// Locations may name nodes that are not configured (Pacemaker allows it:
// the constraint applies if such a node joins). All problems are returned
// at once, joined with errors.Join; each is a *FieldError.
func (c *Config) Validate() error {
	v := &validator{rsc: make(map[string]bool)}
	v.nodes(c.Nodes)
	ids := make(map[string]bool)
	for i := range c.Resources {
		v.resource(&c.Resources[i], "", i, ids)
	}
	v.constraintIDs(c, ids)
	for i, l := range c.Locations {
		v.location(l, i)
	}
	for i, co := range c.Colocations {
		v.colocation(co, i)
	}
	for i, o := range c.Orders {
		v.order(o, i)
	}
	for i, t := range c.Tickets {
		v.ticket(t, i)
	}
	v.orderCycles(c)
	if err := c.ValidateFencingLevels(c.FencingLevels); err != nil {
		v.errs = append(v.errs, err)
	}
	return errors.Join(v.errs...)
}

func (v *validator) nodes(nodes []Node) {
	names := make(map[string]bool)
	ids := make(map[string]bool)
	for i, n := range nodes {
		name := orPosition(n.Name, i)
		switch {
		case n.Name == "":
			v.add("node", name, "name", errors.New("empty name"))
		case names[n.Name]:
			v.add("node", name, "name", errors.New("duplicate name"))
		}
		names[n.Name] = true
		if n.ID != "" {
			if ids[n.ID] {
				v.add("node", name, "id", fmt.Errorf("%w %q", ErrDuplicateID, n.ID))
			}
			ids[n.ID] = true
		}
		switch n.Type {
		case "", NodeMember, NodeRemote, NodePing:
		default:
			v.add("node", name, "type", fmt.Errorf("%w %q", ErrInvalidValue, n.Type))
		}
	}
}

// resource checks r and its children; parent is the enclosing kind.
func (v *validator) resource(r *Resource, parent Kind, pos int, ids map[string]bool) {
	id := orPosition(r.ID, pos)
	if r.ID == "" {
		v.add("resource", id, "id", ErrEmptyID)
	} else if ids[r.ID] {
		v.add("resource", id, "id", ErrDuplicateID)
	} else if err := CheckID(r.ID); err != nil {
		v.add("resource", id, "id", err)
	}
	ids[r.ID] = true
	if r.ID != "" {
		v.rsc[r.ID] = true
	}
	switch r.Kind {
	case KindPrimitive:
		if r.Class == "" {
			v.add("resource", id, "class", errors.New("primitive without an agent class"))
		}
		if r.Type == "" {
			v.add("resource", id, "type", errors.New("primitive without an agent type"))
		}
		if len(r.Children) > 0 {
			v.add("resource", id, "children", errors.New("a primitive has no children"))
		}
	case KindGroup:
		if parent == KindGroup {
			v.add("resource", id, "kind", errors.New("a group cannot be inside a group"))
		}
		if len(r.Children) == 0 {
			v.add("resource", id, "children", errors.New("group without members"))
		}
		for _, ch := range r.Children {
			if ch.Kind != KindPrimitive {
				v.add("resource", id, "children", fmt.Errorf("member %q is a %s, not a primitive", ch.ID, ch.Kind))
			}
		}
	case KindClone:
		if parent != "" {
			v.add("resource", id, "kind", fmt.Errorf("a clone cannot be inside a %s", parent))
		}
		if len(r.Children) != 1 {
			v.add("resource", id, "children", fmt.Errorf("clone has %d children, want 1", len(r.Children)))
		}
	case KindBundle:
		v.bundle(r, parent)
	default:
		v.add("resource", id, "kind", fmt.Errorf("%w %q", ErrInvalidValue, r.Kind))
	}
	for i, op := range r.Ops {
		field := fmt.Sprintf("ops[%d]", i)
		if op.Name == "" {
			v.add("resource", id, field+".name", errors.New("operation without a name"))
		}
		if op.Interval < 0 || op.Timeout < 0 {
			v.add("resource", id, field, errors.New("negative interval or timeout"))
		}
		v.role("resource", id, field+".role", op.Role)
	}
	for i := range r.Children {
		v.resource(&r.Children[i], r.Kind, i, ids)
	}
}

// constraintIDs checks constraint ids: non-empty and unique among
// constraints and resources.
func (v *validator) constraintIDs(c *Config, ids map[string]bool) {
	check := func(object, cid string, pos int) {
		switch {
		case cid == "":
			v.add(object, orPosition(cid, pos), "id", ErrEmptyID)
		case ids[cid]:
			v.add(object, cid, "id", ErrDuplicateID)
		default:
			if err := CheckID(cid); err != nil {
				v.add(object, cid, "id", err)
			}
		}
		ids[cid] = true
	}
	for i, l := range c.Locations {
		check("location", l.ID, i)
	}
	for i, co := range c.Colocations {
		check("colocation", co.ID, i)
	}
	for i, o := range c.Orders {
		check("order", o.ID, i)
	}
	for i, t := range c.Tickets {
		check("ticket", t.ID, i)
	}
}

func (v *validator) ref(object, id, field, rsc string) {
	if !v.rsc[rsc] {
		v.add(object, id, field, fmt.Errorf("%w %q", ErrUnknownResource, rsc))
	}
}

// sets checks constraint sets; need says whether the constraint has no
// other resources and so must have sets.
func (v *validator) sets(object, id string, sets []ResourceSet) {
	for i, s := range sets {
		field := fmt.Sprintf("sets[%d]", i)
		if len(s.Resources) == 0 {
			v.add(object, id, field+".resources", errors.New("empty resource set"))
		}
		for _, r := range s.Resources {
			v.ref(object, id, field+".resources", r)
		}
		v.role(object, id, field+".role", s.Role)
		v.action(object, id, field+".action", s.Action)
		v.orderKind(object, id, field+".kind", s.Kind)
	}
}

func (v *validator) location(l Location, pos int) {
	id := orPosition(l.ID, pos)
	n := 0
	if l.Resource != "" {
		n++
		v.ref("location", id, "resource", l.Resource)
	}
	if l.ResourcePattern != "" {
		n++
		if _, err := regexp.Compile(l.ResourcePattern); err != nil {
			v.add("location", id, "resource_pattern", err)
		}
	}
	if len(l.Sets) > 0 {
		n++
	}
	if n != 1 {
		v.add("location", id, "resource", errors.New("want exactly one of resource, resource_pattern and sets"))
	}
	if l.Node == "" && len(l.Rules) == 0 {
		v.add("location", id, "node", errors.New("neither a node nor rules"))
	}
	v.sets("location", id, l.Sets)
	v.role("location", id, "role", l.Role)
	switch l.ResourceDiscovery {
	case "", "always", "never", "exclusive":
	default:
		v.add("location", id, "resource_discovery", fmt.Errorf("%w %q", ErrInvalidValue, l.ResourceDiscovery))
	}
	for i, r := range l.Rules {
		v.rule("location", id, fmt.Sprintf("rules[%d]", i), r)
	}
}

func (v *validator) rule(object, id, field string, r Rule) {
	switch r.BooleanOp {
	case "", "and", "or":
	default:
		v.add(object, id, field+".boolean_op", fmt.Errorf("%w %q", ErrInvalidValue, r.BooleanOp))
	}
	v.role(object, id, field+".role", r.Role)
	for i, sub := range r.Rules {
		v.rule(object, id, fmt.Sprintf("%s.rules[%d]", field, i), sub)
	}
}

func (v *validator) colocation(c Colocation, pos int) {
	id := orPosition(c.ID, pos)
	if len(c.Sets) == 0 {
		v.ref("colocation", id, "resource", c.Resource)
		v.ref("colocation", id, "with", c.With)
	} else if c.Resource != "" || c.With != "" {
		v.add("colocation", id, "sets", errors.New("sets and resource/with are exclusive"))
	}
	v.sets("colocation", id, c.Sets)
	v.role("colocation", id, "role", c.Role)
	v.role("colocation", id, "with_role", c.WithRole)
}

func (v *validator) order(o Order, pos int) {
	id := orPosition(o.ID, pos)
	if len(o.Sets) == 0 {
		v.ref("order", id, "first", o.First)
		v.ref("order", id, "then", o.Then)
	} else if o.First != "" || o.Then != "" {
		v.add("order", id, "sets", errors.New("sets and first/then are exclusive"))
	}
	v.sets("order", id, o.Sets)
	v.action("order", id, "first_action", o.FirstAction)
	v.action("order", id, "then_action", o.ThenAction)
	v.orderKind("order", id, "kind", o.Kind)
}

func (v *validator) ticket(t TicketConstraint, pos int) {
	id := orPosition(t.ID, pos)
	if t.Ticket == "" {
		v.add("ticket", id, "ticket", errors.New("no ticket named"))
	}
	if len(t.Sets) == 0 {
		v.ref("ticket", id, "resource", t.Resource)
	} else if t.Resource != "" {
		v.add("ticket", id, "sets", errors.New("sets and resource are exclusive"))
	}
	v.sets("ticket", id, t.Sets)
	v.role("ticket", id, "role", t.Role)
	switch t.LossPolicy {
	case "", "stop", "demote", "fence", "freeze":
	default:
		v.add("ticket", id, "loss_policy", fmt.Errorf("%w %q (want stop, demote, fence or freeze)", ErrInvalidValue, t.LossPolicy))
	}
}

func (v *validator) role(object, id, field, role string) {
	if _, ok := CanonicalRole(role); !ok {
		v.add(object, id, field, fmt.Errorf("%w: role %q (want Started, Stopped, Promoted or Unpromoted; Master and Slave also do)", ErrInvalidValue, role))
	}
}

func (v *validator) action(object, id, field, action string) {
	switch action {
	case "", "start", "stop", "promote", "demote":
	default:
		v.add(object, id, field, fmt.Errorf("%w %q (want start, stop, promote or demote)", ErrInvalidValue, action))
	}
}

func (v *validator) orderKind(object, id, field, kind string) {
	switch kind {
	case "", "Mandatory", "Optional", "Serialize":
	default:
		v.add(object, id, field, fmt.Errorf("%w %q (want Mandatory, Optional or Serialize)", ErrInvalidValue, kind))
	}
}

// orPosition names an object without an id by its 1-based position.
func orPosition(id string, pos int) string {
	if id != "" {
		return id
	}
	return fmt.Sprintf("#%d", pos+1)
}
