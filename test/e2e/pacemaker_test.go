package e2e

import (
	"testing"
	"time"
)

// A real Corosync + Pacemaker cluster in the hosts' namespaces moves its
// IPaddr2 VIP off a crashed host, and the host rejoins after a restart.
func TestPacemakerVIP(t *testing.T) {
	NeedPacemaker(t)
	n := NewNet(t, 3)
	p := NewPacemaker(t, n, n.Hosts, PacemakerOptions{})
	if out, err := p.Crm(n.Hosts[0], "corosync-cmapctl", "-g", "runtime.config.totem.token"); err == nil {
		t.Logf("pacemaker: %s", out)
	}
	from, err := p.Holder()
	if err != nil {
		t.Fatal(err)
	}
	if dc, err := p.DC(nil); err == nil {
		t.Logf("pacemaker: VIP on %s, DC %s", from.Name, dc.Name)
	}
	m := Watch(p.Opts.VIP, n.Hosts)
	defer m.Stop()
	crashed := time.Now()
	from.Crash()
	var to *Host
	if err := waitFor(60*time.Second, func() error {
		h, err := p.Holder()
		if err == nil {
			to = h
		}
		return err
	}); err != nil {
		out, _ := p.Crm(otherThan(n.Hosts, from), "crm_mon", "-1", "-r")
		t.Fatalf("VIP did not move off crashed %s: %v\n%s", from.Name, err, out)
	}
	t.Logf("pacemaker: crash of %s -> VIP on %s after %v", from.Name, to.Name, time.Since(crashed).Round(time.Millisecond))
	m.Stop()
	t.Log(m)
	if to == from {
		t.Fatalf("VIP back on crashed %s", from.Name)
	}
	restarted := time.Now()
	p.Restart(from)
	t.Logf("pacemaker: %s online again %v after restart", from.Name, time.Since(restarted).Round(time.Millisecond))
	if h, err := p.Holder(); err != nil || h != to {
		t.Errorf("after the restart of %s: holder %v, %v; want %s (stickiness)", from.Name, h, err, to.Name)
	}
}

func otherThan(hosts []*Host, not *Host) *Host {
	for _, h := range hosts {
		if h != not {
			return h
		}
	}
	return nil
}
