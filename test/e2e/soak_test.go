package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
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
	profiles := "default,fast"
	if v := os.Getenv("SOAK_PROFILES"); v != "" {
		profiles = v
	}
	for _, profile := range strings.Split(profiles, ",") {
		t.Run(profile, func(t *testing.T) {
			wd := time.Second
			if profile == "fast" {
				wd = 300 * time.Millisecond
			}
			n := NewNet(t, 3)
			c := NewClusterWith(t, n, Options{AgentArgs: []string{"--profile", profile}, WatchdogTimeout: wd})
			c.Must("property", "set", "stonith-enabled=true")
			c.Must("resource", "create", "vip", "builtin:vip", "ip="+benchVIP, "cidr=24", "--op", "monitor", "interval=1s",
				"--meta", "resource-stickiness=100")
			holder := vipHolder(t, n, benchVIP, 30*time.Second)
			m := watchSettled(t, benchVIP, n.Hosts, holder)
			// Two busy loops, one per core, outside the hosts.
			var stress []*Proc
			for i := range 2 {
				stress = append(stress, n.StartOutside(fmt.Sprintf("stress-%d", i), "sh", "-c", "while :; do :; done"))
			}
			start := time.Now()
			deadline := start.Add(time.Duration(minutes * float64(time.Minute)))
			resets := 0
			for time.Now().Before(deadline) {
				time.Sleep(time.Second)
				for _, h := range n.Hosts {
					if c.Agents[nodeOf(c, h)].Exited() {
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
			fences := 0
			for _, p := range c.allAgents() {
				fences += strings.Count(p.ReadLog(), "lost its lease: self-fencing")
			}
			fmt.Printf("SOAK profile=%s minutes=%g vip-holder-changes=%d watchdog-resets=%d self-fences=%d dual=%v sample-gap-max=%v\n",
				profile, minutes, moves, resets, fences, m.DualTime(), m.MaxGap().Round(time.Millisecond))
			if d := m.DualTime(); d > 0 {
				t.Errorf("%s held by two hosts for %v: %v", benchVIP, d, m)
			}
			if profile == "default" && (moves > 0 || resets > 0 || fences > 0) {
				t.Errorf("default profile under CPU pressure: %d VIP holder changes, %d watchdog resets, %d self-fences, want none: %v", moves, resets, fences, m)
			}
		})
	}
}
