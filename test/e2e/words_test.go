package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// instancesOf returns the nodes of id's instances by role, from status.
func instancesOf(st *Status, id string) map[string][]string {
	out := map[string][]string{}
	for _, r := range st.Resources {
		if r.ID == id {
			for _, in := range r.Instances {
				out[in.Role] = append(out[in.Role], in.Node)
			}
		}
	}
	for _, ns := range out {
		slices.Sort(ns)
	}
	return out
}

// dummyOn returns the nodes whose run directory holds the state file of
// ocf:heartbeat:Dummy instance id (the agent's own record that it runs).
func dummyOn(c *Cluster, id string) []string {
	var on []string
	for i := range c.Net.Hosts {
		n := NodeName(i)
		if _, err := c.Host(n).ReadFile(RunDir(n) + "/ocf/Dummy-" + id + ".state"); err == nil {
			on = append(on, n)
		}
	}
	return on
}

// Issue 10, as a new user builds it with the CLI words alone, on three
// namespace hosts with default timings: ocf:pacemaker:Stateful as db
// (promotable, notify=true, a monitor per role), a group app of two
// ocf:heartbeat:Dummy colocated with db-clone's promoted instance and
// ordered after its promotion, and api, a Dummy cloned twice. Status and
// the agents' own state files agree at each step: 1 Promoted + 2
// Unpromoted, app on the promoted node, api on exactly two nodes. A
// promoted instance whose state file is removed is detected by its
// Promoted monitor and recovered; when every process of the promoted
// node's host is killed, another node is promoted and app moves there;
// Stateful's envfile shows pre and post notifications of start and
// promote with the notify variables filled in.
func TestIssue10PromotableGroupCloneWithCLIWords(t *testing.T) {
	for _, a := range []string{"pacemaker/Stateful", "heartbeat/Dummy"} {
		if _, err := os.Stat("/usr/lib/ocf/resource.d/" + a); err != nil {
			t.Skipf("ocf:%s is not installed (apt-get install pacemaker resource-agents)", strings.ReplaceAll(a, "/", ":"))
		}
	}
	n := NewNet(t, 3)
	c := NewCluster(t, n)
	envfile := filepath.Join(t.TempDir(), "envfile")
	if err := os.WriteFile(envfile, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	c.Must("resource", "create", "db", "ocf:pacemaker:Stateful", "envfile="+envfile, "--promotable", "notify=true",
		"--op", "monitor", "interval=5s", "role=Promoted", "--op", "monitor", "interval=2s", "role=Unpromoted")
	c.Must("resource", "create", "app1", "ocf:heartbeat:Dummy", "--group", "app")
	c.Must("resource", "create", "app2", "ocf:heartbeat:Dummy", "--group", "app")
	c.Must("constraint", "add", "colocation", "app-with-db", "app", "db-clone", "INFINITY", "--with-role", "Promoted")
	c.Must("constraint", "add", "order", "db-then-app", "db-clone", "app", "--first-action", "promote")
	c.Must("resource", "create", "api", "ocf:heartbeat:Dummy", "--clone", "clone-max=2")

	// settled waits until status and the state files agree on the
	// configuration running as it should, on the nodes given (all when
	// nil), and returns the promoted node.
	settled := func(what string, limit time.Duration, nodes []string) string {
		t.Helper()
		var last string
		deadline := time.Now().Add(limit)
		for ; time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			st, err := c.Status()
			if err != nil {
				last = err.Error()
				continue
			}
			in := instancesOf(st, "db")
			files := statefulRoles(c)
			switch {
			case len(in["Promoted"]) != 1 || len(in["Unpromoted"]) != len(nodes)-1:
				last = "db instances " + strings.Join(in["Promoted"], ",") + " / " + strings.Join(in["Unpromoted"], ",")
				continue
			}
			p := in["Promoted"][0]
			if files[p] != "Promoted" {
				last = "status says " + p + " is promoted, its state file says " + files[p]
				continue
			}
			ok := true
			for _, u := range in["Unpromoted"] {
				ok = ok && files[u] == "Unpromoted"
			}
			if !ok {
				last = "unpromoted state files disagree: " + strings.Join(in["Unpromoted"], ",")
				continue
			}
			if a1, a2 := dummyOn(c, "app1"), dummyOn(c, "app2"); !slices.Equal(a1, []string{p}) || !slices.Equal(a2, []string{p}) {
				last = "app's Dummies on " + strings.Join(a1, ",") + " / " + strings.Join(a2, ",") + ", not on the promoted " + p
				continue
			}
			if r, on := st.Resource("app1"); r != "Started" || !slices.Equal(on, []string{p}) {
				last = "status: app1 " + r + " on " + strings.Join(on, ",")
				continue
			}
			api := instancesOf(st, "api")
			if len(api["Started"]) != 2 || !slices.Equal(api["Started"], dummyOn(c, "api")) {
				last = "api Started on " + strings.Join(api["Started"], ",") + ", its state files on " + strings.Join(dummyOn(c, "api"), ",")
				continue
			}
			return p
		}
		t.Fatalf("%s: not settled after %v: %s\n%s", what, limit, last, c.Must("status"))
		return ""
	}
	all := []string{"n1", "n2", "n3"}
	began := time.Now()
	p := settled("start", 90*time.Second, all)
	t.Logf("ISSUE10 settled after %v: db promoted on %s\n%s", time.Since(began).Round(10*time.Millisecond), p, c.Must("status"))

	// The promoted instance fails behind the cluster's back.
	failed := time.Now()
	if err := c.Host(p).Remove(RunDir(p) + "/ocf/Stateful-db.state"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for ; time.Now().Before(deadline) && nodeAttrs(t, c)[p]["fail-count-db#monitor_5000"] == ""; time.Sleep(200 * time.Millisecond) {
	}
	if v := nodeAttrs(t, c)[p]["fail-count-db#monitor_5000"]; v == "" {
		t.Fatalf("the Promoted monitor's failure on %s was not recorded: %v", p, nodeAttrs(t, c)[p])
	}
	p = settled("recovery of the promoted instance", 60*time.Second, all)
	t.Logf("ISSUE10 promoted instance's failure detected and recovered in %v (promoted on %s)", time.Since(failed).Round(10*time.Millisecond), p)

	// Every process of the promoted node's host killed.
	var rest []string
	for _, x := range all {
		if x != p {
			rest = append(rest, x)
		}
	}
	crashed := time.Now()
	c.Host(p).Crash()
	p2 := settled("after the crash of "+p, 60*time.Second, rest)
	if p2 == p {
		t.Fatalf("%s still promoted after its host crashed", p)
	}
	t.Logf("ISSUE10 crash of the promoted host %s: %s promoted and app there after %v", p, p2, time.Since(crashed).Round(10*time.Millisecond))

	// The host comes back: its instance starts (unpromoted), and the
	// others are told before and after.
	c.Host(p).Restore()
	c.StartAgent(c.Host(p))
	settled("after "+p+" came back", 60*time.Second, all)
	var seen map[string]bool
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if seen = notifications(t, envfile); seen["pre-start"] && seen["post-start"] && seen["pre-promote"] && seen["post-promote"] {
			break
		}
	}
	for _, w := range []string{"pre-start", "post-start", "pre-promote", "post-promote"} {
		if !seen[w] {
			t.Errorf("Stateful's envfile shows no %s notification (saw %v)", w, seen)
		}
	}
}
