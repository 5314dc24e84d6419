package cib

import (
	"testing"
)

// Attribute-set precedence as in Pacemaker 2.1.5: among equal scores the
// last set in the document wins for meta and instance attributes (sets
// are prepended, then sorted stably by score), while an operation's
// meta_attributes are merged overwriting, so there the first set of
// equal score wins and a lower score beats a higher one (checked with
// crm_simulate on the CRM_meta_timeout of a recurring monitor).
func TestSetPrecedence(t *testing.T) {
	cfg, _ := mustParse(t, cib("", `
    <resources>
      <primitive id="p" class="ocf" provider="pacemaker" type="Dummy">
        <meta_attributes id="m1"><nvpair id="m1-1" name="target-role" value="Stopped"/></meta_attributes>
        <meta_attributes id="m2"><nvpair id="m2-1" name="target-role" value="Started"/></meta_attributes>
        <meta_attributes id="m3" score="-1"><nvpair id="m3-1" name="target-role" value="Slave"/></meta_attributes>
        <operations>
          <op id="eq" name="monitor" interval="10s">
            <meta_attributes id="e1"><nvpair id="e1-1" name="timeout" value="10s"/></meta_attributes>
            <meta_attributes id="e2"><nvpair id="e2-1" name="timeout" value="30s"/></meta_attributes>
          </op>
          <op id="sc" name="monitor" interval="20s">
            <meta_attributes id="s1" score="10"><nvpair id="s1-1" name="timeout" value="10s"/></meta_attributes>
            <meta_attributes id="s2" score="5"><nvpair id="s2-1" name="timeout" value="30s"/></meta_attributes>
          </op>
        </operations>
      </primitive>
    </resources>`, ""))
	p := cfg.Resources[0]
	if got := p.Meta["target-role"]; got != "Started" {
		t.Errorf("target-role = %q, want Started (the later of two equal sets)", got)
	}
	for _, tc := range []struct {
		op   int
		want string
	}{{0, "10s"}, {1, "30s"}} {
		if got := p.Ops[tc.op].Timeout.String(); got != tc.want {
			t.Errorf("op %s timeout = %s, want %s", p.Ops[tc.op].ID, got, tc.want)
		}
	}
}

// Sets with rules are kept, with every other set of their kind, in
// document order for the scheduler; the maps hold only what the sets
// without a rule give.
func TestRuleSetsKept(t *testing.T) {
	cfg, _ := mustParse(t, cib("", `
    <rsc_defaults>
      <meta_attributes id="plain"><nvpair id="p1" name="resource-stickiness" value="1"/></meta_attributes>
      <meta_attributes id="dummies" score="10">
        <rule id="r" score="INFINITY"><rsc_expression id="re" class="ocf" provider="pacemaker" type="Dummy"/></rule>
        <nvpair id="d1" name="is-managed" value="false"/>
      </meta_attributes>
    </rsc_defaults>
    <op_defaults>
      <meta_attributes id="mon">
        <rule id="r2" score="INFINITY"><op_expression id="oe" name="monitor" interval="10s"/></rule>
        <nvpair id="o1" name="timeout" value="8s"/>
      </meta_attributes>
    </op_defaults>`, ""))
	if len(cfg.RscDefaultSets) != 2 || cfg.RscDefaultSets[0].ID != "plain" || cfg.RscDefaultSets[1].Rule == nil {
		t.Fatalf("rsc default sets = %+v, want plain then dummies with its rule", cfg.RscDefaultSets)
	}
	if a := cfg.RscDefaultSets[1].Rule.Agents; len(a) != 1 || a[0].Type != "Dummy" || a[0].Provider != "pacemaker" {
		t.Errorf("agents = %+v", a)
	}
	if len(cfg.RscDefaults) != 1 || cfg.RscDefaults["resource-stickiness"] != "1" {
		t.Errorf("rsc defaults = %v, want only the unconditional stickiness", cfg.RscDefaults)
	}
	if len(cfg.OpDefaultSets) != 1 || len(cfg.OpDefaultSets[0].Rule.Operations) != 1 ||
		cfg.OpDefaultSets[0].Rule.Operations[0].Interval != "10s" || cfg.OpDefaults != nil {
		t.Errorf("op defaults = %v, sets %+v", cfg.OpDefaults, cfg.OpDefaultSets)
	}
}
