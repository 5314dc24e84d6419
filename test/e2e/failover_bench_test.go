package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/test/testenv"
)

// The failover benchmark (issue 4, bench/failover): in one run and one
// topology (three hosts on a bridge, a client), it measures how fast a VIP
// moves under Paceline (builtin:vip, default and fast profile, each host
// with a simulated watchdog), keepalived (default advert_int 1 and
// advert_int 0.1) and, when installed, Pacemaker+Corosync (IPaddr2).
//
// Method: every host runs a tiny service answering its own name on
// VIP:benchPort; the client probes it every 10 ms. Failover time is from
// the fault to the first answer from another host. Dual-holder time is
// how long two connected hosts held the VIP (sampled every 5 ms; a host
// whose link is down is not connected). Faults, each on the VIP's holder
// at a random offset: kill (SIGKILL of the cluster agent's process
// group), link (its link down), crash (every process killed, link down).
// After each run the host is restored and the cluster left to settle.
//
// It runs only when PACELINE_BENCH_FAILOVER=1 (bench/failover.sh sets it);
// BENCH_RUNS (default 7) runs per system and fault, BENCH_SYSTEMS (comma
// separated; default all) picks systems.
func TestFailoverBench(t *testing.T) {
	if os.Getenv("PACELINE_BENCH_FAILOVER") != "1" {
		t.Skip("benchmark: run bench/failover.sh (PACELINE_BENCH_FAILOVER=1)")
	}
	runs := testenv.Count(t, "BENCH_RUNS", 7)
	systems := []benchSystem{
		{name: "paceline-fast", start: startPaceline("fast")},
		{name: "paceline-default", start: startPaceline("default")},
		{name: "keepalived-0.1", start: startKeepalived("0.1")},
		{name: "keepalived-default", start: startKeepalived("")},
		{name: "pacemaker", start: startPacemakerBench},
	}
	if v := os.Getenv("BENCH_SYSTEMS"); v != "" {
		want := strings.Split(v, ",")
		systems = slices.DeleteFunc(systems, func(s benchSystem) bool { return !slices.Contains(want, s.name) })
	}
	var results []benchResult
	for _, sys := range systems {
		t.Run(sys.name, func(t *testing.T) {
			results = append(results, benchOne(t, sys, runs)...)
		})
	}
	fmt.Println(benchTable(results))
}

const (
	benchVIP  = "10.77.0.100"
	benchPort = 9000
)

// benchSystem starts one HA system on the hosts of n, managing benchVIP.
type benchSystem struct {
	name  string
	start func(t *testing.T, n *Net) benchCluster
}

// benchCluster is a running system: kill SIGKILLs the agent on a host,
// restore brings a faulted host back (its link and address are already
// restored) and returns when it is a healthy member again.
type benchCluster struct {
	kill    func(h *Host)
	restore func(h *Host)
	// role, when set, describes h before a fault (Paceline: whether it
	// leads, which costs an election on top).
	role func(h *Host) string
	// alive, when set, reports whether h's agent still runs: one that
	// died without a fault (a spurious watchdog reset) is counted and
	// restored before the next run.
	alive func(h *Host) bool
	// restart starts a dead host's agent again without waiting; settle
	// waits until every host is a healthy member (with alive).
	restart func(h *Host)
	settle  func()
}

type benchResult struct {
	system, fault string
	failover      time.Duration // -1: no failover seen
	dual          time.Duration
}

// benchService starts, on h, the tiny service answering h's name.
func benchService(h *Host) *Proc {
	return h.Start(h.Name+"-service", "python3", "-c", `
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[2])))
s.listen(256)
while True:
    c, _ = s.accept()
    try:
        c.sendall(sys.argv[1].encode())
    finally:
        c.close()
`, h.Name, strconv.Itoa(benchPort))
}

func benchOne(t *testing.T, sys benchSystem, runs int) []benchResult {
	n := NewNet(t, 3)
	services := map[*Host]*Proc{}
	for _, h := range n.Hosts {
		services[h] = benchService(h)
	}
	cl := sys.start(t, n)
	if t.Failed() || t.Skipped() {
		return nil
	}
	p := StartProber(t, n.Client, benchVIP, benchPort)
	defer p.Stop()
	var out []benchResult
	restore := func(h *Host) {
		h.Restore()
		if services[h].Exited() {
			services[h] = benchService(h)
		}
		cl.restore(h)
	}
	// heal "reboots" hosts whose agent died without a fault (a watchdog
	// reset of a host that lost its lease): counted, reported, restored.
	// Every dead host is started again before waiting for any: after a
	// cascade, one host alone has no quorum.
	heal := func(fault string, run int) {
		dead := 0
		for _, h := range n.Hosts {
			if cl.alive != nil && !cl.alive(h) {
				fmt.Printf("SPURIOUS system=%s before fault=%s run=%d: %s's agent died without a fault (watchdog reset); restoring it\n", sys.name, fault, run, h.Name)
				h.Restore()
				if services[h].Exited() {
					services[h] = benchService(h)
				}
				cl.restart(h)
				dead++
			}
		}
		if dead > 0 {
			cl.settle()
		}
	}
	for _, fault := range []string{"kill", "link", "crash"} {
		for run := 1; run <= runs; run++ {
			heal(fault, run)
			holder := benchStable(t, n, p, func() { heal(fault, run) })
			m := Watch(benchVIP, n.Hosts)
			role := "-"
			if cl.role != nil {
				role = cl.role(holder)
			}
			time.Sleep(time.Duration(rand.Int64N(int64(time.Second)))) // a random offset in the heartbeat/advert cycle
			at := time.Now()
			disconnected := false
			switch fault {
			case "kill":
				cl.kill(holder)
			case "link":
				holder.LinkDown()
				disconnected = true
			case "crash":
				holder.Crash()
				disconnected = true
			}
			took := time.Duration(-1)
			if ans, ok := p.FirstOtherThan(holder.Name, at, 30*time.Second); ok {
				took = ans.Sub(at)
			}
			time.Sleep(2 * time.Second) // let a lingering holder show
			restoredAt := time.Now()
			restore(holder)
			time.Sleep(time.Second)
			m.Stop()
			var down [2]time.Time
			if disconnected {
				down = [2]time.Time{at, restoredAt}
			}
			r := benchResult{system: sys.name, fault: fault, failover: took, dual: dualConnected(m, holder.Name, down)}
			out = append(out, r)
			fmt.Printf("FAILOVER system=%s fault=%s run=%d holder=%s role=%s failover=%s dual=%s\n", sys.name, fault, run, holder.Name, role, fmtDur(took), fmtDur(r.dual))
		}
	}
	return out
}

// benchStable waits until exactly one host holds the VIP and that host
// answers the probes, and returns it.
func benchStable(t *testing.T, n *Net, p *Prober, heal func()) *Host {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		heal()
		var holders []*Host
		for _, h := range n.Hosts {
			if ok, _ := Holds(h, benchVIP); ok {
				holders = append(holders, h)
			}
		}
		if len(holders) == 1 {
			since := time.Now()
			time.Sleep(300 * time.Millisecond)
			if name, at, ok := p.Last(); ok && name == holders[0].Name && at.After(since) {
				return holders[0]
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("bench: the VIP did not settle on one answering host within 60s")
	return nil
}

// dualConnected is how long two or more connected hosts held the VIP:
// host faulted is not connected during down (zero: always connected).
func dualConnected(m *Monitor, faulted string, down [2]time.Time) time.Duration {
	tl := m.Timeline()
	end := m.stopped.Sub(m.start)
	var d0, d1 time.Duration
	if !down[0].IsZero() {
		d0, d1 = down[0].Sub(m.start), down[1].Sub(m.start)
	}
	// Cut the timeline at the disconnection's edges and count each piece.
	cuts := []time.Duration{}
	for _, c := range tl {
		cuts = append(cuts, c.At)
	}
	if d1 > d0 {
		cuts = append(cuts, d0, d1)
	}
	cuts = append(cuts, end)
	slices.Sort(cuts)
	var total time.Duration
	for i := 0; i+1 < len(cuts); i++ {
		from, to := cuts[i], cuts[i+1]
		if to <= from {
			continue
		}
		var holders []string
		for _, c := range tl {
			if c.At <= from {
				holders = c.Holders
			}
		}
		count := 0
		for _, h := range holders {
			if h == faulted && d1 > d0 && from >= d0 && from < d1 {
				continue
			}
			count++
		}
		if count >= 2 {
			total += to - from
		}
	}
	return total
}

func fmtDur(d time.Duration) string {
	if d < 0 {
		return "none"
	}
	return fmt.Sprintf("%.3fs", d.Seconds())
}

// benchTable prints min/median/max of failover and dual-holder time per
// system and fault.
func benchTable(rs []benchResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-20s %-6s %4s  %-26s  %-26s %s\n", "system", "fault", "runs", "failover min/median/max", "dual-holder min/median/max", "no failover")
	type key struct{ s, f string }
	var keys []key
	groups := map[key][]benchResult{}
	for _, r := range rs {
		k := key{r.system, r.fault}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	for _, k := range keys {
		var fo, du []time.Duration
		missing := 0
		for _, r := range groups[k] {
			if r.failover < 0 {
				missing++
			} else {
				fo = append(fo, r.failover)
			}
			du = append(du, r.dual)
		}
		fmt.Fprintf(&b, "%-20s %-6s %4d  %-26s  %-26s %d\n", k.s, k.f, len(groups[k]), stats3(fo), stats3(du), missing)
	}
	return b.String()
}

func stats3(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return fmt.Sprintf("%.3f/%.3f/%.3fs", s[0].Seconds(), med.Seconds(), s[len(s)-1].Seconds())
}

// startPaceline runs a Paceline cluster with profile and the VIP on n's
// hosts (startVIPCluster), the VIP sticky.
func startPaceline(profile string) func(t *testing.T, n *Net) benchCluster {
	return func(t *testing.T, n *Net) benchCluster {
		c := startVIPCluster(t, n, profile, "--meta", "resource-stickiness=100")
		return benchCluster{
			role: func(h *Host) string {
				if st, err := c.Status(); err == nil && st.Leader == nodeOf(c, h) {
					return "leader"
				}
				return "follower"
			},
			kill:  func(h *Host) { c.Agents[nodeOf(c, h)].kill() },
			alive: func(h *Host) bool { return !c.Agents[nodeOf(c, h)].Exited() },
			restore: func(h *Host) {
				name := nodeOf(c, h)
				if p := c.Agents[name]; !p.Exited() {
					p.kill()
					p.wait(5 * time.Second)
				}
				c.StartAgent(h)
				c.WaitStatus(nil, name+" back online", 60*time.Second, func(st *Status) bool { return st.Quorum && st.Online() == len(n.Hosts) })
			},
			restart: func(h *Host) { c.StartAgent(h) },
			settle: func() {
				c.WaitStatus(nil, "every node back online", 60*time.Second, func(st *Status) bool { return st.Quorum && st.Online() == len(n.Hosts) })
			},
		}
	}
}

// startKeepalived runs keepalived (VRRP only) on every host: all BACKUP
// with nopreempt, priorities 100, 99, 98, advert_int advert ("" leaves
// keepalived's default of 1 s and VRRP version 2; sub-second intervals
// need VRRP version 3).
func startKeepalived(advert string) func(t *testing.T, n *Net) benchCluster {
	return func(t *testing.T, n *Net) benchCluster {
		if _, err := exec.LookPath("keepalived"); err != nil {
			t.Skip("keepalived is not installed (bench/failover.sh installs it)")
		}
		dir := t.TempDir()
		procs := map[*Host]*Proc{}
		start := func(h *Host) {
			i := slices.Index(n.Hosts, h)
			conf := filepath.Join(dir, h.Name+".conf")
			var g, a string
			if advert != "" {
				g, a = "\n    vrrp_version 3", "\n    advert_int "+advert
			}
			body := fmt.Sprintf(`global_defs {
    router_id %s%s
}
vrrp_instance VI_1 {
    state BACKUP
    nopreempt
    interface %s
    virtual_router_id 51
    priority %d%s
    virtual_ipaddress {
        %s/24
    }
}
`, h.Name, g, h.Link, 100-i, a, benchVIP)
			if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			procs[h] = h.Start(h.Name+"-keepalived", "keepalived", "--dont-fork", "--log-console", "--vrrp", "--use-file", conf,
				"--pid", filepath.Join(dir, h.Name+".pid"), "--vrrp_pid", filepath.Join(dir, h.Name+".vrrp.pid"))
		}
		for _, h := range n.Hosts {
			start(h)
		}
		return benchCluster{
			kill:    func(h *Host) { procs[h].kill() },
			alive:   func(h *Host) bool { return !procs[h].Exited() },
			restart: func(h *Host) { start(h) },
			settle:  func() { time.Sleep(time.Second) },
			restore: func(h *Host) {
				// A keepalived that survived the fault (link) carries on;
				// a killed one left its VIP behind, and a restarted one in
				// BACKUP state removes it.
				if procs[h].Exited() {
					start(h)
				}
				time.Sleep(time.Second)
			},
		}
	}
}

// startPacemakerBench runs Corosync and Pacemaker on every host (each in
// its own mount namespace, corosync's default token, stonith-enabled=false
// since there is no fence device, resource-stickiness=100) with
// ocf:heartbeat:IPaddr2 managing the VIP, monitor every second. "kill"
// kills the whole cluster stack of the host (corosync, pacemakerd and its
// subdaemons); nothing then removes the VIP from it.
func startPacemakerBench(t *testing.T, n *Net) benchCluster {
	if !HavePacemaker() {
		t.Skip("Pacemaker+Corosync are not installed (scripts/install-pacemaker.sh installs them)")
	}
	o := DefaultPacemakerOptions()
	o.VIP = benchVIP
	p := NewPacemaker(t, n, n.Hosts, o)
	return benchCluster{
		role: func(h *Host) string {
			if dc, err := p.DC(nil); err == nil && dc == h {
				return "dc"
			}
			return "non-dc"
		},
		kill:    p.Kill,
		restore: p.Restart,
	}
}
