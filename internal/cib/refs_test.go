package cib

import (
	"reflect"
	"strings"
	"testing"

	"github.com/paceline/paceline/internal/model"
)

// Templates: a primitive using a template takes the template's agent,
// attribute sets and operations; its own values win, and a template
// operation is dropped when the primitive defines one with the same name
// and role (Pacemaker's unpack_template).
func TestTemplateExpansion(t *testing.T) {
	cfg, _ := mustParse(t, cib("", `
    <resources>
      <template id="tmpl" class="ocf" provider="pacemaker" type="Dummy">
        <instance_attributes id="tmpl-ia">
          <nvpair id="tmpl-ia-1" name="fake" value="template"/>
          <nvpair id="tmpl-ia-2" name="state" value="/tmp/t"/>
        </instance_attributes>
        <meta_attributes id="tmpl-m"><nvpair id="tmpl-m-1" name="target-role" value="Stopped"/></meta_attributes>
        <operations>
          <op id="tmpl-mon" name="monitor" interval="10s"/>
          <op id="tmpl-start" name="start" interval="0" timeout="30s"/>
        </operations>
      </template>
      <primitive id="a" template="tmpl"/>
      <primitive id="b" template="tmpl">
        <instance_attributes id="b-ia"><nvpair id="b-ia-1" name="fake" value="own"/></instance_attributes>
        <meta_attributes id="b-m"><nvpair id="b-m-1" name="target-role" value="Started"/></meta_attributes>
        <operations><op id="b-mon" name="monitor" interval="20s" role="Started"/></operations>
      </primitive>
      <group id="g"><primitive id="c" template="tmpl"/></group>
    </resources>`, ""))
	if len(cfg.Resources) != 3 {
		t.Fatalf("resources = %+v, want a, b and g (the template is not a resource)", cfg.Resources)
	}
	a, b := cfg.Resources[0], cfg.Resources[1]
	for _, r := range []model.Resource{a, b, cfg.Resources[2].Children[0]} {
		if r.Kind != model.KindPrimitive || r.Agent() != "ocf:pacemaker:Dummy" {
			t.Errorf("%s: kind %s agent %s, want an ocf:pacemaker:Dummy primitive", r.ID, r.Kind, r.Agent())
		}
	}
	if want := []model.NV{{Name: "fake", Value: "template"}, {Name: "state", Value: "/tmp/t"}}; !reflect.DeepEqual(a.Params, want) {
		t.Errorf("a params = %v, want %v", a.Params, want)
	}
	if want := []model.NV{{Name: "fake", Value: "own"}, {Name: "state", Value: "/tmp/t"}}; !reflect.DeepEqual(b.Params, want) {
		t.Errorf("b params = %v, want %v", b.Params, want)
	}
	if a.Meta["target-role"] != "Stopped" || b.Meta["target-role"] != "Started" {
		t.Errorf("target-role: a %q b %q, want Stopped and Started", a.Meta["target-role"], b.Meta["target-role"])
	}
	opIDs := func(r model.Resource) string {
		var ids []string
		for _, o := range r.Ops {
			ids = append(ids, o.ID)
		}
		return strings.Join(ids, " ")
	}
	if got := opIDs(a); got != "tmpl-mon tmpl-start" {
		t.Errorf("a ops = %s, want the template's", got)
	}
	if got := opIDs(b); got != "b-mon tmpl-start" {
		t.Errorf("b ops = %s, want b-mon (replacing the template's monitor) and tmpl-start", got)
	}
}

func TestTemplateErrors(t *testing.T) {
	for _, tc := range []struct{ name, config, want string }{
		{"unknown template", `<resources><primitive id="p" template="tmpl"/></resources>`,
			`primitive 'p': attribute "template": no template named "tmpl"`},
		{"self reference", `<resources><primitive id="p" template="p"/></resources>`,
			"references itself"},
	} {
		_, _, err := Parse(strings.NewReader(cib("", tc.config, "")))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// Constraints naming a template or a tag stand for its members: in place
// inside resource sets, as a non-sequential set otherwise (with the role
// or action moved into the set, and the other side of a colocation or
// order turned into a one-member set). A colocation between two of them
// is dropped, as Pacemaker ignores it.
func TestTemplateAndTagReferences(t *testing.T) {
	cfg, _ := mustParse(t, cib("", `
    <resources>
      <template id="tmpl" class="ocf" provider="pacemaker" type="Dummy"/>
      <primitive id="r1" template="tmpl"/>
      <primitive id="r2" template="tmpl"/>
      <primitive id="r3" class="ocf" provider="pacemaker" type="Dummy"/>
      <primitive id="r4" class="ocf" provider="pacemaker" type="Dummy"/>
    </resources>
    <constraints>
      <rsc_location id="l1" rsc="tag1" role="Promoted" node="node1" score="10"/>
      <rsc_location id="l2" node="node2" score="5">
        <resource_set id="l2-s"><resource_ref id="r4"/><resource_ref id="tmpl"/></resource_set>
      </rsc_location>
      <rsc_colocation id="c1" rsc="tmpl" with-rsc="r3" with-rsc-role="Promoted" score="INFINITY"/>
      <rsc_colocation id="c2" rsc="r3" with-rsc="r4" score="INFINITY"/>
      <rsc_colocation id="c3" rsc="tmpl" with-rsc="tag1" score="INFINITY"/>
      <rsc_order id="o1" first="r3" first-action="promote" then="tag1"/>
      <rsc_ticket id="t1" rsc="tmpl" rsc-role="Started" ticket="ticketA" loss-policy="freeze"/>
    </constraints>
    <tags><tag id="tag1"><obj_ref id="r3"/><obj_ref id="r4"/><obj_ref id="r3"/></tag></tags>`, ""))
	f := false
	nonSeq := func(id string, role string, members ...string) model.ResourceSet {
		return model.ResourceSet{ID: id, Resources: members, Sequential: &f, Role: role}
	}
	want := []model.Location{
		{ID: "l1", Node: "node1", Score: 10, Sets: []model.ResourceSet{nonSeq("tag1", "Promoted", "r3", "r4")}},
		{ID: "l2", Node: "node2", Score: 5, Sets: []model.ResourceSet{{ID: "l2-s", Resources: []string{"r4", "r1", "r2"}}}},
	}
	if !reflect.DeepEqual(cfg.Locations, want) {
		t.Errorf("locations:\n got %+v\nwant %+v", cfg.Locations, want)
	}
	wantColoc := []model.Colocation{
		{ID: "c1", Score: model.Infinity, Sets: []model.ResourceSet{
			nonSeq("tmpl", "", "r1", "r2"), {ID: "r3", Resources: []string{"r3"}, Role: "Promoted"}}},
		{ID: "c2", Resource: "r3", With: "r4", Score: model.Infinity},
	}
	if !reflect.DeepEqual(cfg.Colocations, wantColoc) {
		t.Errorf("colocations:\n got %+v\nwant %+v", cfg.Colocations, wantColoc)
	}
	wantOrder := []model.Order{{ID: "o1", Sets: []model.ResourceSet{
		{ID: "r3", Resources: []string{"r3"}, Action: "promote"}, nonSeq("tag1", "", "r3", "r4")}}}
	if !reflect.DeepEqual(cfg.Orders, wantOrder) {
		t.Errorf("orders:\n got %+v\nwant %+v", cfg.Orders, wantOrder)
	}
	wantTicket := []model.TicketConstraint{{ID: "t1", Ticket: "ticketA", LossPolicy: "freeze",
		Sets: []model.ResourceSet{nonSeq("tmpl", "Started", "r1", "r2")}}}
	if !reflect.DeepEqual(cfg.Tickets, wantTicket) {
		t.Errorf("tickets:\n got %+v\nwant %+v", cfg.Tickets, wantTicket)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestTickets(t *testing.T) {
	cfg, st := mustParse(t, cib("", `
    <resources><primitive id="r1" class="ocf" provider="pacemaker" type="Dummy"/></resources>
    <constraints>
      <rsc_ticket id="t1" rsc="r1" rsc-role="Master" ticket="ticketA" loss-policy="Demote"/>
      <rsc_ticket id="t2" ticket="ticketB" loss-policy="sometimes">
        <resource_set id="t2-s" role="Slave"><resource_ref id="r1"/></resource_set>
      </rsc_ticket>
    </constraints>`, `
    <tickets>
      <ticket_state id="ticketA" granted="true" last-granted="1234"/>
      <ticket_state id="ticketB" granted="yes" standby="true"/>
      <ticket_state id="ticketC" granted="maybe"/>
    </tickets>`))
	want := []model.TicketConstraint{
		{ID: "t1", Resource: "r1", Role: "Promoted", Ticket: "ticketA", LossPolicy: "demote"},
		{ID: "t2", Ticket: "ticketB", Sets: []model.ResourceSet{{ID: "t2-s", Resources: []string{"r1"}, Role: "Unpromoted"}}},
	}
	if !reflect.DeepEqual(cfg.Tickets, want) {
		t.Errorf("tickets:\n got %+v\nwant %+v", cfg.Tickets, want)
	}
	wantState := map[string]model.TicketState{
		"ticketA": {Granted: true, LastGranted: 1234},
		"ticketB": {Granted: true, Standby: true},
		"ticketC": {},
	}
	if !reflect.DeepEqual(st.Tickets, wantState) {
		t.Errorf("ticket states:\n got %+v\nwant %+v", st.Tickets, wantState)
	}
	for _, tc := range []struct{ name, config, want string }{
		{"no ticket", `<constraints><rsc_ticket id="x" rsc="a"/></constraints>`, `rsc_ticket 'x': missing attribute "ticket"`},
		{"no resource", `<constraints><rsc_ticket id="x" ticket="t"/></constraints>`, `rsc_ticket 'x': missing attribute "rsc"`},
	} {
		_, _, err := Parse(strings.NewReader(cib("", tc.config, "")))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}
