package sched_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/cib"
	"github.com/paceline/paceline/internal/sched"
)

// ticketCIB is a two-node cluster with fencing, a fence device active on
// node1, the given resources, constraints and ticket states, and node1's
// extra operation history.
func ticketCIB(resources, constraints, tickets, history string) string {
	return `<cib validate-with="pacemaker-3.7" have-quorum="1" dc-uuid="1">
  <configuration>
    <crm_config><cluster_property_set id="opts">
      <nvpair id="opts-1" name="stonith-enabled" value="true"/>
    </cluster_property_set></crm_config>
    <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes>
    <resources>
      <primitive id="fencer" class="stonith" type="fence_dummy"/>
      ` + resources + `
    </resources>
    <constraints>` + constraints + `</constraints>
  </configuration>
  <status>
    <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="1"><lrm_resources>` + lrmOp("fencer", `class="stonith" type="fence_dummy"`, "start") + history + `
      </lrm_resources></lrm>
    </node_state>
    <node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member"/>
    <tickets>` + tickets + `</tickets>
  </status>
</cib>`
}

// lrmOp is a resource history holding one successful operation.
func lrmOp(rsc, agent, task string) string {
	return fmt.Sprintf(`
        <lrm_resource id="%s" %s>
          <lrm_rsc_op id="%s_last_0" operation_key="%s_%s_0" operation="%s" transition-key="2:1:0:x"
            transition-magic="0:0;2:1:0:x" call-id="2" rc-code="0" op-status="0" interval="0"
            op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/>
        </lrm_resource>`, rsc, agent, rsc, rsc, task, task)
}

// TestTickets checks rsc_ticket semantics (Pacemaker's
// pcmk_sched_tickets.c); every expected summary was produced by
// crm_simulate 2.1.5 from the same CIB.
func TestTickets(t *testing.T) {
	const (
		dummy    = `<primitive id="rsc1" class="ocf" provider="pacemaker" type="Dummy"/>`
		dummyRun = `class="ocf" provider="pacemaker" type="Dummy"`
		stateful = `class="ocf" provider="pacemaker" type="Stateful"`
		ms       = `<clone id="ms1"><meta_attributes id="ms1-m">
          <nvpair id="ms1-m1" name="promotable" value="true"/><nvpair id="ms1-m2" name="clone-max" value="1"/>
        </meta_attributes><primitive id="st" ` + stateful + `/></clone>`
	)
	running := lrmOp("rsc1", dummyRun, "start")
	promoted := lrmOp("st:0", stateful, "promote")
	for _, tc := range []struct {
		name, resources, constraint, tickets, history string
		want                                          []string
	}{
		{"a ticket without state is not granted: stop", dummy,
			`<rsc_ticket id="t" rsc="rsc1" ticket="tA"/>`, ``, running,
			[]string{"Stop rsc1 ( node1 ) due to node availability"}},
		{"a granted ticket changes nothing", dummy,
			`<rsc_ticket id="t" rsc="rsc1" ticket="tA"/>`, `<ticket_state id="tA" granted="true"/>`, running,
			[]string{"Move rsc1 ( node1 -> node2 )"}},
		{"standby stops even with loss-policy fence", dummy,
			`<rsc_ticket id="t" rsc="rsc1" ticket="tA" loss-policy="fence"/>`,
			`<ticket_state id="tA" granted="true" standby="true"/>`, running,
			[]string{"Stop rsc1 ( node1 ) due to node availability"}},
		{"freeze leaves the resource alone", dummy,
			`<rsc_ticket id="t" rsc="rsc1" ticket="tA" loss-policy="freeze"/>`, `<ticket_state id="tA" granted="false"/>`, running,
			nil},
		{"fence fences where the resource runs", dummy,
			`<rsc_ticket id="t" rsc="rsc1" ticket="tA" loss-policy="fence"/>`, `<ticket_state id="tA" granted="false"/>`, running,
			[]string{"Fence (reboot) node1 'deadman ticket was lost'", "Move fencer ( node1 -> node2 )",
				"Stop rsc1 ( node1 ) due to node availability"}},
		{"a stopped resource does not start", dummy,
			`<rsc_ticket id="t" rsc="rsc1" ticket="tA"/>`, ``, ``,
			nil},
		{"a promoted-role ticket demotes by default", ms,
			`<rsc_ticket id="t" rsc="ms1" rsc-role="Promoted" ticket="tA"/>`, ``, promoted,
			[]string{"Demote st:0 ( Promoted -> Unpromoted node1 )"}},
		{"a promoted-role ticket with loss-policy stop stops", ms,
			`<rsc_ticket id="t" rsc="ms1" rsc-role="Promoted" ticket="tA" loss-policy="stop"/>`, ``, promoted,
			[]string{"Stop st:0 ( Promoted node1 ) due to node availability"}},
	} {
		doc := ticketCIB(tc.resources, tc.constraint, tc.tickets, tc.history)
		cfg, st, err := cib.Parse(strings.NewReader(doc))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		res, err := sched.Schedule(sched.Input{Config: cfg, Status: st, Now: time.Unix(1700000000, 0)})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, c := range res.Changes {
			got = append(got, strings.Join(strings.Fields(c.String()), " "))
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
