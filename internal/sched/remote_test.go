package sched_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/cib"
	"github.com/paceline/paceline/internal/sched"
)

// remoteCIB is a two-node cluster with fencing, a fence device active on
// node1, the given resources and constraints, node1's extra history and
// extra node_state entries (for remote and guest nodes).
func remoteCIB(resources, constraints, node1, states string) string {
	return `<cib validate-with="pacemaker-3.7" have-quorum="1" dc-uuid="1" crm_feature_set="3.16.2">
  <configuration>
    <crm_config><cluster_property_set id="opts">
      <nvpair id="opts-1" name="stonith-enabled" value="true"/>
    </cluster_property_set></crm_config>
    <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes>
    <resources><primitive id="fencer" class="stonith" type="fence_dummy"/>` + resources + `</resources>
    <constraints>` + constraints + `</constraints>
  </configuration>
  <status>
    <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="1"><lrm_resources>` + lrmOp("fencer", `class="stonith" type="fence_dummy"`, "start") + node1 + `
      </lrm_resources></lrm>
    </node_state>
    <node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member"/>
    ` + states + `
  </status>
</cib>`
}

func remoteState(name, history string) string {
	return fmt.Sprintf(`<node_state id="%s" uname="%s" remote_node="true"><lrm id="%s"><lrm_resources>%s
      </lrm_resources></lrm></node_state>`, name, name, name, history)
}

// TestRemoteAndGuestNodes checks Pacemaker Remote and guest node
// semantics (unpack.c, pcmk_sched_remote.c, pcmk_sched_fencing.c); every
// expected summary was produced by crm_simulate 2.1.5 from the same CIB.
func TestRemoteAndGuestNodes(t *testing.T) {
	const (
		dummy  = `class="ocf" provider="pacemaker" type="Dummy"`
		remote = `class="ocf" provider="pacemaker" type="remote"`
		vm     = `class="ocf" provider="heartbeat" type="VirtualDomain"`
	)
	remoteRscs := `<primitive id="remote1" ` + remote + `/><primitive id="rsc1" ` + dummy + `/>`
	guestRscs := `<primitive id="vm1" ` + vm + `><meta_attributes id="vm1-m">
        <nvpair id="vm1-m1" name="remote-node" value="guest1"/></meta_attributes></primitive>
      <primitive id="rsc1" ` + dummy + `/>`
	onRemote := `<rsc_location id="l1" rsc="rsc1" node="remote1" score="100"/>`
	onGuest := `<rsc_location id="l1" rsc="rsc1" node="guest1" score="100"/>`
	vmFailed := strings.Replace(lrmOp("vm1", vm, "start"), `</lrm_resource>`, `
          <lrm_rsc_op id="vm1_monitor_10000" operation_key="vm1_monitor_10000" operation="monitor"
            transition-key="3:1:0:x" transition-magic="0:1;3:1:0:x" call-id="3" rc-code="1" op-status="0"
            interval="10000" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/>
        </lrm_resource>`, 1)
	for _, tc := range []struct {
		name, resources, constraints, node1, states string
		want                                        []string
	}{
		{"a remote node comes online when its connection starts; its resources wait for it",
			remoteRscs, onRemote, "", "",
			[]string{"Move fencer ( node1 -> node2 )", "Start remote1 ( node1 )", "Start rsc1 ( remote1 )"}},
		{"a running connection keeps the remote node and its resources",
			remoteRscs, onRemote, lrmOp("remote1", remote, "start"), remoteState("remote1", lrmOp("rsc1", dummy, "start")),
			[]string{"Move fencer ( node1 -> node2 )"}},
		{"a guest's connection is added and colocated with its container",
			guestRscs, onGuest, "", "",
			[]string{"Move fencer ( node1 -> node2 )", "Start vm1 ( node1 )", "Start rsc1 ( guest1 )", "Start guest1 ( node1 )"}},
		{"a failed container fences its guest by recovery",
			guestRscs, onGuest, vmFailed + lrmOp("guest1", remote, "start"), remoteState("guest1", lrmOp("rsc1", dummy, "start")),
			[]string{"Fence (reboot) guest1 (resource: vm1) 'guest is unclean'", "Move fencer ( node1 -> node2 )",
				"Recover vm1 ( node1 )", "Recover rsc1 ( guest1 )",
				"Restart guest1 ( node1 ) due to required vm1 start"}},
		{"exclusive resource discovery bans every other node",
			`<primitive id="rsc1" ` + dummy + `/>`,
			`<rsc_location id="l1" rsc="rsc1" node="node1" score="-10" resource-discovery="exclusive"/>`, "", "",
			nil},
	} {
		cfg, st, err := cib.Parse(strings.NewReader(remoteCIB(tc.resources, tc.constraints, tc.node1, tc.states)))
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
			t.Errorf("%s:\ngot  %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
