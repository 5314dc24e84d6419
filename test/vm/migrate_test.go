package vm

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/agents"
	"github.com/paceline/paceline/test/testenv"
)

// migrate moves g from src to dst as Pacemaker does: migrate_to on the
// source (CRM_meta_migrate_target naming the target), migrate_from on the
// target (CRM_meta_migrate_source), then stop on the source. It checks the
// guest kept running (same boot, uptime still counting) and returns the
// migrate_to time and what a pinger saw.
func migrate(t *testing.T, n *Net, c agentClass, typ agents.Type, id string, g *Guest, src, dst *Host, params func(*Host) map[string]string) (time.Duration, PingStats) {
	t.Helper()
	up0, boot0, err := n.WaitUptime(g.IP, 30*time.Second)
	if err != nil {
		t.Fatalf("uptime before migration: %v", err)
	}
	pinger := n.Ping(g.IP)
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	must(t, src.Run(c, typ, id, "migrate_to", params(src), map[string]string{"migrate_source": src.Addr, "migrate_target": dst.Addr}, 120*time.Second),
		agents.RCOK, "migrate_to "+dst.Name)
	took := time.Since(start)
	must(t, dst.Run(c, typ, id, "migrate_from", params(dst), map[string]string{"migrate_source": src.Addr, "migrate_target": dst.Addr}, 30*time.Second),
		agents.RCOK, "migrate_from on "+dst.Name)
	must(t, src.Run(c, typ, id, "stop", params(src), nil, 30*time.Second), agents.RCOK, "stop on the source")
	time.Sleep(time.Second)
	st := pinger.Stop()
	up1, boot1, err := n.Uptime(g.IP)
	if err != nil {
		t.Fatalf("uptime after migration: %v", err)
	}
	if boot1 != boot0 || up1 <= up0 {
		t.Fatalf("the guest did not keep running: boot %s uptime %.2f before, boot %s uptime %.2f after", boot0, up0, boot1, up1)
	}
	must(t, dst.Run(c, typ, id, "monitor", params(dst), nil, 10*time.Second), agents.RCOK, "monitor on the target")
	must(t, src.Run(c, typ, id, "monitor", params(src), nil, 10*time.Second), agents.RCNotRunning, "monitor on the source")
	if pid := src.QemuPID(g.Name); pid != 0 {
		t.Fatalf("qemu %d still runs %s on %s", pid, g.Name, src.Name)
	}
	if dst.QemuPID(g.Name) == 0 {
		t.Fatalf("no qemu runs %s on %s", g.Name, dst.Name)
	}
	t.Logf("%s -> %s: migrate_to %s; uptime %.2f -> %.2f s (same boot); ping every 10 ms: %d sent, %d lost (%d ms), longest gap between replies %s",
		src.Name, dst.Name, took.Round(time.Millisecond), up0, up1, st.Sent, st.Sent-st.Received, st.LossMS(), st.MaxGap.Round(time.Millisecond))
	return took, st
}

// TestVMLiveMigration: builtin:vm live-migrates a shared-storage guest
// between two libvirt hosts and back; the guest keeps running (same boot,
// uptime counting) and answers ping throughout but for a short gap; a
// local-storage guest is refused with one line and keeps running; the
// watcher never sees a domain on two hosts.
func TestVMLiveMigration(t *testing.T) {
	n := NewNet(t, 2)
	h1, h2 := n.Hosts[0], n.Hosts[1]
	n.Watch()
	c := newBuiltin(t)
	g := n.NewGuest(1, "shared", nil)
	params := func(h *Host) map[string]string { return vmParams(g, h, "shared") }

	must(t, h1.Run(c, vmType, "vm1", "start", params(h1), nil, 60*time.Second), agents.RCOK, "start on h1")
	if _, err := n.WaitPing(g.IP, 180*time.Second); err != nil {
		t.Fatal(err)
	}
	// Back and forth: 2 migrations, or $PL_VM_MIGRATIONS (rounded up to
	// an even number, so the guest ends on h1).
	runs := testenv.Count(t, "PL_VM_MIGRATIONS", 2)
	runs += runs % 2
	var took, lost, gaps []time.Duration
	for i := range runs {
		src, dst := h1, h2
		if i%2 == 1 {
			src, dst = h2, h1
		}
		d, st := migrate(t, n, c, vmType, "vm1", g, src, dst, params)
		took = append(took, d)
		lost = append(lost, time.Duration(st.LossMS())*time.Millisecond)
		gaps = append(gaps, st.MaxGap)
	}
	t.Logf("%d live migrations: migrate_to %s; ping loss %s; longest gap %s", runs, spread(took), spread(lost), spread(gaps))

	// A migration that outlives its operation's timeout is aborted: the
	// guest keeps running on the source, same boot, nothing on the target.
	_, boot0, err := n.Uptime(g.IP)
	if err != nil {
		t.Fatal(err)
	}
	res := h1.Run(c, vmType, "vm1", "migrate_to", params(h1), map[string]string{"migrate_target": h2.Addr}, 1500*time.Millisecond)
	if res.Status != agents.StatusTimedOut {
		t.Fatalf("migrate_to with a 1.5 s timeout: %v rc %v (%s), want timed out", res.Status, res.RC, res.ExitReason)
	}
	// The target's paused incoming copy (monitor counts it as active: a
	// qemu holds the domain there) is removed once libvirt has cleaned up
	// the aborted job; the watcher checks it never ran.
	aborted := time.Now()
	for {
		res = h2.Run(c, vmType, "vm1", "monitor", params(h2), nil, 10*time.Second)
		if res.RC == agents.RCNotRunning || time.Since(aborted) > 20*time.Second {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	must(t, res, agents.RCNotRunning, "monitor on h2 after the aborted migration")
	cleaned := time.Since(aborted)
	must(t, h1.Run(c, vmType, "vm1", "monitor", params(h1), nil, 10*time.Second), agents.RCOK, "monitor on h1 after the aborted migration")
	if _, boot1, err := n.Uptime(g.IP); err != nil || boot1 != boot0 {
		t.Fatalf("after the aborted migration: boot %s, was %s (%v)", boot1, boot0, err)
	}
	t.Logf("migrate_to timed out after 1.5 s: aborted, the guest runs on h1 (same boot); h2's paused copy gone %s later", cleaned.Round(time.Millisecond))

	// A target whose libvirtd cannot be reached: one line, the guest stays.
	res = h1.Run(c, vmType, "vm1", "migrate_to", params(h1), map[string]string{"migrate_target": subnet + "99"}, 30*time.Second)
	must(t, res, agents.RCUnknownError, "migrate_to an unreachable target")
	t.Logf("unreachable target: migrate_to refused: %s", res.ExitReason)
	must(t, h1.Run(c, vmType, "vm1", "monitor", params(h1), nil, 10*time.Second), agents.RCOK, "monitor on h1 after the failed migration")
	if _, boot1, err := n.Uptime(g.IP); err != nil || boot1 != boot0 {
		t.Fatalf("after the failed migration: boot %s, was %s (%v)", boot1, boot0, err)
	}

	// A local-storage guest: the agent refuses to migrate it, it keeps
	// running on its host.
	gl := n.NewGuest(2, "local", h1)
	lp := func(h *Host) map[string]string { return vmParams(gl, h, "local") }
	must(t, h1.Run(c, vmType, "vm2", "start", lp(h1), nil, 60*time.Second), agents.RCOK, "start local guest on h1")
	res = h1.Run(c, vmType, "vm2", "migrate_to", lp(h1), map[string]string{"migrate_target": h2.Addr}, 60*time.Second)
	must(t, res, agents.RCUnknownError, "migrate_to of a local-storage guest")
	if !strings.Contains(res.ExitReason, "needs shared storage") {
		t.Errorf("migrate_to of a local guest: reason %q", res.ExitReason)
	}
	t.Logf("local-storage guest: migrate_to refused: %s", res.ExitReason)
	// Even a guest declared shared whose disk the target lacks is refused
	// by libvirt (the disk is on h1's local file system), and keeps running.
	res = h1.Run(c, vmType, "vm2", "migrate_to", vmParams(gl, h1, "shared"), map[string]string{"migrate_target": h2.Addr}, 60*time.Second)
	must(t, res, agents.RCUnknownError, "migrate_to of a local disk declared shared")
	t.Logf("local disk declared shared: migrate_to refused: %s", res.ExitReason)
	if strings.Contains(res.ExitReason, "\n") {
		t.Errorf("reason is more than one line: %q", res.ExitReason)
	}
	must(t, h1.Run(c, vmType, "vm2", "monitor", lp(h1), nil, 10*time.Second), agents.RCOK, "local guest still runs on h1")
	must(t, h2.Run(c, vmType, "vm2", "monitor", lp(h2), nil, 10*time.Second), agents.RCNotRunning, "local guest not on h2")

	// shutdown_timeout 0: no graceful shutdown, destroyed at once.
	hard := params(h1)
	hard["shutdown_timeout"] = "0"
	res = h1.Run(c, vmType, "vm1", "stop", hard, nil, 30*time.Second)
	must(t, res, agents.RCOK, "stop vm1 with shutdown_timeout 0")
	if !strings.Contains(res.Output, "destroyed") {
		t.Errorf("stop with shutdown_timeout 0: output %q does not say the domain was destroyed", res.Output)
	}
	for _, h := range n.Hosts {
		must(t, h.Run(c, vmType, "vm1", "stop", params(h), nil, 30*time.Second), agents.RCOK, "stop vm1 on "+h.Name)
		must(t, h.Run(c, vmType, "vm2", "stop", lp(h), nil, 30*time.Second), agents.RCOK, "stop vm2 on "+h.Name)
	}
	time.Sleep(200 * time.Millisecond)
	if got := slices.Concat(n.Hosts[0].activeOrNil(t), n.Hosts[1].activeOrNil(t)); len(got) != 0 {
		t.Errorf("domains still running after stop: %v", got)
	}
}

// spread formats min/median/max of ds.
func spread(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	return fmt.Sprintf("min %s median %s max %s", r(s[0]), r(s[len(s)/2]), r(s[len(s)-1]))
}
