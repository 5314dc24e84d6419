package e2e

import (
	"testing"
	"time"
)

// vipHolder waits until exactly one host holds ip and returns it.
func vipHolder(t *testing.T, n *Net, ip string, limit time.Duration) *Host {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var holders []*Host
		for _, h := range n.Hosts {
			if ok, _ := Holds(h, ip); ok {
				holders = append(holders, h)
			}
		}
		if len(holders) == 1 {
			return holders[0]
		}
	}
	t.Fatalf("no single holder of %s within %v", ip, limit)
	return nil
}

// Two servers and a witness (DESIGN.md, two-node arbitration): the VIP
// runs only on the servers; crashing the server that holds it moves it to
// the other, both ways (the crashed server is brought back in between);
// killing the witness moves nothing. No two hosts ever hold the VIP.
func TestTwoServersAndWitness(t *testing.T) {
	n := NewNet(t, 3)
	c := NewCluster(t, n, "server", "server", "witness")
	const vip = "10.77.0.101"
	c.Must("resource", "create", "vip", "builtin:vip", "ip="+vip, "cidr=24", "nic="+hostLink, "--op", "monitor", "interval=1s")
	m := Watch(vip, n.Hosts)
	defer m.Stop()
	witness := n.Hosts[2]
	holder := vipHolder(t, n, vip, 20*time.Second)
	if holder == witness {
		t.Fatalf("the VIP runs on the witness")
	}
	for round := 1; round <= 2; round++ {
		other := n.Hosts[0]
		if holder == other {
			other = n.Hosts[1]
		}
		crashed := time.Now()
		holder.Crash()
		got := vipHolder(t, n, vip, 30*time.Second)
		if got != other {
			t.Fatalf("round %d: after the crash of %s the VIP is on %s, want %s", round, holder.Name, got.Name, other.Name)
		}
		t.Logf("WITNESS round=%d crashed=%s vip-on=%s after %v", round, holder.Name, got.Name, time.Since(crashed).Round(10*time.Millisecond))
		// Bring the crashed server back.
		holder.LinkUp()
		name := nodeOf(c, holder)
		c.StartAgent(holder)
		c.WaitStatus(nil, name+" back online", 30*time.Second, func(st *Status) bool { return st.Quorum && st.Online() == 3 })
		holder = got
	}
	// Killing the witness moves nothing, also when it leads: the election
	// that follows ends well inside the servers' lease margin
	// (membership.Config.RaftTimeout).
	if st, err := c.Status(); err == nil {
		t.Logf("WITNESS killing the witness; leader %s", st.Leader)
	}
	before := len(m.Timeline())
	witness.KillAgent()
	time.Sleep(4 * time.Second)
	if now := vipHolder(t, n, vip, time.Second); now != holder {
		t.Errorf("killing the witness moved the VIP from %s to %s", holder.Name, now.Name)
	}
	if after := len(m.Timeline()); after != before {
		t.Errorf("the VIP's holders changed after the witness was killed: %v", m)
	}
	m.Stop()
	if d := m.DualTime(); d > 0 {
		t.Errorf("%s held by two hosts for %v", vip, d)
	}
}
