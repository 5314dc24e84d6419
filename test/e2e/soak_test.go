package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/test/testenv"
)

// The CPU-pressure soak (issue 4): both cores kept busy by stress
// processes and no fault, for MINUTES (default 10) per profile, with a
// simulated watchdog per host as in the failover benchmark. It counts VIP
// moves (changes of holder), agents reset by their watchdog and
// self-fences, and fails if the default profile had any: spurious
// failovers under load are what the default timings must not have. The
// fast profile's count is reported. It runs only with PACELINE_SOAK=1
// (bench/soak-cpu.sh); SOAK_PROFILES picks profiles (default
// "default,fast").
func TestSoakCPU(t *testing.T) {
	if os.Getenv("PACELINE_SOAK") != "1" {
		t.Skip("soak: run bench/soak-cpu.sh (PACELINE_SOAK=1)")
	}
	minutes := 10.0
	if v := os.Getenv("MINUTES"); v != "" {
		m, err := strconv.ParseFloat(v, 64)
		if err != nil || m <= 0 {
			t.Fatalf("MINUTES=%q: want a positive number", v)
		}
		minutes = m
	}
	for _, profile := range soakProfiles("default,fast") {
		t.Run(profile, func(t *testing.T) {
			n, c := startSoakCluster(t, profile, "--meta", "resource-stickiness=100")
			holder := vipHolder(t, n, benchVIP, 30*time.Second)
			// SOAK_DOWN=1: a follower that does not hold the VIP is
			// crashed first and stays down, so the leader keeps its
			// office with one follower.
			var down *Host
			if os.Getenv("SOAK_DOWN") == "1" {
				st := c.WaitStatus(nil, "a leader", 10*time.Second, func(st *Status) bool { return st.Leader != "" })
				for _, h := range n.Hosts {
					if h != holder && nodeOf(c, h) != st.Leader {
						down = h
						break
					}
				}
				down.Crash()
				t.Logf("SOAK profile=%s: %s crashed and stays down (leader %s, VIP on %s)", profile, down.Name, st.Leader, holder.Name)
			}
			m := watchSettled(t, benchVIP, n.Hosts, holder)
			// Two busy loops, one per core, outside the hosts.
			var stress []*Proc
			for i := range 2 {
				stress = append(stress, n.StartOutside(fmt.Sprintf("stress-%d", i), "sh", "-c", "while :; do :; done"))
			}
			start := time.Now()
			deadline := start.Add(time.Duration(minutes * float64(time.Minute)))
			resets := 0
			// Leader changes, from status once a second (a leader that
			// stepped down and was re-elected within it is not counted).
			leaderChanges, leader := 0, ""
			for time.Now().Before(deadline) {
				time.Sleep(time.Second)
				if st, err := c.Status(); err == nil && st.Leader != "" {
					if leader != "" && st.Leader != leader {
						leaderChanges++
					}
					leader = st.Leader
				}
				for _, h := range n.Hosts {
					if h != down && c.Agents[nodeOf(c, h)].Exited() {
						resets++
						t.Logf("SOAK profile=%s +%v: %s's agent was reset by its watchdog; restarting it", profile, time.Since(start).Round(time.Second), h.Name)
						h.Restore()
						c.StartAgent(h)
					}
				}
			}
			for _, p := range stress {
				p.kill()
			}
			m.Stop()
			moves := len(m.Timeline()) - 1 // the first entry is the settled holder
			// Self-fences, and raft's elections and step-downs (a leader
			// re-elected within a second is not a leader change above),
			// from the agents' logs.
			fences, elections, stepdowns := 0, 0, 0
			for _, p := range c.allAgents() {
				l := p.ReadLog()
				fences += strings.Count(l, "lost its lease: self-fencing")
				elections += strings.Count(l, "heartbeat timeout reached, starting election")
				stepdowns += strings.Count(l, "failed to contact quorum of nodes, stepping down")
			}
			fmt.Printf("SOAK profile=%s minutes=%g down=%v vip-holder-changes=%d watchdog-resets=%d self-fences=%d leader-changes=%d elections=%d leader-stepdowns=%d dual=%v sample-gap-max=%v\n",
				profile, minutes, down != nil, moves, resets, fences, leaderChanges, elections, stepdowns, m.DualTime(), m.MaxGap().Round(time.Millisecond))
			if d := m.DualTime(); d > 0 {
				t.Errorf("%s held by two hosts for %v: %v", benchVIP, d, m)
			}
			if profile == "default" && (moves > 0 || resets > 0 || fences > 0) {
				t.Errorf("default profile under CPU pressure: %d VIP holder changes, %d watchdog resets, %d self-fences, want none: %v", moves, resets, fences, m)
			}
		})
	}
}

// The leader-kill soak: RUNS (default 25) times per profile, the VIP is
// moved to the node that leads and that node's agent is killed (its
// watchdog then resets its host, as a real one would). A new leader must
// be elected and renew every other node's lease before their watchdogs
// fire: the test fails if any other node's agent died (a cascade that
// leaves no quorum). Prints one LEADERKILL line per run: how long until
// the VIP answered from another host. It runs only with PACELINE_SOAK=1
// (bench/soak-leader.sh); SOAK_PROFILES picks profiles (default
// "fast,default").
func TestSoakLeaderKill(t *testing.T) {
	if os.Getenv("PACELINE_SOAK") != "1" {
		t.Skip("soak: run bench/soak-leader.sh (PACELINE_SOAK=1)")
	}
	runs := testenv.Count(t, "RUNS", 25)
	for _, profile := range soakProfiles("fast,default") {
		t.Run(profile, func(t *testing.T) {
			n, c := startSoakCluster(t, profile)
			p := StartProber(t, n.Client, benchVIP, benchPort)
			defer p.Stop()
			services := map[*Host]*Proc{}
			for _, h := range n.Hosts {
				services[h] = benchService(h)
			}
			cascades := 0
			for run := 1; run <= runs; run++ {
				st := c.WaitStatus(nil, "every node online", 60*time.Second, func(st *Status) bool {
					return st.Quorum && st.Online() == len(n.Hosts) && st.Leader != ""
				})
				leader := st.Leader
				c.Must("resource", "move", "vip", leader)
				c.WaitStatus(nil, "vip on "+leader, 30*time.Second, func(st *Status) bool {
					_, ns := st.Resource("vip")
					return len(ns) == 1 && ns[0] == leader
				})
				c.Must("resource", "clear", "vip")
				time.Sleep(time.Second + time.Duration(rand.Int64N(int64(time.Second)))) // a random offset in the heartbeat cycle
				at := time.Now()
				c.Agents[leader].kill()
				took := time.Duration(-1)
				if ans, ok := p.FirstOtherThan(c.Host(leader).Name, at, 30*time.Second); ok {
					took = ans.Sub(at)
				}
				time.Sleep(2 * time.Second)
				var dead []string
				for _, h := range n.Hosts {
					name := nodeOf(c, h)
					if c.Agents[name].Exited() {
						if name != leader {
							dead = append(dead, name)
						}
						h.Restore()
						c.StartAgent(h)
					}
					if services[h].Exited() {
						services[h] = benchService(h)
					}
				}
				if len(dead) > 0 {
					cascades++
					t.Errorf("run %d: killing leader %s's agent also reset %v (their watchdogs fired before a new leader renewed them)", run, leader, dead)
				}
				fmt.Printf("LEADERKILL profile=%s run=%d leader=%s failover=%s other-resets=%d\n", profile, run, leader, fmtDur(took), len(dead))
			}
			fmt.Printf("LEADERKILL profile=%s runs=%d cascades=%d\n", profile, runs, cascades)
		})
	}
}

// soakProfiles returns the profiles SOAK_PROFILES names (comma separated),
// def when it is unset.
func soakProfiles(def string) []string {
	if v := os.Getenv("SOAK_PROFILES"); v != "" {
		def = v
	}
	return strings.Split(def, ",")
}

// startSoakCluster runs startVIPCluster on three new namespace hosts.
func startSoakCluster(t *testing.T, profile string, vipArgs ...string) (*Net, *Cluster) {
	n := NewNet(t, 3)
	return n, startVIPCluster(t, n, profile, vipArgs...)
}

// startVIPCluster runs Paceline servers on n's hosts with profile and a
// simulated watchdog per host (timeout the profile's self-fence
// deadline), and the VIP as the command creates it (vipArgs add
// to that command). Every host has a watchdog: fencing is on, so a lost
// node's VIP moves only after its lease and the watchdog timeout, whether
// the node is cut off, hung or dead.
func startVIPCluster(t *testing.T, n *Net, profile string, vipArgs ...string) *Cluster {
	wd := time.Second
	if profile == "fast" {
		wd = 300 * time.Millisecond
	}
	c := NewClusterWith(t, n, Options{AgentArgs: []string{"--profile", profile}, WatchdogTimeout: wd})
	c.Must("property", "set", "stonith-enabled=true")
	c.Must(append([]string{"resource", "create", "vip", "builtin:vip", "ip=" + benchVIP, "cidr=24", "--op", "monitor", "interval=1s"}, vipArgs...)...)
	return c
}
