package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// fenceVIP is the VIP of the fencing tests.
const fenceVIP = subnet + "150"

// bmcPassword is the simulated BMCs' throw-away administrator password.
const bmcPassword = "pl-e-bmc-pw"

// fencingCluster is a cluster of hosts namespace hosts, each with a
// simulated BMC and a fence_ipmilan device for its node (AddIPMIDevices),
// stonith-enabled=true and stonith-action=off (a fenced host stays off:
// its state can be checked).
func fencingCluster(t *testing.T, hosts int) (*Net, *Cluster, []*BMC) {
	t.Helper()
	return fencingClusterWith(t, hosts, Options{})
}

// fencingClusterWith is fencingCluster with NewClusterWith's options.
func fencingClusterWith(t *testing.T, hosts int, o Options) (*Net, *Cluster, []*BMC) {
	t.Helper()
	NeedBMC(t)
	n := NewNet(t, hosts)
	c := NewClusterWith(t, n, o)
	bmcs := c.AddIPMIDevices(bmcPassword)
	c.MustSetUp("property", "set", "stonith-action=off")
	c.MustSetUp("property", "set", "stonith-enabled=true")
	return n, c, bmcs
}

// createVIP creates the VIP with a monitor, preferring node on, and waits
// until on holds it.
func createVIP(t *testing.T, c *Cluster, on string) {
	t.Helper()
	c.MustSetUp("resource", "create", "vip", "builtin:vip", "ip="+fenceVIP, "cidr=24", "--op", "monitor", "interval=1s")
	c.MustSetUp("constraint", "add", "location", "vip-on-"+on, "vip", on, "100")
	c.WaitStatus(nil, "vip Started on "+on, 30*time.Second, func(st *Status) bool {
		role, nodes := st.Resource("vip")
		return role == "Started" && len(nodes) == 1 && nodes[0] == on
	})
	h := c.Host(on)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if ok, _ := Holds(h, fenceVIP); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not hold %s", h.Name, fenceVIP)
		}
	}
}

// vipMoved waits until a host other than from holds the VIP and returns
// it and when it was first seen there.
func vipMoved(t *testing.T, n *Net, from *Host, limit time.Duration) (*Host, time.Time) {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, h := range n.Hosts {
			if h == from {
				continue
			}
			if ok, _ := Holds(h, fenceVIP); ok {
				return h, time.Now()
			}
		}
	}
	t.Fatalf("no host but %s took %s within %v", from.Name, fenceVIP, limit)
	return nil, time.Time{}
}

// A node whose agent is paused (SIGSTOP, no watchdog) while it holds the
// VIP is fenced through its BMC by fence_ipmilan, and the VIP starts
// elsewhere only after the device confirmed: never two holders (Monitor
// samples every host every 5 ms), the host really off (no process, no
// address), the fence in `fence history`.
func TestPausedVIPHolderIsFencedThroughItsBMC(t *testing.T) {
	n, c, bmcs := fencingCluster(t, 3)
	createVIP(t, c, "n2")
	h2 := c.Host("n2")
	m := Watch(fenceVIP, n.Hosts)
	defer m.Stop()
	paused := time.Now()
	h2.StopAgent()
	to, movedAt := vipMoved(t, n, h2, 60*time.Second)
	m.Stop()
	t.Log(m)
	if d := m.DualTime(); d > 0 {
		t.Errorf("%s held by two hosts for %v", fenceVIP, d)
	}
	if bmcs[1].PoweredOn() {
		t.Errorf("h2's BMC reports power on")
	}
	hostIsOff(t, h2)
	h := c.FenceHistory("n2")
	if len(h) == 0 {
		t.Fatal("no fence of n2 in the history")
	}
	last := h[len(h)-1]
	if last.Device != "ipmi-n2" || last.Result != "success" || last.Origin != "controller" || last.Action != "off" {
		t.Fatalf("last fence of n2: %+v", last)
	}
	if movedAt.Before(last.End.Add(-time.Millisecond)) {
		t.Errorf("the VIP was on %s at %v, before the device confirmed the fence at %v", to.Name, movedAt, last.End)
	}
	t.Logf("paused n2 at 0; fence_ipmilan ran %v..%v (by %s); VIP on %s at %v",
		last.Start.Sub(paused).Round(time.Millisecond), last.End.Sub(paused).Round(time.Millisecond), last.Executor, to.Name,
		movedAt.Sub(paused).Round(time.Millisecond))
	st := c.WaitStatus(nil, "n2 offline", 10*time.Second, func(st *Status) bool {
		for _, x := range st.Nodes {
			if x.Name == "n2" {
				return x.State == "offline"
			}
		}
		return false
	})
	_ = st
	if out := c.Must("status"); !strings.Contains(out, "n2 fenced by ipmi-n2") {
		t.Errorf("status does not say who fenced n2:\n%s", out)
	}
}

// A stop that fails on a node (it outlasts its timeout) gets that node
// fenced through its BMC, and the resource starts elsewhere after the
// fence.
func TestFailedStopFencesTheNode(t *testing.T) {
	_, c, _ := fencingCluster(t, 3)
	c.Must("resource", "create", "slow", "builtin:dummy", "op_sleep=3s", "--op", "stop", "timeout=1s")
	c.Must("constraint", "add", "location", "slow-on-n2", "slow", "n2", "100")
	c.WaitStatus(nil, "slow Started on n2", 30*time.Second, func(st *Status) bool {
		role, nodes := st.Resource("slow")
		return role == "Started" && len(nodes) == 1 && nodes[0] == "n2"
	})
	moved := time.Now()
	c.Must("constraint", "add", "location", "slow-on-n3", "slow", "n3", "200")
	c.WaitStatus(nil, "slow Started on n3", 60*time.Second, func(st *Status) bool {
		role, nodes := st.Resource("slow")
		return role == "Started" && len(nodes) == 1 && nodes[0] == "n3"
	})
	h := c.FenceHistory("n2")
	if len(h) == 0 || h[len(h)-1].Result != "success" || h[len(h)-1].Device != "ipmi-n2" || h[len(h)-1].Origin != "controller" {
		t.Fatalf("fence history of n2: %+v", h)
	}
	hostIsOff(t, c.Host("n2"))
	if t.Failed() {
		t.Logf("status:\n%s\nleader's log:\n%s", c.Must("status"), GrepLog(c.Agents["n1"].ReadLog(), moved, "ipmi-n2", "fence", "n2 "))
	}
	t.Logf("slow's stop failed on n2; n2 fenced %v after the move was asked; slow on n3", h[len(h)-1].End.Sub(moved).Round(time.Millisecond))
}

// Level 1's device is a BMC that does not answer (a second BMC,
// stopped): `paceline node fence n2` falls to level 2 (n2's own BMC), and
// `fence history` shows both attempts.
func TestUnreachableLevelOneThenLevelTwoWithCLIWords(t *testing.T) {
	_, c, bmcs := fencingCluster(t, 3)
	spare := bmcs[2] // h3's BMC, pointed at n2 and stopped: unreachable
	spare.Stop()
	c.Must("resource", "create", "ipmi-spare", "stonith:fence_ipmilan", "ip="+spare.Addr, "username=admin",
		"password="+bmcPassword, "lanplus=1", "cipher=3", "pcmk_host_list=n2", "pcmk_off_timeout=4s", "pcmk_off_retries=0")
	c.Must("fence", "level", "add", "n2", "1", "ipmi-spare")
	c.Must("fence", "level", "add", "n2", "2", "ipmi-n2")
	if out := c.Must("fence", "level", "list"); !strings.Contains(out, "ipmi-spare") || !strings.Contains(out, "ipmi-n2") {
		t.Errorf("fence level list:\n%s", out)
	}
	t.Logf("fence devices:\n%s", c.Must("fence", "devices"))
	start := time.Now()
	out := c.Must("node", "fence", "n2", "--off")
	took := time.Since(start)
	t.Logf("paceline node fence n2 --off (%v):\n%s", took.Round(time.Millisecond), out)
	h := c.FenceHistory("n2")
	if len(h) < 2 {
		t.Fatalf("history: %+v", h)
	}
	first, last := h[0], h[len(h)-1]
	if first.Device != "ipmi-spare" || first.Level != 1 || first.Result == "success" {
		t.Errorf("first attempt: %+v, want ipmi-spare at level 1 failing", first)
	}
	if last.Device != "ipmi-n2" || last.Level != 2 || last.Result != "success" || !strings.HasPrefix(last.Origin, "token:") {
		t.Errorf("last attempt: %+v, want ipmi-n2 at level 2 succeeding, asked by a token", last)
	}
	hostIsOff(t, c.Host("n2"))
	t.Logf("fence history n2:\n%s", c.Must("fence", "history", "n2"))
}

// A paused node with neither a fence device nor a watchdog and
// stonith-enabled=true: its VIP is held (nowhere else), status says why,
// and `paceline node confirm-down` (after the operator made sure the host
// is off) releases it.
func TestPausedNodeWithoutDeviceIsHeldUntilConfirmDown(t *testing.T) {
	n := NewNet(t, 3)
	c := NewCluster(t, n)
	c.Must("property", "set", "stonith-enabled=true")
	createVIP(t, c, "n2")
	h2 := c.Host("n2")
	m := Watch(fenceVIP, n.Hosts)
	defer m.Stop()
	h2.StopAgent()
	c.WaitStatus(nil, "n2 unclean", 20*time.Second, func(st *Status) bool {
		for _, x := range st.Nodes {
			if x.Name == "n2" {
				return x.State == "unclean"
			}
		}
		return false
	})
	time.Sleep(5 * time.Second) // well past the lease and the self-fence deadline
	// Status says why (polled: a leader elected meanwhile on a loaded
	// machine first waits one lease).
	why := "n2 UNCLEAN: no fence device has confirmed n2 off and no watchdog guards its lease"
	out := c.Must("status")
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out, why) && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		out = c.Must("status")
	}
	if !strings.Contains(out, why) {
		t.Errorf("status does not say why n2's resources are held:\n%s", out)
	}
	for _, h := range n.Hosts[1:] {
		if h == h2 {
			continue
		}
		if ok, _ := Holds(h, fenceVIP); ok {
			t.Fatalf("%s took the VIP of a paused node nobody fenced", h.Name)
		}
	}
	t.Logf("status while n2 is held:\n%s", out)
	// The operator makes sure the host is off, then says so.
	h2.Crash()
	confirmed := time.Now()
	t.Log(c.Must("node", "confirm-down", "n2"))
	to, movedAt := vipMoved(t, n, h2, 30*time.Second)
	m.Stop()
	if d := m.DualTime(); d > 0 {
		t.Errorf("%s held by two hosts for %v", fenceVIP, d)
	}
	if audit := c.Must("audit", "--since", "5m"); !strings.Contains(audit, "/v1/nodes/n2/confirm-down") {
		t.Errorf("the confirm-down is not in the audit log:\n%s", audit)
	}
	t.Logf("VIP on %s %v after the confirm-down", to.Name, movedAt.Sub(confirmed).Round(time.Millisecond))
}

// Bad input gets one clear line, a non-zero exit and no change: a level
// naming a device that does not exist, a device for a node that does not
// exist, a device with a wrong password (the fence fails in one line,
// recorded, nothing stuck: a second fence runs), and a device whose BMC
// does not answer (the agent is killed at its timeout: "timed out").
func TestFencingBadInput(t *testing.T) {
	_, c, bmcs := fencingCluster(t, 3)
	epoch := func() string {
		var st struct{ Epoch uint64 }
		if err := json.Unmarshal([]byte(c.Must("status", "--json")), &st); err != nil {
			t.Fatal(err)
		}
		return jsonNum(st.Epoch)
	}
	oneLineFail := func(want string, args ...string) {
		t.Helper()
		before := epoch()
		out, err := c.Paceline(c.Net.Client, args...)
		if err == nil {
			t.Fatalf("paceline %s succeeded: %s", strings.Join(args, " "), out)
		}
		msg := strings.TrimSpace(err.Error())
		if !strings.Contains(msg, want) {
			t.Errorf("paceline %s: %q, want it to say %q", strings.Join(args, " "), msg, want)
		}
		if after := epoch(); after != before {
			t.Errorf("paceline %s changed the configuration (epoch %s -> %s)", strings.Join(args, " "), before, after)
		}
		t.Logf("paceline %s\n  -> %s", strings.Join(args, " "), lastLine(msg))
	}
	oneLineFail(`unknown fence device "nosuch"`, "fence", "level", "add", "n2", "1", "nosuch")
	oneLineFail("pcmk_host_list names n9", "resource", "create", "ipmi-n9", "stonith:fence_ipmilan", "ip="+bmcs[0].Addr,
		"username=admin", "password=x", "lanplus=1", "pcmk_host_list=n9")
	oneLineFail("not a node", "fence", "level", "add", "n9", "1", "ipmi-n2")

	// A wrong password: the fence fails in one line and is recorded.
	c.Must("resource", "create", "ipmi-wrong", "stonith:fence_ipmilan", "ip="+bmcs[1].Addr, "username=admin",
		"password=not-the-password", "lanplus=1", "cipher=3", "pcmk_host_list=n2", "pcmk_off_retries=0")
	c.Must("fence", "level", "add", "n2", "1", "ipmi-wrong")
	start := time.Now()
	out, err := c.Paceline(c.Net.Client, "node", "fence", "n2", "--off")
	if err == nil {
		t.Fatalf("fence through a wrong password succeeded: %s", out)
	}
	t.Logf("wrong password (%v): %s", time.Since(start).Round(time.Millisecond), lastLine(err.Error()))
	h := c.FenceHistory("n2")
	if len(h) == 0 || h[len(h)-1].Device != "ipmi-wrong" || h[len(h)-1].Result == "success" || h[len(h)-1].Reason == "" {
		t.Errorf("history after the wrong password: %+v", h)
	}
	if !bmcs[1].PoweredOn() {
		t.Fatal("n2 powered off through a wrong password")
	}
	// An unreachable BMC: the agent is killed at its timeout.
	bmcs[1].Stop()
	c.Must("resource", "update", "ipmi-wrong", "password="+bmcPassword, "pcmk_off_timeout=3s")
	start = time.Now()
	if out, err := c.Paceline(c.Net.Client, "node", "fence", "n2", "--off"); err == nil {
		t.Fatalf("fence through an unreachable BMC succeeded: %s", out)
	} else {
		t.Logf("unreachable BMC (%v): %s", time.Since(start).Round(time.Millisecond), lastLine(err.Error()))
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("a fence through an unreachable BMC took %v", took)
	}
	h = c.FenceHistory("n2")
	if last := h[len(h)-1]; last.Result != "timed out" {
		t.Errorf("last attempt through the unreachable BMC: %+v, want timed out", last)
	}
	// Nothing is stuck: with the BMC back, the next fence works.
	bmcs[1].Start()
	c.Must("fence", "level", "remove", "n2", "1")
	c.Must("node", "fence", "n2", "--off")
	hostIsOff(t, c.Host("n2"))
}

func jsonNum(u uint64) string {
	b, _ := json.Marshal(u)
	return string(b)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
