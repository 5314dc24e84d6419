package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// statefulYAML appends a promotable clone of ocf:pacemaker:Stateful with
// notify=true and role monitors to an exported configuration.
func statefulYAML(exported, envfile string) string {
	var keep []string
	for _, l := range strings.Split(exported, "\n") {
		if !strings.HasPrefix(l, "resources:") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n") + `
resources:
  - id: db-clone
    kind: clone
    meta:
      promotable: "true"
      notify: "true"
    children:
      - id: db
        kind: primitive
        class: ocf
        provider: pacemaker
        type: Stateful
        params:
          - name: envfile
            value: ` + envfile + `
        ops:
          - name: monitor
            interval: 2s
            role: Promoted
            timeout: 20s
          - name: monitor
            interval: 3s
            role: Unpromoted
            timeout: 20s
`
}

// statefulRoles reads each node's Stateful state file (HA_VARRUN is the
// agent's run directory): node name to Promoted or Unpromoted.
func statefulRoles(c *Cluster) map[string]string {
	out := map[string]string{}
	for i := range c.Net.Hosts {
		n := NodeName(i)
		b, err := c.Host(n).ReadFile(RunDir(n) + "/ocf/Stateful-db.state")
		if err == nil {
			out[n] = strings.TrimSpace(string(b))
		}
	}
	return out
}

func oneOf(m map[string]string, v string) (node string, n int) {
	for k, x := range m {
		if x == v {
			node, n = k, n+1
		}
	}
	return node, n
}

// Issue 10: the real ocf:pacemaker:Stateful as a promotable clone with
// notifications on three namespace hosts: one instance is promoted and two
// run unpromoted (the agents' state files say so); Stateful's envfile
// shows the post-start, pre-promote and post-promote notifications with
// the notify variables filled in; when the promoted instance's state file
// is removed, its Promoted monitor (expecting 8) detects it and the clone
// is recovered to one promoted and two unpromoted instances.
func TestStatefulPromotableClone(t *testing.T) {
	if _, err := os.Stat("/usr/lib/ocf/resource.d/pacemaker/Stateful"); err != nil {
		t.Skip("pacemaker's ocf:pacemaker:Stateful is not installed; apt-get install pacemaker")
	}
	n := NewNet(t, 3)
	c := NewCluster(t, n)
	envfile := filepath.Join(t.TempDir(), "envfile")
	cfgFile := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgFile, []byte(statefulYAML(c.Must("config", "export"), envfile)), 0o644); err != nil {
		t.Fatal(err)
	}
	c.Must("config", "apply", "-f", cfgFile)
	settled := func(what string) map[string]string {
		var rs map[string]string
		deadline := time.Now().Add(60 * time.Second)
		for ; time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			rs = statefulRoles(c)
			_, p := oneOf(rs, "Promoted")
			_, u := oneOf(rs, "Unpromoted")
			if p == 1 && u == 2 {
				return rs
			}
		}
		t.Fatalf("%s: state files say %v, want one Promoted and two Unpromoted", what, rs)
		return nil
	}
	started := time.Now()
	rs := settled("start")
	t.Logf("Stateful: 1 Promoted + 2 Unpromoted after %v", time.Since(started).Round(10*time.Millisecond))

	// The post-promote notification may still be on its way.
	var seen map[string]bool
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if seen = notifications(t, envfile); seen["post-start"] && seen["pre-promote"] && seen["post-promote"] {
			break
		}
	}
	for _, w := range []string{"post-start", "pre-promote", "post-promote"} {
		if !seen[w] {
			t.Errorf("Stateful's envfile shows no %s notification (saw %v)", w, seen)
		}
	}

	p, _ := oneOf(rs, "Promoted")
	failed := time.Now()
	if err := c.Host(p).Remove(RunDir(p) + "/ocf/Stateful-db.state"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for ; time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if nodeAttrs(t, c)[p]["fail-count-db#monitor_2000"] != "" {
			break
		}
	}
	if v := nodeAttrs(t, c)[p]["fail-count-db#monitor_2000"]; v == "" {
		t.Fatalf("the Promoted monitor's failure on %s was not recorded", p)
	}
	settled("recovery")
	t.Logf("Stateful: the promoted instance's failure on %s detected and recovered in %v", p, time.Since(failed).Round(10*time.Millisecond))
}

// notifications reads Stateful's envfile: the type-operation of every
// notification it shows, each checked for the variables Pacemaker fills in.
func notifications(t *testing.T, envfile string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	b, err := os.ReadFile(envfile)
	if err != nil {
		return seen
	}
	for _, blk := range strings.Split(string(b), "### ") {
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
		seen[typ+"-"+op] = true
		if env["OCF_RESOURCE_INSTANCE"] != "db" || env["OCF_RESKEY_CRM_meta_clone_max"] != "3" || env["OCF_RESKEY_CRM_meta_notify"] != "true" {
			t.Errorf("%s-%s notification: instance %q clone_max %q notify %q", typ, op, env["OCF_RESOURCE_INSTANCE"],
				env["OCF_RESKEY_CRM_meta_clone_max"], env["OCF_RESKEY_CRM_meta_notify"])
		}
		if op == "start" && len(strings.Fields(env["OCF_RESKEY_CRM_meta_notify_start_uname"])) == 0 {
			t.Errorf("%s-start notification without notify_start_uname", typ)
		}
		if op == "promote" && len(strings.Fields(env["OCF_RESKEY_CRM_meta_notify_promote_uname"])) != 1 {
			t.Errorf("%s-promote notification: notify_promote_uname %q", typ, env["OCF_RESKEY_CRM_meta_notify_promote_uname"])
		}
	}
	return seen
}

// Issue 10, part 3: a running ocf:heartbeat:Dummy whose reloadable
// parameter (fake: not unique, and Dummy has the legacy reload) changes
// is reloaded in place, its state file untouched; a change of its
// non-reloadable state parameter restarts it: the stop runs with the
// parameters it was started with (the old state file goes), the start
// with the new ones.
func TestOCFDummyParameterChange(t *testing.T) {
	if _, err := os.Stat("/usr/lib/ocf/resource.d/heartbeat/Dummy"); err != nil {
		t.Skip("resource-agents is not installed (no ocf:heartbeat:Dummy); apt-get install resource-agents")
	}
	n := NewNet(t, 3)
	c := NewCluster(t, n)
	dir := t.TempDir()
	first, second := filepath.Join(dir, "d-1.state"), filepath.Join(dir, "d-2.state")
	c.Must("resource", "create", "d", "ocf:heartbeat:Dummy", "state="+first, "fake=a", "--op", "monitor", "interval=2s")
	st := c.WaitStatus(nil, "d Started", 30*time.Second, func(st *Status) bool {
		role, nodes := st.Resource("d")
		return role == "Started" && len(nodes) == 1
	})
	_, on := st.Resource("d")
	inode := func(path string) uint64 {
		fi, err := os.Stat(path)
		if err != nil {
			return 0
		}
		return statIno(fi)
	}
	was := inode(first)
	if was == 0 {
		t.Fatalf("d is Started on %s but %s is missing", on[0], first)
	}

	c.Must("resource", "update", "d", "fake=b")
	time.Sleep(6 * time.Second) // three monitor intervals
	if now := inode(first); now != was {
		t.Fatalf("after a reloadable change d's state file changed (inode %d -> %d): d was restarted, not reloaded", was, now)
	}
	if role, nodes := c.WaitStatus(nil, "d Started", 10*time.Second, func(st *Status) bool {
		role, _ := st.Resource("d")
		return role == "Started"
	}).Resource("d"); role != "Started" || len(nodes) != 1 || nodes[0] != on[0] {
		t.Fatalf("after a reloadable change d is %s on %v, want Started on %s", role, nodes, on[0])
	}

	c.Must("resource", "update", "d", "state="+second)
	deadline := time.Now().Add(30 * time.Second)
	for ; time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if inode(second) != 0 && inode(first) == 0 {
			break
		}
	}
	if inode(second) == 0 || inode(first) != 0 {
		t.Fatalf("after a change of state: %s exists=%v, %s exists=%v; want a restart (stop with the old state, start with the new)",
			first, inode(first) != 0, second, inode(second) != 0)
	}
}
