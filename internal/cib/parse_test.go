package cib

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/model"
)

// cib wraps configuration sections and a status section into a document.
func cib(rootAttrs, config, status string) string {
	return `<?xml version="1.0"?>
<cib validate-with="pacemaker-3.7" ` + rootAttrs + `>
  <configuration>
    <crm_config/>
    <nodes>
      <node id="1" uname="node1"/>
      <node id="2" uname="node2" type="member"/>
    </nodes>
    ` + config + `
  </configuration>
  <status>` + status + `</status>
</cib>`
}

func mustParse(t *testing.T, doc string) (*model.Config, *model.Status) {
	t.Helper()
	cfg, st, err := Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg, st
}

func TestIDRef(t *testing.T) {
	cfg, _ := mustParse(t, cib("", `
    <resources>
      <primitive id="a" class="ocf" provider="heartbeat" type="Dummy">
        <instance_attributes id="a-ia">
          <nvpair id="a-ia-x" name="x" value="1"/>
        </instance_attributes>
        <meta_attributes id="shared-meta">
          <nvpair id="shared-meta-ts" name="target-role" value="Stopped"/>
        </meta_attributes>
        <operations id="shared-ops">
          <op id="mon" name="monitor" interval="10s"/>
        </operations>
      </primitive>
      <primitive id="b" class="ocf" provider="heartbeat" type="Dummy">
        <instance_attributes id="b-ia">
          <nvpair id-ref="a-ia-x"/>
          <nvpair id-ref="a-ia-x" name="y"/>
          <nvpair id-ref="a-ia-x" name="z" value="3"/>
        </instance_attributes>
        <meta_attributes id-ref="shared-meta"/>
        <operations id-ref="shared-ops"/>
      </primitive>
    </resources>
    <constraints>
      <rsc_location id="l1" rsc="a">
        <rule id="r1" score="100"><expression id="e1" attribute="site" operation="eq" value="x"/></rule>
      </rsc_location>
      <rsc_location id="l2" rsc="b"><rule id-ref="r1"/></rsc_location>
    </constraints>`, ""))
	b := findRes(cfg.Resources, "b")
	want := []model.NV{{Name: "x", Value: "1"}, {Name: "y", Value: "1"}, {Name: "z", Value: "3"}}
	if !slices.Equal(b.Params, want) {
		t.Errorf("params = %v, want %v", b.Params, want)
	}
	if b.Meta["target-role"] != "Stopped" {
		t.Errorf("meta = %v", b.Meta)
	}
	if len(b.Ops) != 1 || b.Ops[0].Interval != 10*time.Second {
		t.Errorf("ops = %+v", b.Ops)
	}
	l2 := cfg.Locations[1]
	if len(l2.Rules) != 1 || l2.Rules[0].ID != "r1" || l2.Rules[0].Score != 100 || !l2.Rules[0].HasScore {
		t.Errorf("l2 rules = %+v", l2.Rules)
	}
}

func TestIDRefMissing(t *testing.T) {
	_, _, err := Parse(strings.NewReader(cib("", `
    <resources>
      <primitive id="a" class="ocf" provider="heartbeat" type="Dummy">
        <instance_attributes id="a-ia"><nvpair id-ref="nope"/></instance_attributes>
      </primitive>
    </resources>`, "")))
	var ae *AttrError
	if !errors.As(err, &ae) || ae.Attr != "id-ref" || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestMasterIsPromotableClone(t *testing.T) {
	cfg, _ := mustParse(t, cib("", `
    <resources>
      <master id="ms">
        <meta_attributes id="ms-m"><nvpair id="ms-m-1" name="clone-max" value="2"/></meta_attributes>
        <primitive id="db" class="ocf" provider="pacemaker" type="Stateful">
          <operations>
            <op id="db-mon-m" name="monitor" interval="10" role="Master"/>
            <op id="db-mon-s" name="monitor" interval="11" role="Slave" enabled="false" record-pending="true"/>
          </operations>
        </primitive>
      </master>
      <clone id="c"><group id="g">
        <primitive id="g1" class="systemd" type="nginx"/>
        <primitive id="g2" class="ocf" provider="heartbeat" type="IPaddr2"/>
      </group></clone>
    </resources>`, ""))
	ms := cfg.Resources[0]
	if ms.Kind != model.KindClone || ms.Meta["promotable"] != "true" || ms.Meta["clone-max"] != "2" {
		t.Fatalf("ms = %+v", ms)
	}
	db := ms.Children[0]
	if db.Ops[0].Role != "Promoted" || db.Ops[1].Role != "Unpromoted" {
		t.Errorf("op roles = %q, %q", db.Ops[0].Role, db.Ops[1].Role)
	}
	if db.Ops[1].IsEnabled() || db.Ops[1].Meta["record-pending"] != "true" || db.Ops[1].Interval != 11*time.Second {
		t.Errorf("op = %+v", db.Ops[1])
	}
	c := cfg.Resources[1]
	if c.Meta["promotable"] != "" || c.Children[0].Kind != model.KindGroup || len(c.Children[0].Children) != 2 {
		t.Errorf("clone = %+v", c)
	}
	if g1 := c.Children[0].Children[0]; g1.Agent() != "systemd:nginx" {
		t.Errorf("g1 agent = %q", g1.Agent())
	}
}

func TestRoleNormalisation(t *testing.T) {
	cfg, _ := mustParse(t, cib("", `
    <resources><primitive id="a" class="ocf" provider="heartbeat" type="Dummy"/>
      <primitive id="b" class="ocf" provider="heartbeat" type="Dummy"/></resources>
    <constraints>
      <rsc_location id="l" rsc="a" node="node1" score="-INFINITY" role="Master"/>
      <rsc_location id="l2" rsc="a"><rule id="r" score="5" role="Slave">
        <expression id="e" attribute="#uname" operation="eq" value="node2"/></rule></rsc_location>
      <rsc_colocation id="c" rsc="a" with-rsc="b" score="INFINITY" rsc-role="Slave" with-rsc-role="Master"/>
      <rsc_colocation id="cs" score="10">
        <resource_set id="s1" role="Master" sequential="false"><resource_ref id="a"/><resource_ref id="b"/></resource_set>
      </rsc_colocation>
      <rsc_order id="o" first="a" first-action="promote" then="b" then-action="start" kind="Optional" symmetrical="false" require-all="false"/>
    </constraints>`, ""))
	if l := cfg.Locations[0]; l.Role != "Promoted" || l.Score != -model.Infinity || l.Node != "node1" {
		t.Errorf("location = %+v", l)
	}
	if r := cfg.Locations[1].Rules[0]; r.Role != "Unpromoted" {
		t.Errorf("rule role = %q", r.Role)
	}
	if c := cfg.Colocations[0]; c.Role != "Unpromoted" || c.WithRole != "Promoted" || c.Score != model.Infinity {
		t.Errorf("colocation = %+v", c)
	}
	s := cfg.Colocations[1].Sets[0]
	if s.Role != "Promoted" || s.Sequential == nil || *s.Sequential || !slices.Equal(s.Resources, []string{"a", "b"}) {
		t.Errorf("set = %+v", s)
	}
	o := cfg.Orders[0]
	if o.Kind != "Optional" || o.FirstAction != "promote" || o.Symmetrical == nil || *o.Symmetrical ||
		o.RequireAll == nil || *o.RequireAll || o.Score != nil {
		t.Errorf("order = %+v", o)
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"10s", 10 * time.Second, true},
		{"60", time.Minute, true},
		{"0", 0, true},
		{"1min", time.Minute, true},
		{"5m", 5 * time.Minute, true},
		{"2h", 2 * time.Hour, true},
		{"500ms", 500 * time.Millisecond, true},
		{"500 msec", 500 * time.Millisecond, true},
		{"1.5s", time.Second, true},
		{"PT10S", 10 * time.Second, true},
		{"P40S", 40 * time.Second, true},
		{"PT1H30M", 90 * time.Minute, true},
		{"P1D", 24 * time.Hour, true},
		{"", 0, false},
		{"bad", 0, false},
		{"10x", 0, false},
		{"-5s", 0, false},
		{"P", 0, false},
		{"PT", 0, false},
		{"P1X", 0, false},
		{"99999999999999999999", 0, false},
		{"9999999999999999h", 0, false},
	} {
		got, err := ParseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestUnsupported(t *testing.T) {
	for _, tc := range []struct {
		name, config, want, element string
	}{
		{"op meta rule", `<resources><primitive id="p" class="ocf" provider="pacemaker" type="Dummy">
			<operations><op id="m" name="monitor" interval="10s"><meta_attributes id="x"><rule id="r" score="0"/>
			<nvpair id="x1" name="a" value="b"/></meta_attributes></op></operations></primitive></resources>`,
			"meta_attributes 'x' with a rule is not supported", "meta_attributes"},
	} {
		_, _, err := Parse(strings.NewReader(cib("", tc.config, "")))
		var ue *UnsupportedError
		if !errors.As(err, &ue) || err.Error() != tc.want || ue.Element != tc.element {
			t.Errorf("%s: err = %v (%#v), want %q", tc.name, err, ue, tc.want)
		}
	}
}

func TestMalformed(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"empty", "", "no root element"},
		{"truncated", `<cib><configuration>`, "unexpected end"},
		{"mismatch", `<cib><configuration></cib>`, "malformed XML"},
		{"not cib", `<foo/>`, "want <cib>"},
		{"no configuration", `<cib/>`, "no <configuration>"},
		{"two roots", `<cib><configuration/></cib><cib/>`, "more than one root"},
		{"garbage", `<cib a="1" a="2"><configuration/></cib> trailing`, "malformed XML"},
		{"colocation without with-rsc",
			cib("", `<constraints><rsc_colocation id="c1" rsc="a" score="1"/></constraints>`, ""),
			`rsc_colocation 'c1': missing attribute "with-rsc"`},
		{"order without then",
			cib("", `<constraints><rsc_order id="o1" first="a"/></constraints>`, ""),
			`rsc_order 'o1': missing attribute "then"`},
		{"primitive without class",
			cib("", `<resources><primitive id="p" type="Dummy"/></resources>`, ""),
			`primitive 'p': missing attribute "class"`},
		{"bad score",
			cib("", `<constraints><rsc_location id="l" rsc="a" node="node1" score="lots"/></constraints>`, ""),
			`rsc_location 'l': attribute "score": score "lots" is not a number or INFINITY`},
		{"bad interval",
			cib("", `<resources><primitive id="p" class="ocf" provider="x" type="y"><operations>
				<op id="m" name="monitor" interval="often"/></operations></primitive></resources>`, ""),
			`op 'm': attribute "interval": invalid duration "often"`},
		{"bad transition key",
			cib("", "", `<node_state id="1" uname="node1"><lrm><lrm_resources><lrm_resource id="a">
				<lrm_rsc_op id="a_start_0" operation="start" transition-key="x:y"/></lrm_resource></lrm_resources></lrm></node_state>`),
			`lrm_rsc_op 'a_start_0': attribute "transition-key"`},
		{"rule id-ref loop",
			cib("", `<constraints><rsc_location id="l" rsc="a"><rule id="r" score="1"><rule id-ref="r"/></rule></rsc_location></constraints>`, ""),
			"nested more than"},
		{"order kind is normalised, not refused",
			cib("", `<constraints><rsc_order id="o" first="a" then="b" kind="foo"/><rsc_order id="o1" first="a"/></constraints>`, ""),
			`rsc_order 'o1'`},
		{"empty group",
			cib("", `<resources><group id="g"/></resources>`, ""), "group 'g': no members"},
	} {
		_, _, err := Parse(strings.NewReader(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

// Remote nodes (in <nodes> or as ocf:pacemaker:remote primitives) and
// guest nodes (meta remote-node) are imported as configured.
func TestRemoteAndGuestNodes(t *testing.T) {
	doc := strings.Replace(cib("", `<resources>
      <primitive id="r1" class="ocf" provider="pacemaker" type="remote">
        <instance_attributes id="r1-i"><nvpair id="r1-i1" name="server" value="10.0.0.1"/>
          <nvpair id="r1-i2" name="reconnect_interval" value="60s"/></instance_attributes></primitive>
      <primitive id="vm" class="ocf" provider="heartbeat" type="VirtualDomain">
        <meta_attributes id="vm-m"><nvpair id="vm-m-1" name="remote-node" value="guest1"/>
          <nvpair id="vm-m-2" name="remote-port" value="3121"/></meta_attributes></primitive>
    </resources>`, ""), `<node id="2" uname="node2" type="member"/>`, `<node id="r1" uname="r1" type="remote"/>`, 1)
	cfg, _ := mustParse(t, doc)
	if cfg.Nodes[1].Type != model.NodeRemote {
		t.Errorf("node r1 type = %q", cfg.Nodes[1].Type)
	}
	r := cfg.Resources[0]
	if r.Agent() != "ocf:pacemaker:remote" || len(r.Params) != 2 || r.Params[1].Value != "60s" {
		t.Errorf("connection = %+v", r)
	}
	if g := cfg.Resources[1]; g.Meta["remote-node"] != "guest1" || g.Meta["remote-port"] != "3121" {
		t.Errorf("guest = %+v", g)
	}
}

func TestStatus(t *testing.T) {
	_, st := mustParse(t, cib(`have-quorum="true" dc-uuid="2" execution-date="1600000000"`, "", `
    <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member">
      <transient_attributes id="1"><instance_attributes id="status-1">
        <nvpair id="s1" name="fail-count-a#monitor_10000" value="2"/>
      </instance_attributes></transient_attributes>
      <lrm id="1"><lrm_resources>
        <lrm_resource id="a" class="ocf" provider="heartbeat" type="Dummy">
          <lrm_rsc_op id="a_last_0" operation="migrate_to" interval="0" call-id="7" rc-code="1" op-status="4"
            transition-key="3:12:0:0fd8d6a8-2cd0-4a9b-a2b1-2ab9e5aa2c2e" last-run="1599999990"
            last-rc-change="1599999991" exec-time="20" op-digest="d1" op-restart-digest="d2"
            op-secure-digest="d3" op-force-restart=" state " migrate_source="node1" migrate_target="node2"
            exit-reason="oops"/>
          <lrm_rsc_op id="a_monitor_10000" operation="monitor" interval="10000" call-id="8" rc-code="0" op-status="0"/>
        </lrm_resource>
      </lrm_resources></lrm>
    </node_state>
    <node_state id="2" in_ccm="false" crmd="offline" join="down" expected="down"/>
    <node_state id="99" in_ccm="false"/>
    <node_state id="r1" uname="r1" remote_node="true" node_fenced="1"/>`))
	if !st.HaveQuorum || st.DC != "node2" || !st.Now.Equal(time.Unix(1600000000, 0)) {
		t.Errorf("quorum %v, DC %q, now %v", st.HaveQuorum, st.DC, st.Now)
	}
	if len(st.Nodes) != 3 || st.Nodes[1].Name != "node2" || st.Nodes[1].Join != "down" {
		t.Fatalf("nodes = %+v", st.Nodes)
	}
	if r := st.Nodes[2]; r.Name != "r1" || !r.Remote || !r.RemoteFenced || st.Nodes[0].Remote {
		t.Errorf("remote node state = %+v", r)
	}
	n := st.Nodes[0]
	if n.InCluster != "true" || n.Peer != "online" || n.Attributes["fail-count-a#monitor_10000"] != "2" {
		t.Errorf("node1 = %+v", n)
	}
	want := model.OpRecord{ID: "a_last_0", Operation: "migrate_to", CallID: 7, RC: 1, OpStatus: 4,
		TransitionKey: "3:12:0:0fd8d6a8-2cd0-4a9b-a2b1-2ab9e5aa2c2e", LastRun: 1599999990,
		LastRCChange: 1599999991, ExecTime: 20, Digest: "d1", RestartDigest: "d2", SecureDigest: "d3",
		ForceRestart: " state ", MigrateSource: "node1", MigrateTarget: "node2", ExitReason: "oops"}
	h := n.Resources[0]
	if h.ID != "a" || h.Class != "ocf" || h.Provider != "heartbeat" || h.Type != "Dummy" || h.Ops[0] != want {
		t.Errorf("history = %+v\nwant op %+v", h, want)
	}
	if op := h.Ops[1]; op.Interval != 10000 || op.TargetRC != 0 || op.CallID != 8 {
		t.Errorf("monitor = %+v", op)
	}
}

func TestPropertiesAndDefaults(t *testing.T) {
	doc := strings.Replace(cib("", `
    <rsc_defaults><meta_attributes id="rd"><nvpair id="rd1" name="resource-stickiness" value="100"/></meta_attributes></rsc_defaults>
    <op_defaults><meta_attributes id="od"><nvpair id="od1" name="timeout" value="30s"/></meta_attributes></op_defaults>`, ""),
		`<crm_config/>`, `<crm_config>
      <cluster_property_set id="other" score="100"><nvpair id="o1" name="stonith-enabled" value="false"/>
        <nvpair id="o2" name="symmetric-cluster" value="false"/></cluster_property_set>
      <cluster_property_set id="cib-bootstrap-options"><nvpair id="b1" name="stonith-enabled" value="true"/>
        <nvpair id="b2" name="stonith-enabled" value="ignored"/></cluster_property_set>
    </crm_config>`, 1)
	cfg, _ := mustParse(t, doc)
	want := map[string]string{"stonith-enabled": "true", "symmetric-cluster": "false"}
	if len(cfg.Properties) != 2 || cfg.Properties["stonith-enabled"] != "true" || cfg.Properties["symmetric-cluster"] != "false" {
		t.Errorf("properties = %v, want %v", cfg.Properties, want)
	}
	if cfg.RscDefaults["resource-stickiness"] != "100" || cfg.OpDefaults["timeout"] != "30s" {
		t.Errorf("defaults = %v %v", cfg.RscDefaults, cfg.OpDefaults)
	}
	if n := cfg.Nodes[0]; n.Name != "node1" || n.ID != "1" || n.Type != model.NodeMember {
		t.Errorf("node = %+v", n)
	}
}

// FuzzParse checks that no input makes Parse panic.
func FuzzParse(f *testing.F) {
	f.Add(cib(`have-quorum="1"`, `<resources><primitive id="a" class="ocf" provider="x" type="y"/></resources>`, ""))
	f.Add(`<cib><configuration><resources><nvpair id-ref="x"/></resources></configuration></cib>`)
	f.Add(`<cib><configuration><constraints><rsc_location id="l"><rule id-ref="l"/></rsc_location></constraints></configuration></cib>`)
	f.Add(`<cib><configuration><resources><clone id="c"/></resources></configuration></cib>`)
	f.Add(`<cib><configuration><constraints><rsc_location id="l" rsc="a"><rule id="r"><rule id-ref="r"/></rule></rsc_location></constraints></configuration></cib>`)
	f.Fuzz(func(t *testing.T, doc string) {
		Parse(strings.NewReader(doc))
	})
}

// Hostile XML is refused before it is expanded or built: entity
// declarations (the "billion laughs"), external entities and deep nesting.
func TestHostileXMLRefused(t *testing.T) {
	laughs := `<?xml version="1.0"?>
<!DOCTYPE cib [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<cib><configuration><crm_config><cluster_property_set id="o"><nvpair id="n" name="x" value="&lol3;"/></cluster_property_set></crm_config></configuration></cib>`
	external := `<!DOCTYPE cib [<!ENTITY x SYSTEM "file:///etc/shadow">]><cib><configuration/></cib>`
	deep := "<cib><configuration>" + strings.Repeat("<a>", 300) + strings.Repeat("</a>", 300) + "</configuration></cib>"
	undeclared := `<cib><configuration><crm_config><cluster_property_set id="o"><nvpair id="n" name="x" value="&lol;"/></cluster_property_set></crm_config></configuration></cib>`
	for name, doc := range map[string]string{"billion laughs": laughs, "external entity": external, "deep": deep} {
		_, _, err := Parse(strings.NewReader(doc))
		if !errors.Is(err, ErrInputLimit) {
			t.Errorf("%s: %v, want ErrInputLimit", name, err)
		}
	}
	if _, _, err := Parse(strings.NewReader(undeclared)); err == nil || !strings.Contains(err.Error(), "entity") {
		t.Errorf("undeclared entity: %v, want a refusal naming the entity", err)
	}
}
