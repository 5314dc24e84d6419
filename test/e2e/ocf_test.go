package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ocfAgents are the Debian resource-agents scripts the test runs.
var ocfAgents = []string{"Dummy", "IPaddr2", "anything"}

// helper runs one of the Pacemaker helper links of node on its host, with
// the endpoint an OCF agent of that node is given.
func helper(c *Cluster, node, tool string, args ...string) (string, error) {
	dir := c.DataDir(node)
	return c.Host(node).Exec(append([]string{"env", "PACELINE_COMPAT_SOCKET=" + filepath.Join(dir, "compat.sock"),
		filepath.Join(dir, "bin", tool)}, args...)...)
}

// shellfuncs runs a shell snippet after sourcing ocf-shellfuncs on node's
// host, in the environment `paceline agent` gives OCF agents (and nothing
// of the test's).
func shellfuncs(c *Cluster, node, rsc, snippet string) (string, error) {
	dir := c.DataDir(node)
	bin := filepath.Join(dir, "bin")
	return c.Host(node).Exec("env", "-i", "PATH="+bin+":/usr/sbin:/usr/bin:/sbin:/bin", "HA_SBIN_DIR="+bin,
		"PACELINE_COMPAT_SOCKET="+filepath.Join(dir, "compat.sock"), "OCF_ROOT=/usr/lib/ocf",
		"OCF_RESOURCE_INSTANCE="+rsc, "OCF_RESKEY_crm_feature_set=3.16.2",
		"/bin/sh", "-c", ". /usr/lib/ocf/lib/heartbeat/ocf-shellfuncs; "+snippet)
}

// nodeAttrs reads GET /v1/nodes from the client namespace: node name to
// transient attributes.
func nodeAttrs(t *testing.T, c *Cluster) map[string]map[string]string {
	t.Helper()
	out, err := c.Net.Client.Exec("curl", "-sSf", "--cacert", filepath.Join(c.DataDir("n1"), "ca.pem"),
		"-H", "Authorization: Bearer "+strings.TrimSpace(readFile(t, filepath.Join(c.DataDir("n1"), "admin.token"))),
		"https://"+Listen(c.Net.Hosts[0])+"/v1/nodes")
	if err != nil {
		t.Fatalf("GET /v1/nodes: %v", err)
	}
	var nodes []struct {
		Name       string
		Attributes map[string]string
	}
	if err := json.Unmarshal([]byte(out), &nodes); err != nil {
		t.Fatalf("GET /v1/nodes: %v: %q", err, out)
	}
	m := map[string]map[string]string{}
	for _, n := range nodes {
		m[n.Name] = n.Attributes
	}
	return m
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runsIn reports whether a process of host h's namespace has cmdline
// words (joined with spaces).
func runsIn(h *Host, words string) bool {
	out, _ := run(context.Background(), nil, "ip", "netns", "pids", h.NS)
	for _, pid := range strings.Fields(out) {
		b, err := os.ReadFile("/proc/" + pid + "/cmdline")
		if err == nil && strings.Join(strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"), " ") == words {
			return true
		}
	}
	return false
}

// Debian's resource-agents run unmodified under paceline (DESIGN.md,
// agents/ocf): ocf:heartbeat:Dummy, anything and IPaddr2 start on three
// namespace hosts; the helper commands they may call (crm_node,
// crm_attribute, crm_master, attrd_updater via ocf-shellfuncs) answer from
// the cluster; IPaddr2's VIP is really on the host the status names, moves
// with `paceline resource move` and, when its host crashes, to another
// host, never held by two hosts at once.
func TestDebianOCFAgents(t *testing.T) {
	for _, a := range ocfAgents {
		if _, err := os.Stat("/usr/lib/ocf/resource.d/heartbeat/" + a); err != nil {
			t.Skipf("resource-agents is not installed (no ocf:heartbeat:%s); apt-get install resource-agents", a)
		}
	}
	n := NewNet(t, 3)
	c := NewCluster(t, n)
	const vip = "10.77.0.100"
	m := Watch(vip, n.Hosts)
	defer m.Stop()
	c.Must("resource", "create", "dummy", "ocf:heartbeat:Dummy", "--op", "monitor", "interval=2s")
	c.Must("resource", "create", "sleeper", "ocf:heartbeat:anything", "binfile=/bin/sleep", "cmdline_options=1000",
		"--op", "monitor", "interval=2s")
	c.Must("resource", "create", "vip", "ocf:heartbeat:IPaddr2", "ip="+vip, "cidr_netmask=24", "--op", "monitor", "interval=1s")
	started := time.Now()
	st := c.WaitStatus(nil, "Dummy, anything and IPaddr2 Started", 30*time.Second, func(st *Status) bool {
		for _, id := range []string{"dummy", "sleeper", "vip"} {
			if role, nodes := st.Resource(id); role != "Started" || len(nodes) != 1 {
				return false
			}
		}
		return true
	})
	t.Logf("OCF all three Started after %v", time.Since(started).Round(10*time.Millisecond))

	// Each really runs where the status says.
	_, on := st.Resource("dummy")
	if _, err := c.Host(on[0]).ReadFile(RunDir(on[0]) + "/ocf/Dummy-dummy.state"); err != nil {
		t.Errorf("Dummy is Started on %s but its state file is missing: %v", on[0], err)
	}
	_, on = st.Resource("sleeper")
	if !runsIn(c.Host(on[0]), "/bin/sleep 1000") {
		t.Errorf("anything is Started on %s but no /bin/sleep 1000 runs there", on[0])
	}
	_, on = st.Resource("vip")
	holder := vipHolder(t, n, vip, 5*time.Second)
	if holder != c.Host(on[0]) {
		t.Fatalf("IPaddr2 is Started on %s but %s holds %s", on[0], holder.Name, vip)
	}

	// The helpers, from inside a host, as an agent calls them.
	if out, err := helper(c, "n2", "crm_node", "-n"); err != nil || out != "n2\n" {
		t.Errorf("crm_node -n on n2 = %q, %v", out, err)
	}
	if out, err := shellfuncs(c, "n2", "db:0", "ocf_local_nodename"); err != nil || out != "n2\n" {
		t.Errorf("ocf_local_nodename on n2 = %q, %v (want the node name, not the host name)", out, err)
	}
	if _, err := helper(c, "n2", "crm_attribute", "-l", "reboot", "-n", "e2e-site", "-v", "east"); err != nil {
		t.Fatalf("crm_attribute -v on n2: %v", err)
	}
	if _, err := shellfuncs(c, "n2", "db:0", "ocf_promotion_score -v 7"); err != nil {
		t.Errorf("ocf_promotion_score on n2: %v", err)
	}
	if _, err := helper(c, "n2", "attrd_updater", "-n", "e2e-fw", "-U", "ok", "-d", "1s"); err != nil {
		t.Errorf("attrd_updater -U on n2: %v", err)
	}
	attrs := nodeAttrs(t, c)["n2"]
	for k, want := range map[string]string{"e2e-site": "east", "master-db": "7", "e2e-fw": "ok"} {
		if attrs[k] != want {
			t.Errorf("GET /v1/nodes: n2's %s = %q, want %q (all: %v)", k, attrs[k], want, attrs)
		}
	}
	// Another node reads it from its own copy of the store.
	var got string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && got != "east\n"; time.Sleep(50 * time.Millisecond) {
		got, _ = helper(c, "n3", "crm_attribute", "-N", "n2", "-l", "reboot", "-n", "e2e-site", "-G", "-q")
	}
	if got != "east\n" {
		t.Errorf("crm_attribute -G -q on n3 for n2's e2e-site = %q, want east", got)
	}
	// A permanent attribute (-l forever) is a configuration change.
	if _, err := helper(c, "n2", "crm_attribute", "-N", "n2", "-n", "e2e-rack", "-v", "r1", "-l", "forever"); err != nil {
		t.Errorf("crm_attribute -l forever on n2: %v", err)
	}
	got = ""
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && got != "scope=nodes  name=e2e-rack value=r1\n"; time.Sleep(50 * time.Millisecond) {
		got, _ = helper(c, "n1", "crm_attribute", "-N", "n2", "-n", "e2e-rack", "-G")
	}
	if got != "scope=nodes  name=e2e-rack value=r1\n" {
		t.Errorf("crm_attribute -G on n1 for n2's permanent e2e-rack = %q", got)
	}
	if _, err := helper(c, "n3", "crm_attribute", "-N", "n3", "-n", "e2e-missing", "-G"); err == nil || !strings.Contains(err.Error(), "exit status 105") {
		t.Errorf("querying a missing attribute: %v, want exit status 105", err)
	}

	// Moved by the operator: the VIP leaves its host and arrives on the
	// target.
	var target string
	for i := range n.Hosts {
		if h := n.Hosts[i]; h != holder {
			target = NodeName(i)
			break
		}
	}
	moved := time.Now()
	c.Must("resource", "move", "vip", target)
	c.WaitStatus(nil, "vip Started on "+target, 30*time.Second, func(st *Status) bool {
		role, nodes := st.Resource("vip")
		return role == "Started" && len(nodes) == 1 && nodes[0] == target
	})
	if h := vipHolder(t, n, vip, 5*time.Second); h != c.Host(target) {
		t.Fatalf("after the move to %s, %s holds %s", target, h.Name, vip)
	}
	t.Logf("OCF IPaddr2 moved %s -> %s in %v", holder.Name, c.Host(target).Name, time.Since(moved).Round(10*time.Millisecond))

	// Its host crashes: another host takes the VIP over.
	holder = c.Host(target)
	var others []*Host
	for _, h := range n.Hosts {
		if h != holder {
			others = append(others, h)
		}
	}
	crashed := time.Now()
	holder.Crash()
	st = c.WaitStatus(others, "vip Started on another host", 30*time.Second, func(st *Status) bool {
		role, nodes := st.Resource("vip")
		return role == "Started" && len(nodes) == 1 && nodes[0] != target
	})
	_, on = st.Resource("vip")
	if h := vipHolder(t, n, vip, 5*time.Second); h != c.Host(on[0]) {
		t.Fatalf("after the crash of %s, IPaddr2 is Started on %s but %s holds %s", holder.Name, on[0], h.Name, vip)
	}
	t.Logf("OCF IPaddr2 crash of %s: on %s after %v", holder.Name, c.Host(on[0]).Name, time.Since(crashed).Round(10*time.Millisecond))
	m.Stop()
	t.Log(m)
	if d := m.DualTime(); d > 0 {
		t.Errorf("%s held by two hosts for %v", vip, d)
	}
}
