package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	code := m.Run()
	RemoveBinary()
	os.Exit(code)
}

// webOn creates web (builtin:dummy, monitor every second) and returns the
// node it runs on: the leader when onLeader, another node otherwise (moved
// there with `paceline resource move` when the scheduler chose otherwise).
func webOn(t *testing.T, c *Cluster, onLeader bool) (string, *Status) {
	t.Helper()
	c.Must("resource", "create", "web", "builtin:dummy", "--op", "monitor", "interval=1s")
	st := c.WaitStatus(nil, "web Started", 20*time.Second, func(st *Status) bool {
		role, nodes := st.Resource("web")
		return role == "Started" && len(nodes) == 1 && st.Leader != ""
	})
	_, nodes := st.Resource("web")
	if (nodes[0] == st.Leader) == onLeader {
		return nodes[0], st
	}
	target := st.Leader
	if !onLeader {
		for i := range c.Net.Hosts {
			if n := NodeName(i); n != st.Leader {
				target = n
				break
			}
		}
	}
	c.Must("resource", "move", "web", target)
	st = c.WaitStatus(nil, "web moved to "+target, 20*time.Second, func(st *Status) bool {
		role, nodes := st.Resource("web")
		return role == "Started" && len(nodes) == 1 && nodes[0] == target
	})
	return target, st
}

// placements are the two cases of every fault: web on the leader (the
// fault also costs the cluster its leader) and web on a follower.
var placements = []struct {
	name     string
	onLeader bool
}{{"web-on-leader", true}, {"web-on-follower", false}}

// The host running web crashes (every process killed, link down, as a
// watchdog reset): web is Started on another host, never on two.
func TestCrashOfWebHost(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) { crashOfWebHost(t, p.onLeader) })
	}
}

func crashOfWebHost(t *testing.T, onLeader bool) {
	n := NewNet(t, 3)
	c := NewCluster(t, n)
	victim, st := webOn(t, c, onLeader)
	leader := st.Leader
	var others []*Host
	for _, h := range n.Hosts {
		if h != c.Host(victim) {
			others = append(others, h)
		}
	}
	crashed := time.Now()
	c.Host(victim).Crash()
	var elected time.Duration
	st = c.WaitStatus(others, "web Started on another host", 30*time.Second, func(st *Status) bool {
		if elected == 0 && st.Leader != "" && st.Leader != victim && leader == victim {
			elected = time.Since(crashed)
		}
		role, nodes := st.Resource("web")
		return role == "Started" && len(nodes) == 1 && nodes[0] != victim
	})
	took := time.Since(crashed)
	_, nodes := st.Resource("web")
	t.Logf("CRASH victim=%s old-leader=%s new-leader=%s (elected after %v) web-on=%s web-after=%v",
		victim, leader, st.Leader, elected.Round(10*time.Millisecond), nodes[0], took.Round(10*time.Millisecond))
	// It stays put.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := c.Status(others...); err == nil {
			c.CheckSingle(st)
			if role, ns := st.Resource("web"); role != "Started" || len(ns) != 1 || ns[0] != nodes[0] {
				t.Errorf("web %s on %v after recovery, want Started on %s", role, ns, nodes[0])
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The host running web is cut off from the other two (nftables, both
// directions): it loses quorum and stops web (self-fencing) before the
// majority starts web elsewhere.
func TestMinorityPartition(t *testing.T) {
	for _, p := range placements {
		knownBug := "" // set to a reason to report an overlap as a skip while a fix is pending
		t.Run(p.name, func(t *testing.T) { minorityPartition(t, p.onLeader, knownBug) })
	}
}

func minorityPartition(t *testing.T, onLeader bool, knownBug string) {
	n := NewNet(t, 3)
	c := NewCluster(t, n)
	victim, st := webOn(t, c, onLeader)
	leader := st.Leader
	iso := c.Host(victim)
	var others []*Host
	for _, h := range n.Hosts {
		if h != iso {
			others = append(others, h)
		}
	}
	agent := c.Agents[victim]
	const fenceLine = "lost its lease: self-fencing"
	if strings.Contains(agent.ReadLog(), fenceLine) {
		t.Fatalf("%s self-fenced before the partition", victim)
	}

	cut := time.Now()
	n.Partition([]*Host{iso}, others, false)
	var fenced, noQuorum, started time.Duration
	var majority *Status
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && (started == 0 || noQuorum == 0); {
		// Read the isolated agent's log before the majority's status: a
		// fence seen now happened before anything the majority reports.
		if fenced == 0 && strings.Contains(agent.ReadLog(), fenceLine) {
			fenced = time.Since(cut)
		}
		if noQuorum == 0 {
			if st, err := c.Status(iso); err == nil && !st.Quorum {
				noQuorum = time.Since(cut)
			}
		}
		if started == 0 {
			if st, err := c.Status(others...); err == nil {
				c.CheckSingle(st)
				role, nodes := st.Resource("web")
				if role == "Started" && len(nodes) == 1 && nodes[0] != victim {
					started, majority = time.Since(cut), st
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The isolated node may self-fence only after the majority started
	// web (the known bug below): wait for it, to tell late from never.
	for limit := time.Now().Add(5 * time.Second); fenced == 0 && time.Now().Before(limit); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(agent.ReadLog(), fenceLine) {
			fenced = time.Since(cut)
		}
	}
	switch {
	case started == 0:
		t.Fatalf("the majority did not start web within 30 s of the partition (isolated %s fenced after %v)", victim, fenced)
	case noQuorum == 0:
		t.Errorf("the isolated %s's status API never reported no quorum", victim)
	case fenced == 0:
		t.Errorf("the isolated %s never self-fenced", victim)
	}
	_, nodes := majority.Resource("web")
	// The order that matters, from the agents' own log timestamps (one
	// clock): the isolated node began stopping web before the leader
	// dispatched web's start elsewhere.
	fenceAt, _ := LogTime(agent.ReadLog(), fenceLine, cut)
	var startAt time.Time
	for name, p := range c.Agents {
		if name == victim {
			continue
		}
		if at, ok := LogTime(p.ReadLog(), "dispatch "+nodes[0]+"/web_start_0", cut); ok && (startAt.IsZero() || at.Before(startAt)) {
			startAt = at
		}
	}
	margin := "unknown"
	if !fenceAt.IsZero() && !startAt.IsZero() {
		margin = startAt.Sub(fenceAt).Round(time.Millisecond).String()
	}
	switch {
	case fenceAt.IsZero() || startAt.IsZero():
		t.Errorf("no log line for the self-fence of %s (%v) or the start of web on %s (%v)", victim, fenceAt, nodes[0], startAt)
	case !fenceAt.Before(startAt) && knownBug != "":
		defer t.Skipf("KNOWN BUG (%s): web's start on %s was dispatched at %s, %v before %s self-fenced at %s",
			knownBug, nodes[0], startAt.Format("15:04:05.000"), fenceAt.Sub(startAt), victim, fenceAt.Format("15:04:05.000"))
	case !fenceAt.Before(startAt):
		t.Errorf("web's start on %s was dispatched at %s, %v before %s self-fenced at %s",
			nodes[0], startAt.Format("15:04:05.000"), fenceAt.Sub(startAt), victim, fenceAt.Format("15:04:05.000"))
		for name, p := range c.Agents {
			t.Logf("%s: %s", name, GrepLog(p.ReadLog(), cut, "web_st", "lease", "fenc", "lead"))
		}
	}
	t.Logf("PARTITION isolated=%s old-leader=%s majority-leader=%s no-quorum-after=%v self-fenced-after=%v web-on=%s web-after=%v fence-to-start=%s",
		victim, leader, majority.Leader, noQuorum.Round(10*time.Millisecond), fenced.Round(10*time.Millisecond),
		nodes[0], started.Round(10*time.Millisecond), margin)

	// The isolated node records its loss of quorum once it has lasted 2 s
	// (events.QuorumGrace; its recorder looks every second): let it.
	if wait := noQuorum + 3500*time.Millisecond - time.Since(cut); wait > 0 {
		time.Sleep(wait)
	}

	// Healed, the isolated node comes back and web still runs once.
	n.Heal()
	healed := time.Now()
	c.WaitStatus(nil, "every node online after heal", 30*time.Second, func(st *Status) bool {
		role, ns := st.Resource("web")
		return st.Quorum && st.Online() == 3 && role == "Started" && len(ns) == 1
	})
	t.Logf("HEAL all online with web on one node after %v", time.Since(healed).Round(10*time.Millisecond))
	checkQuorumEvents(t, c, victim, cut, healed)
}

// checkQuorumEvents: the isolated node could record nothing while it had
// no quorum; once healed, paceline events lists its quorum-lost with the
// time it happened (during the partition) and its quorum-regained.
func checkQuorumEvents(t *testing.T, c *Cluster, victim string, cut, healed time.Time) {
	t.Helper()
	type event struct {
		Kind   string `json:"kind"`
		Node   string `json:"node"`
		TimeMs int64  `json:"time_ms"`
	}
	var lost, regained *event
	for deadline := time.Now().Add(10 * time.Second); lost == nil || regained == nil; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("paceline events lacks quorum-lost or quorum-regained of %s (lost %+v, regained %+v)", victim, lost, regained)
			return
		}
		var log struct{ Events []event }
		out, err := c.Paceline(c.Net.Client, "events", "--json")
		if err != nil || json.Unmarshal([]byte(out), &log) != nil {
			continue
		}
		for i := range log.Events {
			switch e := &log.Events[i]; {
			case e.Node == victim && e.Kind == "quorum-lost" && e.TimeMs >= cut.UnixMilli():
				lost = e
			case e.Node == victim && e.Kind == "quorum-regained" && e.TimeMs >= cut.UnixMilli():
				regained = e
			}
		}
	}
	at := time.UnixMilli(lost.TimeMs)
	if !at.Before(healed) {
		t.Errorf("quorum-lost of %s at %s, after the heal at %s: want the time it happened", victim, at.Format("15:04:05.000"), healed.Format("15:04:05.000"))
	}
	t.Logf("EVENTS %s quorum-lost at cut+%v (recorded after the heal), quorum-regained at heal+%v", victim,
		at.Sub(cut).Round(10*time.Millisecond), time.UnixMilli(regained.TimeMs).Sub(healed).Round(10*time.Millisecond))
}

// builtin:vip on three hosts: exactly one host holds the address; when it
// crashes another takes it over, with no time on two hosts. Skips until
// the agent exists.
func TestVIPFailover(t *testing.T) {
	n := NewNet(t, 3)
	c := NewCluster(t, n)
	const vip = "10.77.0.100"
	if _, err := c.Paceline(n.Client, "resource", "create", "vip", "builtin:vip", "ip="+vip, "cidr=24", "nic="+hostLink,
		"--op", "monitor", "interval=1s"); err != nil {
		t.Skipf("builtin:vip not available: %v", err)
	}
	var st *Status
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		st, _ = c.Status()
		if st == nil {
			continue
		}
		if role, nodes := st.Resource("vip"); role == "Started" && len(nodes) == 1 {
			break
		}
		st = nil
		// Every node's probe answered "not installed" (OCF rc 5).
		notInstalled := 0
		for _, p := range c.Agents {
			notInstalled += strings.Count(p.ReadLog(), " vip_monitor_0 rc=5 ")
		}
		if notInstalled >= len(n.Hosts) {
			t.Skip("builtin:vip not available: every node's probe says not installed (rc=5)")
		}
	}
	if st == nil {
		t.Skip("builtin:vip not available: the vip resource did not start in 10 s")
	}
	m := Watch(vip, n.Hosts)
	defer m.Stop()
	_, nodes := st.Resource("vip")
	holder := c.Host(nodes[0])
	deadline := time.Now().Add(5 * time.Second)
	for ok, _ := Holds(holder, vip); !ok && time.Now().Before(deadline); ok, _ = Holds(holder, vip) {
		time.Sleep(20 * time.Millisecond)
	}
	crashed := time.Now()
	holder.Crash()
	var others []*Host
	for _, h := range n.Hosts {
		if h != holder {
			others = append(others, h)
		}
	}
	var moved time.Duration
	for limit := time.Now().Add(30 * time.Second); time.Now().Before(limit) && moved == 0; time.Sleep(20 * time.Millisecond) {
		for _, h := range others {
			if ok, _ := Holds(h, vip); ok {
				moved = time.Since(crashed)
			}
		}
	}
	m.Stop()
	t.Log(m)
	if moved == 0 {
		t.Fatalf("no other host took %s within 30 s of the crash of %s", vip, holder.Name)
	}
	if d := m.DualTime(); d > 0 {
		t.Errorf("%s held by two hosts for %v", vip, d)
	}
	t.Logf("VIP crashed=%s vip-moved-after=%v", holder.Name, moved.Round(10*time.Millisecond))
}
