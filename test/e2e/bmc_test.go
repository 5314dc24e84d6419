package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/agents"
	"github.com/paceline/paceline/internal/agents/stonith"
	"github.com/paceline/paceline/internal/fence"
)

// bmcFencer returns a fencer that runs fence agents from /usr/sbin
// unmodified, from inside from's namespace (the fencing node), with the
// given devices and levels.
func bmcFencer(t *testing.T, n *Net, from *Host, stonithDir string, devices []*fence.Device, levels []fence.Level) *fence.Fencer {
	t.Helper()
	cfg := stonith.DefaultConfig()
	if stonithDir != "" {
		cfg.Dir = stonithDir
	}
	cls, err := stonith.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f, err := fence.New(fence.Config{Runner: InHost{Host: from, Runner: cls}, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	var nodes []string
	for _, h := range n.Hosts {
		nodes = append(nodes, h.Name)
	}
	if err := f.SetTopology(fence.Topology{Devices: devices, Levels: levels, Nodes: nodes, Options: fence.DefaultOptions()}); err != nil {
		t.Fatal(err)
	}
	return f
}

func ipmiDevice(t *testing.T, id string, b *BMC, extra map[string]string) *fence.Device {
	t.Helper()
	p := b.FenceParams()
	p["pcmk_host_list"] = b.Host.Name
	for k, v := range extra {
		p[k] = v
	}
	d, err := fence.ParseDevice(id, "fence_ipmilan", p)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// hostIsOff checks the host's real state: no process left in its
// namespace and no address on its link.
func hostIsOff(t *testing.T, h *Host) {
	t.Helper()
	if pids := h.NSPids(); len(pids) > 0 {
		t.Errorf("%s still runs processes %v after the fence", h.Name, pids)
	}
	addrs, err := linkAddrs(h)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if !strings.HasPrefix(a, "127.") {
			t.Errorf("%s still holds %s after the fence", h.Name, a)
		}
	}
}

// fence_ipmilan, unmodified and run from h1 through the Fencer, powers h2
// off through h2's simulated BMC: h2's processes are gone, its addresses
// removed and its /run emptied before the fence is reported; power on brings the
// host's address back.
func TestIPMIFenceThroughSimulatedBMCKillsTheHost(t *testing.T) {
	n := NewNet(t, 2)
	h1, h2 := n.Hosts[0], n.Hosts[1]
	bmc := n.AddBMC(h2, "pl-e-bmc-pw")
	// What h2 runs: a service and an extra (service) address.
	svc := h2.Start("h2-service", "sleep", "600")
	n.must("ip", "-n", h2.NS, "addr", "add", "10.77.0.99/24", "dev", h2.Link)
	if _, err := h2.Exec("touch", "/run/pl-e-state"); err != nil {
		t.Fatal(err)
	}
	if !reach(t, h1, h2) {
		t.Fatal("h1 does not reach h2 before the fence")
	}

	f := bmcFencer(t, n, h1, "", []*fence.Device{ipmiDevice(t, "ipmi-h2", bmc, nil)}, nil)
	res, err := f.Fence(context.Background(), fence.Request{Target: "h2", Action: "off", Origin: "h1"})
	if err != nil || res.Verdict != fence.Fenced {
		t.Fatalf("fence h2: %+v %v", res, err)
	}
	t.Logf("fence time through ipmi_sim (fence_ipmilan off, confirmed): %v", res.End.Sub(res.Start))

	svc.wait(5 * time.Second)
	if !svc.Exited() {
		t.Error("h2's service survived the power off")
	}
	hostIsOff(t, h2)
	if _, err := h2.ReadFile("/run/pl-e-state"); err == nil {
		t.Error("h2's /run survived the power off")
	}
	if bmc.PoweredOn() {
		t.Error("the BMC reports power on after the fence")
	}
	h := f.History().List("h2")
	if len(h) != 1 || h[0].Result != fence.ResultSuccess || h[0].Device != "ipmi-h2" || h[0].Origin != "h1" || !h[0].End.After(h[0].Start) {
		t.Fatalf("history: %+v", h)
	}

	// Power on: the host is reachable again.
	if _, err := f.Fence(context.Background(), fence.Request{Target: "h2", Action: "on", Origin: "h1"}); err != nil {
		t.Fatalf("power on h2: %v", err)
	}
	if !bmc.PoweredOn() || !reach(t, h1, h2) {
		t.Error("after power on, h2 is not back on the network")
	}
}

// Level 1's device is an unreachable BMC (a second BMC, stopped): its
// agent is killed at pcmk_off_timeout and level 2 (h2's own BMC) fences;
// the history shows both attempts.
func TestUnreachableLevelOneBMCFallsToLevelTwo(t *testing.T) {
	n := NewNet(t, 3)
	h1, h2, h3 := n.Hosts[0], n.Hosts[1], n.Hosts[2]
	good := n.AddBMC(h2, "pl-e-bmc-pw")
	broken := n.AddBMC(h3, "pl-e-bmc-pw") // a second management controller ...
	broken.Stop()                         // ... that no longer answers
	h2.Start("h2-service", "sleep", "600")

	// The level-1 device points at the stopped BMC but is meant for h2.
	bad := broken.FenceParams()
	bad["pcmk_host_list"], bad["pcmk_off_timeout"], bad["pcmk_off_retries"] = "h2", "4s", "0"
	badDev, err := fence.ParseDevice("ipmi-spare", "fence_ipmilan", bad)
	if err != nil {
		t.Fatal(err)
	}
	f := bmcFencer(t, n, h1, "", []*fence.Device{badDev, ipmiDevice(t, "ipmi-h2", good, nil)},
		[]fence.Level{{Target: "h2", Index: 1, Devices: []string{"ipmi-spare"}}, {Target: "h2", Index: 2, Devices: []string{"ipmi-h2"}}})
	start := time.Now()
	res, err := f.Fence(context.Background(), fence.Request{Target: "h2", Action: "off", Origin: "h1"})
	if err != nil {
		t.Fatalf("fence h2: %v", err)
	}
	t.Logf("fence through level 2 after level 1 timed out: %v (%s)", time.Since(start), res.Reason)
	hostIsOff(t, h2)
	h := f.History().List("h2")
	if len(h) != 2 || h[0].Level != 1 || h[0].Device != "ipmi-spare" || h[0].Result != fence.ResultTimedOut ||
		h[1].Level != 2 || h[1].Device != "ipmi-h2" || h[1].Result != fence.ResultSuccess {
		t.Fatalf("history: %+v", h)
	}
	if d := h[0].End.Sub(h[0].Start); d < 3*time.Second || d > 8*time.Second {
		t.Errorf("level 1 ran %v, want it killed at its 4s timeout", d)
	}
}

// A wrong password is one clear failure line, fast, and the host lives.
func TestWrongBMCPasswordIsOneClearError(t *testing.T) {
	n := NewNet(t, 2)
	h1, h2 := n.Hosts[0], n.Hosts[1]
	bmc := n.AddBMC(h2, "pl-e-bmc-pw")
	svc := h2.Start("h2-service", "sleep", "600")
	dev := ipmiDevice(t, "ipmi-h2", bmc, map[string]string{"password": "wrong", "pcmk_off_retries": "0"})
	f := bmcFencer(t, n, h1, "", []*fence.Device{dev}, nil)
	start := time.Now()
	_, err := f.Fence(context.Background(), fence.Request{Target: "h2", Action: "off", Origin: "h1"})
	if !errors.Is(err, fence.ErrFenceFailed) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "ipmi-h2 off: fence_ipmilan off failed") {
		t.Fatalf("wrong password: %v, want one line naming the device and the agent's failure", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("the error shows the password: %v", err)
	}
	t.Logf("wrong password: %v after %v", err, time.Since(start))
	if svc.Exited() || !bmc.PoweredOn() {
		t.Error("h2 was powered off with a wrong password")
	}
}

// Bad agents end with one clear line each and nothing left running: one
// that hangs (killed with its process group at its timeout), one that
// prints garbage instead of meta-data.
func TestHangingAndGarbageFenceAgentsAreOneClearErrorEach(t *testing.T) {
	n := NewNet(t, 2)
	h1 := n.Hosts[0]
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	meta, err := exec1(stonithMeta)
	if err != nil {
		t.Skipf("fence_dummy meta-data: %v", err)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("meta.xml", meta)
	if err := os.Chmod(filepath.Join(dir, "meta.xml"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Real meta-data (fence_dummy's), then it hangs with a child.
	write("fence_hang", "#!/bin/sh\nread -r a\ncase \"$a\" in action=metadata) cat "+filepath.Join(dir, "meta.xml")+"; exit 0;; esac\nsleep 600 &\necho $! > "+filepath.Join(dir, "child")+"\nwait\n")
	write("fence_garbage", "#!/bin/sh\ncat >/dev/null\nhead -c 300000 /dev/urandom | tr -dc 'a-z<>% \\n'\nexit 0\n")
	mk := func(id, agent string) *fence.Device {
		d, err := fence.ParseDevice(id, agent, map[string]string{"pcmk_host_list": "h2", "pcmk_off_timeout": "2s"})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	f := bmcFencer(t, n, h1, dir, []*fence.Device{mk("hang", "fence_hang"), mk("garbage", "fence_garbage")},
		[]fence.Level{{Target: "h2", Index: 1, Devices: []string{"hang"}}, {Target: "h2", Index: 2, Devices: []string{"garbage"}}})
	start := time.Now()
	_, err = f.Fence(context.Background(), fence.Request{Target: "h2", Action: "off", Origin: "h1"})
	took := time.Since(start)
	if !errors.Is(err, fence.ErrFenceFailed) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("bad agents: %v, want one line", err)
	}
	for _, want := range []string{"level 1 (hang) failed (hang off: fence_hang off did not finish within 2s; its process group was killed)",
		"level 2 (garbage) failed (garbage off: fence: device agent's meta-data is unusable: device garbage: fence_garbage meta-data: stonith: bad meta-data"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nwant it to say %q", err, want)
		}
	}
	if took > 10*time.Second {
		t.Errorf("the bad agents took %v: something was stuck", took)
	}
	child, _ := os.ReadFile(filepath.Join(dir, "child"))
	if pid := strings.TrimSpace(string(child)); pid == "" {
		t.Error("the hanging agent did not start its child")
	} else if _, err := os.Stat("/proc/" + pid + "/cmdline"); err == nil {
		if b, _ := os.ReadFile("/proc/" + pid + "/stat"); !strings.Contains(string(b), ") Z") {
			t.Errorf("the hanging agent's child %s still runs", pid)
		}
	}
	if pids := h1.NSPids(); len(pids) > 0 {
		t.Errorf("processes left in the fencing host's namespace: %v", pids)
	}
}

// stonithMeta prints fence_dummy's meta-data: a real agent's.
var stonithMeta = []string{"/bin/sh", "-c", "echo action=metadata | /usr/sbin/fence_dummy"}

func exec1(argv []string) (string, error) {
	return run(context.Background(), nil, argv...)
}

// The device's monitor, as the executor runs it for a started stonith
// resource: fence_ipmilan's monitor action succeeds while the BMC answers
// and fails (killed at its timeout) once the BMC is stopped.
func TestDeviceMonitorFollowsTheBMC(t *testing.T) {
	n := NewNet(t, 2)
	h1, h2 := n.Hosts[0], n.Hosts[1]
	bmc := n.AddBMC(h2, "pl-e-bmc-pw")
	cls, err := stonith.New(stonith.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	run := InHost{Host: h1, Runner: cls}
	req := func(op string) agents.Request {
		return agents.Request{ResourceID: "ipmi-h2", Agent: agents.Type{Class: stonith.ClassName, Name: "fence_ipmilan"},
			Op: op, Params: bmc.FenceParams(), Timeout: 3 * time.Second, Node: "h1"}
	}
	ctx := context.Background()
	if r := run.Run(ctx, req("monitor")); r.RC != agents.RCNotRunning {
		t.Errorf("probe before start: %+v, want not running", r)
	}
	if r := run.Run(ctx, req("start")); r.RC != agents.RCOK || r.Status != agents.StatusDone {
		t.Fatalf("start (monitor of the device): %+v", r)
	}
	if r := run.Run(ctx, req("monitor")); r.RC != agents.RCOK {
		t.Errorf("monitor with the BMC up: %+v", r)
	}
	bmc.Stop()
	start := time.Now()
	r := run.Run(ctx, req("monitor"))
	if r.RC == agents.RCOK {
		t.Errorf("monitor with the BMC stopped: %+v, want a failure", r)
	}
	t.Logf("monitor with the BMC stopped: %s %s after %v", r.Status, r.ExitReason, time.Since(start))
	if time.Since(start) > 6*time.Second {
		t.Errorf("the monitor ran %v, past its 3s timeout", time.Since(start))
	}
}

// The cluster's default stonith-action, reboot, through fence_ipmilan:
// everything h2 ran is gone and h2 is back on the network (powered on,
// its processes are for its agent to start again).
func TestIPMIRebootKillsTheHostAndPowersItBackOn(t *testing.T) {
	n := NewNet(t, 2)
	h1, h2 := n.Hosts[0], n.Hosts[1]
	bmc := n.AddBMC(h2, "pl-e-bmc-pw")
	svc := h2.Start("h2-service", "sleep", "600")
	n.must("ip", "-n", h2.NS, "addr", "add", "10.77.0.99/24", "dev", h2.Link)
	f := bmcFencer(t, n, h1, "", []*fence.Device{ipmiDevice(t, "ipmi-h2", bmc, nil)}, nil)
	res, err := f.Fence(context.Background(), fence.Request{Target: "h2", Origin: "h1"})
	if err != nil || res.Action != "reboot" {
		t.Fatalf("reboot h2: %+v %v", res, err)
	}
	t.Logf("reboot through ipmi_sim: %v", res.End.Sub(res.Start))
	svc.wait(5 * time.Second)
	if !svc.Exited() || len(h2.NSPids()) > 0 {
		t.Errorf("h2's processes survived the reboot: %v", h2.NSPids())
	}
	if ok, _ := Holds(h2, "10.77.0.99"); ok {
		t.Error("h2 still holds its service address after the reboot")
	}
	if !bmc.PoweredOn() || !reach(t, h1, h2) {
		t.Error("h2 is not back on the network after the reboot")
	}
}
