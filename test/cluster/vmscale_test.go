package cluster

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paceline/paceline/test/testenv"
)

// fakeVirtualDomain stands in for ocf:heartbeat:VirtualDomain in the
// client-scale test (the cluster treats any ocf:*:VirtualDomain as a VM):
// the "domain" of resource R on node N is the file HOSTS/N/R, where HOSTS
// is the parameter hosts. A node without a directory there has no
// hypervisor (start fails with "not installed"); the test crashes a host
// by killing its agent and removing its directory (its domains die with
// it). No libvirt is needed, and every start, stop and monitor is a real
// OCF agent process run by the executor.
const fakeVirtualDomain = `#!/bin/sh
d="$OCF_RESKEY_hosts/$OCF_RESKEY_CRM_meta_on_node"
f="$d/$OCF_RESOURCE_INSTANCE"
case "$1" in
meta-data) cat <<'EOF'
<?xml version="1.0"?>
<resource-agent name="VirtualDomain" version="1.0">
<version>1.1</version>
<shortdesc lang="en">Test stand-in for VirtualDomain: a domain is a file</shortdesc>
<parameters><parameter name="hosts" required="1"><content type="string"/></parameter></parameters>
<actions><action name="start" timeout="20s"/><action name="stop" timeout="20s"/>
<action name="monitor" timeout="20s" interval="10s"/><action name="meta-data" timeout="5s"/>
<action name="validate-all" timeout="5s"/></actions>
</resource-agent>
EOF
	exit 0;;
start) [ -d "$d" ] || { echo "no hypervisor on this node" >&2; exit 5; }; : > "$f" || exit 1; exit 0;;
stop) rm -f "$f"; exit 0;;
monitor) [ -f "$f" ] && exit 0; exit 7;;
validate-all) exit 0;;
*) exit 3;;
esac
`

// vmStatus is status --json's VM list.
type vmStatus struct {
	Leader string `json:"leader"`
	Nodes  []struct {
		Name, State string
	}
	VMs []struct {
		ID      string `json:"id"`
		State   string `json:"state"`
		Host    string `json:"host"`
		Storage string `json:"storage"`
		Reason  string `json:"reason"`
	} `json:"vms"`
}

func (h *harness) vmStatus() (*vmStatus, error) {
	out, err := h.run("status", "--json")
	if err != nil {
		return nil, err
	}
	var st vmStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return nil, fmt.Errorf("status --json: %v", err)
	}
	return &st, nil
}

// waitVMs polls status --json until cond holds, failing after limit.
// why, when given, says what was still missing at the end.
func (h *harness) waitVMs(what string, limit time.Duration, cond func(*vmStatus) bool, why ...*string) *vmStatus {
	h.t.Helper()
	var last *vmStatus
	var lastErr error
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(h.poll) {
		st, err := h.vmStatus()
		if err != nil {
			lastErr = err
			continue
		}
		last = st
		if cond(st) {
			return st
		}
	}
	var summary []string
	if last != nil {
		for _, v := range last.VMs {
			summary = append(summary, fmt.Sprintf("%s=%s@%s(%s)", v.ID, v.State, v.Host, v.Reason))
		}
	}
	if len(why) > 0 {
		what += " (" + *why[0] + ")"
	}
	h.t.Fatalf("timed out after %v waiting for %s; last VMs %v, last error %v", limit, what, summary, lastErr)
	return nil
}

// domainWatch checks the fake hypervisors every 100 ms: a domain file of
// the same VM in two hosts' directories is two running copies.
type domainWatch struct {
	hosts   string
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	samples int
	doubles []string
}

func watchDomains(hosts string) *domainWatch {
	w := &domainWatch{hosts: hosts, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			where := map[string][]string{}
			dirs, _ := os.ReadDir(hosts)
			for _, d := range dirs {
				files, _ := os.ReadDir(filepath.Join(hosts, d.Name()))
				for _, f := range files {
					where[f.Name()] = append(where[f.Name()], d.Name())
				}
			}
			w.mu.Lock()
			w.samples++
			for vm, on := range where {
				if len(on) > 1 {
					w.doubles = append(w.doubles, fmt.Sprintf("%s on %v", vm, on))
				}
			}
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *domainWatch) end() (samples int, doubles []string) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.samples, w.doubles
}

// runsOn lists the hosts whose directory holds vm's domain file.
func runsOn(hosts, vm string) []string {
	var on []string
	dirs, _ := os.ReadDir(hosts)
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(hosts, d.Name(), vm)); err == nil {
			on = append(on, d.Name())
		}
	}
	return on
}

// cpuTicks is a process's user+system CPU time with its waited-for
// children's (the agents it ran), in clock ticks, from /proc/PID/stat.
func cpuTicks(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	var sum int64
	for _, i := range []int{11, 12, 13, 14} { // utime stime cutime cstime (fields 14-17)
		v, _ := strconv.ParseInt(f[i], 10, 64)
		sum += v
	}
	return sum
}

// clkTck is the kernel's USER_HZ (100 on Linux).
const clkTck = 100

// TestVMHostsAsClientsAtScale: three voters (n1-n3) and many VM hosts
// joined as clients (paceline join --role client; PL_SCALE_CLIENTS,
// default 30) with PL_SCALE_VMS VMs each (default 6: two thirds on shared
// storage, the rest local to their host), all NeverStop, run by a stand-in
// for VirtualDomain (fakeVirtualDomain). What an operator configures to
// keep VMs off the voters: the node attribute vm-host=true on every VM
// host ("paceline node attribute cN vm-host=true") and one location
// constraint for every VM (resource_pattern ^vm-) with the rule
// "not_defined vm-host" at -INFINITY; a local VM also prefers its host
// (INFINITY), where its disk is. The test checks that
//   - every client joins as a non-voter and every VM runs, on a client;
//   - the leader's CPU while the cluster idles (printed);
//   - a crashed VM host (its agent SIGKILLed, its domains gone) under
//     vm-ha-strategy Force (stonith-enabled=false: loopback has no fence
//     device): its shared VMs run again on other clients, its
//     local VMs are Stopped with the reason, the other hosts' VMs never
//     move, and no domain ever exists on two hosts (every 100 ms); the
//     time to recover the host's VMs is printed;
//   - under Permissive (the default) with stonith-enabled=true a second
//     crashed host's VMs are held Unknown, started nowhere, until "paceline
//     node confirm-down".
func TestVMHostsAsClientsAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process scale test skipped in -short mode")
	}
	nClients := testenv.Count(t, "PL_SCALE_CLIENTS", 8)
	perHost := testenv.Count(t, "PL_SCALE_VMS", 6)
	voters := []string{"n1", "n2", "n3"}
	var clients []string
	for i := 1; i <= nClients; i++ {
		clients = append(clients, fmt.Sprintf("c%d", i))
	}
	h := newHarness(t, append(slices.Clone(voters), clients...)...)
	dir := h.dir
	// PL_SCALE_NICE=N starts the clients with niceness N: on one test
	// machine they stand for hosts of their own, whose work (their copy
	// of the log, their probes) does not compete with the voters'.
	if n := testenv.Count(t, "PL_SCALE_NICE", 0); n != 0 {
		h.nice = map[string]int{}
		for _, c := range clients {
			h.nice[c] = n
		}
	}

	// The stand-in agent, in an agent directory of its own.
	ocfDir := filepath.Join(dir, "ocf", "resource.d")
	if err := os.MkdirAll(filepath.Join(ocfDir, "scale"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ocfDir, "scale", "VirtualDomain"), []byte(fakeVirtualDomain), 0o755); err != nil {
		t.Fatal(err)
	}
	hosts := filepath.Join(dir, "hosts")
	for _, c := range clients {
		if err := os.MkdirAll(filepath.Join(hosts, c), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	base := append(slices.Clone(h.env), "PACELINE_AGENT_DIRS="+ocfDir)

	began := time.Now()
	h.env = base
	h.must("init", "--name", "n1", "--data-dir", filepath.Join(dir, "n1"), "--listen", h.addr("n1"))
	h.agent("n1")
	h.env = append(base, "PACELINE_ADDR=https://"+h.addr("n1"), "PACELINE_TOKEN_FILE="+filepath.Join(dir, "n1", "admin.token"),
		"PACELINE_CACERT="+filepath.Join(dir, "n1", "ca.pem"))
	h.waitVMs("n1 leads", 15*time.Second, func(st *vmStatus) bool { return st.Leader == "n1" })
	join := func(n, role string) {
		tok := strings.TrimSpace(h.must("token", "create", "--ttl", "10m"))
		h.must("join", "--name", n, "--data-dir", filepath.Join(dir, n), "--listen", h.addr(n), "--role", role, "--token", tok, h.addr("n1"))
		h.agent(n)
	}
	for _, n := range voters[1:] {
		join(n, "server")
	}
	for _, c := range clients {
		join(c, "client")
	}
	all := len(voters) + len(clients)
	h.waitVMs(fmt.Sprintf("%d nodes online", all), 120*time.Second, func(st *vmStatus) bool {
		on := 0
		for _, n := range st.Nodes {
			if n.State == "online" {
				on++
			}
		}
		return on == all
	})
	joined := time.Since(began)
	var addrs []string
	for _, n := range voters {
		addrs = append(addrs, "https://"+h.addr(n))
	}
	h.env = append(h.env, "PACELINE_ADDR="+strings.Join(addrs, ","))

	// Every client is a non-voter: the Raft configuration has three voters.
	checkVoters(t, h, voters, clients)

	for _, c := range clients {
		h.must("node", "attribute", c, "vm-host=true")
	}
	h.must("property", "set", "stonith-enabled=false", "vm-ha-strategy=Force")
	export := h.must("config", "export")
	var y strings.Builder
	y.WriteString(export)
	if strings.Contains(export, "\nresources:") || strings.Contains(export, "\nlocations:") {
		t.Fatalf("a new cluster's export already has resources or locations:\n%s", export)
	}
	y.WriteString("resources:\n")
	var vms []string
	local := map[string]string{} // local VM -> its host
	for _, c := range clients {
		for i := 1; i <= perHost; i++ {
			storage := "shared"
			if i > perHost*2/3 {
				storage = "local"
			}
			id := fmt.Sprintf("vm-%s-%d", c, i)
			vms = append(vms, id)
			fmt.Fprintf(&y, "- id: %s\n  kind: primitive\n  class: ocf\n  provider: scale\n  type: VirtualDomain\n", id)
			fmt.Fprintf(&y, "  params: [{name: hosts, value: %q}]\n", hosts)
			fmt.Fprintf(&y, "  meta: {ha-level: NeverStop, vm-storage: %s, allow-migrate: \"false\"}\n", storage)
			y.WriteString("  ops: [{name: monitor, interval: 10s, timeout: 20s}]\n")
			if storage == "local" {
				local[id] = c
			}
		}
	}
	y.WriteString("locations:\n- id: vms-on-vm-hosts\n  resource_pattern: ^vm-\n  rules: [{score: -INFINITY, expressions: [{attribute: vm-host, operation: not_defined}]}]\n")
	for _, id := range vms {
		if c, ok := local[id]; ok {
			fmt.Fprintf(&y, "- {id: disk-%s, resource: %s, node: %s, score: INFINITY}\n", id, id, c)
		}
	}
	file := filepath.Join(dir, "vms.yaml")
	if err := os.WriteFile(file, []byte(y.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	applied := time.Now()
	h.must("config", "apply", "-f", file)
	h.poll = time.Second // as an operator watches: status of 180 VMs is no free call
	running := func(st *vmStatus) int {
		n := 0
		for _, v := range st.VMs {
			if v.State == "Running" {
				n++
			}
		}
		return n
	}
	// PL_SCALE_WAIT_SECONDS bounds the first start: every VM is probed on
	// every host first (30 hosts: 5,940 probes, 5 min here). Default 300
	// s, 20 s per client beyond 15 (600 s for 30).
	wait := time.Duration(testenv.Count(t, "PL_SCALE_WAIT_SECONDS", max(300, 20*nClients))) * time.Second
	st := h.waitVMs(fmt.Sprintf("%d VMs Running", len(vms)), wait, func(st *vmStatus) bool { return running(st) == len(vms) })
	allUp := time.Since(applied)
	placed := map[string]string{}
	perClient := map[string]int{}
	for _, v := range st.VMs {
		placed[v.ID] = v.Host
		perClient[v.Host]++
		if !strings.HasPrefix(v.Host, "c") {
			t.Errorf("%s runs on %s, a voter", v.ID, v.Host)
		}
		if c, ok := local[v.ID]; ok && v.Host != c {
			t.Errorf("local VM %s runs on %s, not on %s (its disk)", v.ID, v.Host, c)
		}
		if on := runsOn(hosts, v.ID); len(on) != 1 || on[0] != v.Host {
			t.Errorf("%s: status says %s, its domain is on %v", v.ID, v.Host, on)
		}
	}
	t.Logf("SCALE voters=%d clients=%d vms=%d joined-in=%v all-running-in=%v hosts-used=%d", len(voters), len(clients), len(vms),
		joined.Round(100*time.Millisecond), allUp.Round(100*time.Millisecond), len(perClient))

	// The leader's CPU while nothing happens (after a full monitor round).
	time.Sleep(15 * time.Second)
	st = h.waitVMs("a leader", 10*time.Second, func(st *vmStatus) bool { return st.Leader != "" })
	leader := st.Leader
	idle := testenv.Count(t, "PL_SCALE_IDLE_SECONDS", 20)
	pids := map[string]int{}
	for n, cmd := range h.agents {
		pids[n] = cmd.Process.Pid
	}
	before := map[string]int64{}
	for n, pid := range pids {
		before[n] = cpuTicks(t, pid)
	}
	time.Sleep(time.Duration(idle) * time.Second)
	var clientPct []float64
	var leaderPct float64
	for n, pid := range pids {
		pct := float64(cpuTicks(t, pid)-before[n]) / clkTck / float64(idle) * 100
		switch {
		case n == leader:
			leaderPct = pct
		case strings.HasPrefix(n, "c"):
			clientPct = append(clientPct, pct)
		}
	}
	sort.Float64s(clientPct)
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("IDLE-CPU over %ds: leader %s %.1f%% of a core; clients min/median/max %.1f/%.1f/%.1f%% (load %s)", idle, leader, leaderPct,
		clientPct[0], clientPct[len(clientPct)/2], clientPct[len(clientPct)-1], strings.TrimSpace(string(load)))

	// Crash one VM host under Force.
	h.poll = 100 * time.Millisecond
	w := watchDomains(hosts)
	victim := clients[0]
	crash := func(c string) {
		h.kill(c)
		if err := os.RemoveAll(filepath.Join(hosts, c)); err != nil {
			t.Fatal(err)
		}
	}
	killed := time.Now()
	crash(victim)
	var why string
	st = h.waitVMs(victim+"'s VMs recovered", 60*time.Second, func(st *vmStatus) bool {
		why = hostRecovered(st, victim, placed, local)
		return why == ""
	}, &why)
	recovered := time.Since(killed)
	checkRecovered(t, st, hosts, victim, placed, local)
	t.Logf("RECOVERY Force: %s's %d VMs recovered %v after the crash (%d shared elsewhere, %d local Stopped)", victim, perHost,
		recovered.Round(10*time.Millisecond), perHost-len(localOf(local, victim)), len(localOf(local, victim)))

	// Crash another under Permissive with stonith enabled (no fence
	// device on loopback, no watchdog): held until confirmed down. (With
	// stonith-enabled=false a lost host counts as stopped once its lease
	// ran out, under either strategy.)
	h.must("property", "set", "vm-ha-strategy=Permissive", "stonith-enabled=true")
	victim2 := clients[1]
	for _, v := range st.VMs {
		placed[v.ID] = v.Host
	}
	crash(victim2)
	h.waitVMs(victim2+"'s VMs Unknown", 30*time.Second, func(st *vmStatus) bool {
		for _, v := range st.VMs {
			if placed[v.ID] == victim2 && (v.State != "Unknown" || v.Host != victim2) {
				return false
			}
		}
		return true
	})
	time.Sleep(5 * time.Second) // well past the lease: nothing may start elsewhere
	for id, c := range placed {
		if c == victim2 {
			if on := runsOn(hosts, id); len(on) > 0 {
				t.Errorf("Permissive: %s started on %v before %s was confirmed down", id, on, victim2)
			}
		}
	}
	confirmed := time.Now()
	h.must("node", "confirm-down", victim2)
	st = h.waitVMs(victim2+"'s VMs recovered", 60*time.Second, func(st *vmStatus) bool {
		why = hostRecovered(st, victim2, placed, local)
		return why == ""
	}, &why)
	t.Logf("RECOVERY Permissive: %s's VMs recovered %v after node confirm-down", victim2, time.Since(confirmed).Round(10*time.Millisecond))
	checkRecovered(t, st, hosts, victim2, placed, local)

	samples, doubles := w.end()
	for _, d := range doubles {
		t.Errorf("a domain ran on two hosts: %s", d)
	}
	t.Logf("never two copies: %d samples of every host's domains, %d with a domain on two hosts", samples, len(doubles))
}

// localOf lists the local VMs of host c.
func localOf(local map[string]string, c string) []string {
	var out []string
	for id, h := range local {
		if h == c {
			out = append(out, id)
		}
	}
	return out
}

// hostRecovered: every VM placed on the lost host is Running on another
// host (shared) or Stopped (local), and every other VM Running where it
// was. It returns what is not so yet ("" when all is).
func hostRecovered(st *vmStatus, lost string, placed, local map[string]string) string {
	for _, v := range st.VMs {
		switch {
		case placed[v.ID] == "": // stopped before
			if v.State != "Stopped" {
				return fmt.Sprintf("%s (stopped before) is %s on %q", v.ID, v.State, v.Host)
			}
		case placed[v.ID] != lost:
			if v.State != "Running" || v.Host != placed[v.ID] {
				return fmt.Sprintf("%s (on %s before) is %s on %q", v.ID, placed[v.ID], v.State, v.Host)
			}
		case local[v.ID] != "":
			if v.State != "Stopped" {
				return fmt.Sprintf("local %s is %s on %q", v.ID, v.State, v.Host)
			}
		default:
			if v.State != "Running" || v.Host == lost || v.Host == "" {
				return fmt.Sprintf("shared %s is %s on %q", v.ID, v.State, v.Host)
			}
		}
	}
	return ""
}

// checkRecovered checks the hypervisors agree with status after a host's
// recovery, and a local VM says why it is stopped.
func checkRecovered(t *testing.T, st *vmStatus, hosts, lost string, placed, local map[string]string) {
	t.Helper()
	for _, v := range st.VMs {
		on := runsOn(hosts, v.ID)
		switch {
		case v.State == "Stopped":
			if len(on) != 0 {
				t.Errorf("%s is Stopped, its domain is on %v", v.ID, on)
			}
			if local[v.ID] == lost && !strings.Contains(v.Reason, "local storage") {
				t.Errorf("%s (local storage on %s) is Stopped with reason %q", v.ID, lost, v.Reason)
			}
		case len(on) != 1 || on[0] != v.Host:
			t.Errorf("%s: status says %s on %s, its domain is on %v", v.ID, v.State, v.Host, on)
		case !strings.HasPrefix(v.Host, "c"):
			t.Errorf("%s recovered on %s, a voter", v.ID, v.Host)
		}
	}
}

// checkVoters checks the Raft configuration: the voters vote, the clients
// are non-voters (status --json's members and roles).
func checkVoters(t *testing.T, h *harness, voters, clients []string) {
	t.Helper()
	out := h.must("status", "--json")
	var st struct {
		Nodes []struct {
			Name string `json:"name"`
			Role string `json:"role"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	role := map[string]string{}
	for _, n := range st.Nodes {
		role[n.Name] = n.Role
	}
	for _, n := range voters {
		if role[n] != "server" {
			t.Errorf("%s has role %q, want server", n, role[n])
		}
	}
	for _, n := range clients {
		if role[n] != "client" {
			t.Errorf("%s has role %q, want client", n, role[n])
		}
	}
}
