package executor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/agents"
	"github.com/paceline/paceline/internal/agents/ocf"
	"github.com/paceline/paceline/internal/cib"
	"github.com/paceline/paceline/internal/plan"
	"github.com/paceline/paceline/internal/sched"
)

const heartbeatDummy = "/usr/lib/ocf/resource.d/heartbeat/Dummy"

// The real ocf:heartbeat:Dummy from Debian's resource-agents, unmodified,
// through the executor: start, monitor, stop, monitor.
func TestRealOCFDummy(t *testing.T) {
	if _, err := os.Stat(heartbeatDummy); err != nil {
		t.Skipf("SKIP: %s is absent; install Debian's resource-agents package (apt-get install -y resource-agents) to run this test", heartbeatDummy)
	}
	class, err := ocf.New(ocf.Config{RunDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := New(Config{Node: "n1", Agents: map[string]Agent{"ocf": class}})
	defer e.Close()
	dummy := agents.Type{Class: "ocf", Provider: "heartbeat", Name: "Dummy"}
	steps := []struct {
		op   string
		want agents.RC
	}{{"monitor", agents.RCNotRunning}, {"start", agents.RCOK}, {"monitor", agents.RCOK}, {"stop", agents.RCOK}, {"monitor", agents.RCNotRunning}}
	for _, s := range steps {
		id, err := e.Exec(Op{Resource: "web", Agent: dummy, Name: s.op, Timeout: 20 * time.Second,
			Params: map[string]string{"fake": "; rm -rf /tmp/x $(id)"}})
		if err != nil {
			t.Fatal(err)
		}
		r := recv(t, e)
		if r.Record.CallID != id || r.Record.RC != int(s.want) || r.Record.OpStatus != int(agents.StatusDone) {
			t.Fatalf("%s: rc %d status %d (%s), want rc %d; output:\n%s", s.op, r.Record.RC, r.Record.OpStatus, r.Record.ExitReason, s.want, r.Output)
		}
	}
}

const pacemakerStateful = "/usr/lib/ocf/resource.d/pacemaker/Stateful"

// statefulCIB is a promotable clone of ocf:pacemaker:Stateful with
// notify=true on two probed nodes, node2 with the higher promotion score.
const statefulCIB = `<cib validate-with="pacemaker-3.8" crm_feature_set="3.16.2" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="1">
  <configuration>
    <crm_config><cluster_property_set id="opts"><nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
    <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes>
    <resources>
      <clone id="db-clone">
        <meta_attributes id="m"><nvpair id="m1" name="promotable" value="true"/><nvpair id="m2" name="notify" value="true"/></meta_attributes>
        <primitive id="db" class="ocf" provider="pacemaker" type="Stateful">
          <instance_attributes id="p"><nvpair id="p1" name="envfile" value="ENVFILE"/></instance_attributes>
          <operations>
            <op id="db-m5" name="monitor" interval="5s" role="Promoted"/>
            <op id="db-m2" name="monitor" interval="2s" role="Unpromoted"/>
          </operations>
        </primitive>
      </clone>
    </resources>
    <constraints/>
  </configuration>
  <status>
    <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member">
      <transient_attributes id="1"><instance_attributes id="s1"><nvpair id="s1a" name="master-db" value="5"/></instance_attributes></transient_attributes>
      <lrm id="1"><lrm_resources><lrm_resource id="db" class="ocf" provider="pacemaker" type="Stateful">
        <lrm_rsc_op id="db_last_0" operation_key="db_monitor_0" operation="monitor" crm_feature_set="3.16.2" transition-key="1:1:7:x" transition-magic="0:7;1:1:7:x" call-id="1" rc-code="7" op-status="0" interval="0"/>
      </lrm_resource></lrm_resources></lrm>
    </node_state>
    <node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member">
      <transient_attributes id="2"><instance_attributes id="s2"><nvpair id="s2a" name="master-db" value="10"/></instance_attributes></transient_attributes>
      <lrm id="2"><lrm_resources><lrm_resource id="db" class="ocf" provider="pacemaker" type="Stateful">
        <lrm_rsc_op id="db_last_0" operation_key="db_monitor_0" operation="monitor" crm_feature_set="3.16.2" transition-key="2:1:7:x" transition-magic="0:7;2:1:7:x" call-id="2" rc-code="7" op-status="0" interval="0"/>
      </lrm_resource></lrm_resources></lrm>
    </node_state>
  </status>
</cib>`

// The real ocf:pacemaker:Stateful runs a plan's promotable clone start on
// two nodes (one executor each, with its own run directory): its envfile
// shows the post-start, pre-promote and post-promote notifications with
// the CRM_meta_notify_* lists filled in, the instance under its base id
// (OCF_RESOURCE_INSTANCE=db), and the promoted instance's Promoted monitor
// expects and gets 8.
func TestRealStatefulNotifications(t *testing.T) {
	if _, err := os.Stat(pacemakerStateful); err != nil {
		t.Skipf("SKIP: %s is absent; install Debian's pacemaker package (apt-get install -y pacemaker) to run this test", pacemakerStateful)
	}
	dir := t.TempDir()
	envfile := filepath.Join(dir, "envfile")
	cfg, st, err := cib.Parse(strings.NewReader(strings.ReplaceAll(statefulCIB, "ENVFILE", envfile)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := sched.Schedule(sched.Input{Config: cfg, Status: st, Now: time.Unix(1700000000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	p := plan.Build(plan.Input{Result: res, Config: cfg, Status: st})
	exs := map[string]*Executor{}
	for _, n := range []string{"node1", "node2"} {
		run := filepath.Join(dir, n)
		if err := os.MkdirAll(run, 0o755); err != nil {
			t.Fatal(err)
		}
		class, err := ocf.New(ocf.Config{RunDir: run, Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HA_VARRUN=" + run}})
		if err != nil {
			t.Fatal(err)
		}
		e, _ := New(Config{Node: n, Agents: map[string]Agent{"ocf": class}})
		defer e.Close()
		exs[n] = e
	}
	done := map[int]bool{}
	for !plan.Complete(p, done) {
		ready := plan.Ready(p, done)
		if len(ready) == 0 {
			t.Fatal("plan stuck")
		}
		for _, a := range ready {
			e := exs[a.Node]
			if _, err := e.Exec(Op{Resource: a.HistoryID, Agent: agents.Type{Class: a.Agent.Class, Provider: a.Agent.Provider, Name: a.Agent.Type},
				Name: a.Kind, Interval: a.Interval, Timeout: a.Timeout, Params: a.Params, Meta: a.Meta, TargetRC: a.TargetRC}); err != nil {
				t.Fatal(err)
			}
			r := recv(t, e)
			if r.Record.RC != a.TargetRC || r.Record.OpStatus != 0 {
				t.Fatalf("%s: rc %d status %d, want rc %d: %s", a.Key(), r.Record.RC, r.Record.OpStatus, a.TargetRC, r.Output)
			}
			if a.Interval > 0 {
				e.Cancel(a.HistoryID, a.Kind, a.Interval)
				recv(t, e) // the cancellation
			}
			done[a.ID] = true
		}
	}
	b, err := os.ReadFile(envfile)
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(b), "### ")
	seen := map[string]bool{}
	for _, blk := range blocks {
		if !strings.HasPrefix(blk, "notify ") {
			continue
		}
		env := map[string]string{}
		for _, l := range strings.Split(blk, "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				env[k] = v
			}
		}
		typ, op := env["OCF_RESKEY_CRM_meta_notify_type"], env["OCF_RESKEY_CRM_meta_notify_operation"]
		seen[typ+"-"+op+"@"+env["OCF_RESKEY_CRM_meta_on_node"]] = true
		for k, want := range map[string]string{
			"OCF_RESOURCE_INSTANCE":                        "db",
			"OCF_RESKEY_CRM_meta_notify_start_uname":       "node2 node1",
			"OCF_RESKEY_CRM_meta_notify_start_resource":    "db:0 db:1",
			"OCF_RESKEY_CRM_meta_notify_promote_uname":     "node2",
			"OCF_RESKEY_CRM_meta_notify_promote_resource":  "db:0",
			"OCF_RESKEY_CRM_meta_notify_inactive_resource": "db:0 db:1",
			"OCF_RESKEY_CRM_meta_clone_max":                "2",
			"OCF_RESKEY_CRM_meta_promoted_max":             "1",
			"OCF_RESKEY_CRM_meta_master_max":               "1",
			"OCF_RESKEY_CRM_meta_notify":                   "true",
			"OCF_RESKEY_CRM_meta_globally_unique":          "false",
		} {
			if env[k] != want {
				t.Errorf("%s-%s notification: %s=%q, want %q", typ, op, k, env[k], want)
			}
		}
	}
	for _, n := range []string{"node1", "node2"} {
		for _, w := range []string{"post-start", "pre-promote", "post-promote"} {
			if !seen[w+"@"+n] {
				t.Errorf("no %s notification on %s (saw %v)", w, n, seen)
			}
		}
	}
	state, _ := os.ReadFile(filepath.Join(dir, "node2", "Stateful-db.state"))
	if strings.TrimSpace(string(state)) != "Promoted" {
		t.Errorf("node2's state file says %q, want Promoted", state)
	}
}
