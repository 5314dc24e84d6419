package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/paceline/paceline/internal/agents"
)

// BMC is a simulated baseboard management controller for one host: an
// OpenIPMI ipmi_sim (Debian package openipmi) speaking IPMI over LAN
// (RMCP+, UDP port 623) on a management address of the bridge, in the
// switch namespace, so it survives its host's power-off and every host
// reaches it. Its chassis power control is a program the harness writes:
// power off SIGKILLs every process of the host's namespace, waits until
// none is left, removes every address of the host's link, sets the link
// down and empties the host's /run, and only then reports the power off; power on sets the link
// up with the host's own address back (the caller starts its processes
// again). The power state lives in a file the control program keeps.
type BMC struct {
	Host *Host
	// Addr is the management address (10.77.0.201 for h1, ...).
	Addr string
	// User and Password are the BMC's administrator.
	User, Password string
	dir            string
	proc           *Proc
}

// bmcSubnetBase is the last octet of h1's BMC address.
const bmcSubnetBase = 201

// NeedBMC skips the test with a notice unless ipmi_sim (openipmi) and
// fence_ipmilan with ipmitool (fence-agents, ipmitool) are installed.
func NeedBMC(t *testing.T) {
	t.Helper()
	for _, f := range []struct{ path, pkg string }{
		{"/usr/bin/ipmi_sim", "openipmi"}, {"/usr/bin/ipmitool", "ipmitool"}, {"/usr/sbin/fence_ipmilan", "fence-agents"},
	} {
		if _, err := os.Stat(f.path); err != nil {
			t.Skipf("e2e: %s is missing (apt-get install %s)", f.path, f.pkg)
		}
	}
}

// AddBMC gives h a simulated BMC with user admin and the given password,
// listening on its management address; the harness stops it at cleanup.
func (n *Net) AddBMC(h *Host, password string) *BMC {
	n.t.Helper()
	NeedBMC(n.t)
	idx := -1
	for i, x := range n.Hosts {
		if x == h {
			idx = i
		}
	}
	if idx < 0 {
		n.t.Fatalf("e2e: AddBMC: %s is not a host of this net", h.Name)
	}
	b := &BMC{Host: h, Addr: subnet + strconv.Itoa(bmcSubnetBase+idx), User: "admin", Password: password,
		dir: filepath.Join(n.dir, "bmc-"+h.Name)}
	if err := os.MkdirAll(filepath.Join(b.dir, "state"), 0o700); err != nil {
		n.t.Fatal(err)
	}
	n.must("ip", "-n", switchNS, "addr", "add", b.Addr+"/24", "dev", bridge)
	b.write(n.t, "power", "1\n", 0o600)
	b.write(n.t, "chassis", b.controlScript(), 0o700)
	b.write(n.t, "lan.conf", b.lanConf(), 0o600)
	b.write(n.t, "bmc.emu", "mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n", 0o600)
	b.Start()
	return b
}

func (b *BMC) write(t *testing.T, name, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(b.dir, name), []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// lanConf is ipmi_sim's configuration (ipmi_lan(5)): one LAN channel on
// the management address, the administrator, and the chassis control
// program for the BMC's own management controller (0x20).
func (b *BMC) lanConf() string {
	var c strings.Builder
	fmt.Fprintf(&c, "name \"%sbmc-%s\"\n", Prefix, b.Host.Name)
	c.WriteString("set_working_mc 0x20\n")
	c.WriteString("  startlan 1\n")
	fmt.Fprintf(&c, "    addr %s 623\n", b.Addr)
	c.WriteString("    priv_limit admin\n")
	for _, p := range []string{"callback", "user", "operator", "admin"} {
		fmt.Fprintf(&c, "    allowed_auths_%s md5\n", p)
	}
	c.WriteString("    guid a123456789abcdefa123456789abcdef\n")
	c.WriteString("  endlan\n")
	fmt.Fprintf(&c, "  chassis_control \"%s 0x20\"\n", filepath.Join(b.dir, "chassis"))
	fmt.Fprintf(&c, "  user 2 true \"%s\" \"%s\" admin 10 md5\n", b.User, b.Password)
	return c.String()
}

// controlScript is the chassis control program ipmi_sim runs as
// "chassis 0x20 get power" (prints power:0 or power:1) and
// "chassis 0x20 set power 0|1". Every name in it is the harness's own.
func (b *BMC) controlScript() string {
	h := b.Host
	return `#!/bin/sh
# Chassis power control of ` + h.Name + `'s simulated BMC (written by the e2e harness).
state="` + filepath.Join(b.dir, "power") + `"
ns="` + h.NS + `"
echo "$(date '+%H:%M:%S.%N') $*" >> "` + filepath.Join(b.dir, "chassis.log") + `"
shift
op=$1
shift
case "$op" in
get)
	for p in "$@"; do
		[ "$p" = power ] && echo "power:$(cat "$state")"
	done
	exit 0;;
set)
	while [ $# -ge 2 ]; do
		if [ "$1" = power ]; then
			if [ "$2" = 0 ]; then
				# Power off: nothing of the host may run on.
				for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
					pids=$(ip netns pids "$ns")
					[ -z "$pids" ] && break
					kill -9 $pids 2>/dev/null
					sleep 0.1
				done
				if [ -n "$(ip netns pids "$ns")" ]; then
					echo "processes of $ns survive the power off"
					exit 1
				fi
				ip -n "$ns" addr flush dev ` + h.Link + `
				ip -n "$ns" link set ` + h.Link + ` down
				# Its /run is gone with the power, as at a reboot.
				nsenter --mount="` + h.mnt + `" -- umount -l /run
				nsenter --mount="` + h.mnt + `" -- mount -t tmpfs -o mode=0755,size=64m pl-run /run
				echo 0 > "$state"
			else
				ip -n "$ns" link set ` + h.Link + ` up
				ip -n "$ns" addr replace ` + h.Addr + `/24 dev ` + h.Link + `
				echo 1 > "$state"
			fi
		fi
		shift 2
	done
	exit 0;;
esac
echo "unknown chassis operation $op"
exit 1
`
}

// Start starts (or restarts) the BMC's ipmi_sim.
func (b *BMC) Start() {
	n := b.Host.net
	// nsenter, not "ip netns exec": ipmi_sim (and its chassis control
	// program) must stay in the test's mount namespace, where the hosts'
	// mount-namespace files can be entered.
	b.proc = n.StartOutside("bmc-"+b.Host.Name, "nsenter", "--net=/run/netns/"+switchNS, "--", "ipmi_sim", "-n", "-p",
		"-c", filepath.Join(b.dir, "lan.conf"), "-f", filepath.Join(b.dir, "bmc.emu"), "-s", filepath.Join(b.dir, "state"))
	// Ready when it answers a power status.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := b.ipmitool("chassis", "power", "status"); err == nil {
			return
		}
		if time.Now().After(deadline) || b.proc.Exited() {
			n.t.Fatalf("e2e: BMC of %s does not answer on %s: %s", b.Host.Name, b.Addr, b.proc.ReadLog())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop kills the BMC's ipmi_sim (an unreachable BMC: its address stays,
// nothing answers on port 623).
func (b *BMC) Stop() {
	b.proc.kill()
	b.proc.wait(5 * time.Second)
}

// ipmitool queries the BMC from the client namespace (the password on
// ipmitool's command line is the test's own throw-away one).
func (b *BMC) ipmitool(args ...string) (string, error) {
	return b.Host.net.Client.Exec(append([]string{"ipmitool", "-I", "lanplus", "-C", "3", "-H", b.Addr,
		"-U", b.User, "-P", b.Password}, args...)...)
}

// PoweredOn reports the power state the chassis control program keeps.
func (b *BMC) PoweredOn() bool {
	s, _ := os.ReadFile(filepath.Join(b.dir, "power"))
	return strings.TrimSpace(string(s)) == "1"
}

// FenceParams returns fence_ipmilan's parameters for this BMC.
func (b *BMC) FenceParams() map[string]string {
	return map[string]string{"ip": b.Addr, "username": b.User, "password": b.Password,
		"lanplus": "1", "cipher": "3"}
}

// NSPids returns the processes in h's namespace.
func (h *Host) NSPids() []int {
	out, _ := exec.Command("ip", "netns", "pids", h.NS).Output()
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Runner is what the fencer runs fence agents with (fence.Runner).
type Runner interface {
	Run(ctx context.Context, req agents.Request) agents.Result
}

// InHost runs r's agents inside h's network namespace, as the agent on
// that node would: the calling goroutine's thread enters the namespace
// for the run (a forked agent inherits it) and leaves it afterwards. The
// agents keep the test's mount namespace (a multi-threaded process cannot
// enter another): enough for fence agents, which only talk to devices.
type InHost struct {
	Host   *Host
	Runner Runner
}

// Run runs req through the runner from inside the host's namespace.
func (a InHost) Run(ctx context.Context, req agents.Request) agents.Result {
	var res agents.Result
	if err := a.Host.InNS(func() { res = a.Runner.Run(ctx, req) }); err != nil {
		return agents.Failed(agents.RCUnknownError, agents.StatusError, "%v", err)
	}
	return res
}

// InNS runs f on the calling goroutine's thread inside the host's network
// namespace: sockets f opens and processes it forks belong to the host
// (goroutines f starts do not). The thread leaves the namespace
// afterwards (or, when it cannot, stays locked and ends with the
// goroutine). The error says why the namespace could not be entered; f
// did not run then.
func (h *Host) InNS(f func()) error {
	runtime.LockOSThread()
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("e2e: own namespace: %w", err)
	}
	defer self.Close()
	target, err := os.Open("/run/netns/" + h.NS)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("e2e: namespace %s: %w", h.NS, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("e2e: enter %s: %w", h.NS, err)
	}
	f()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err == nil {
		runtime.UnlockOSThread()
	} // else the thread stays locked and ends with the goroutine
	return nil
}
