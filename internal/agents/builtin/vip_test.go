package builtin

import (
	"context"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/paceline/paceline/internal/agents"
)

// The namespaces and links the tests create (all named pl-*).
const (
	nsA, nsB     = "pl-vipA", "pl-vipB"
	linkA, linkB = "pl-va0", "pl-vb0"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root for network namespaces")
	}
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// vipNet creates pl-vipA and pl-vipB joined by the veth pair pl-va0/pl-vb0
// with 10.77.9.1/24 and 10.77.9.2/24 (and fd77::1/64, fd77::2/64, DAD off
// so the link-local addresses are usable at once); it removes them when
// the test ends, also on failure.
func vipNet(t *testing.T) {
	t.Helper()
	requireRoot(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipped: needs the ip command (iproute2)")
	}
	for _, ns := range []string{nsA, nsB} {
		exec.Command("ip", "netns", "del", ns).Run() // a previous run's leftovers
	}
	t.Cleanup(func() {
		for _, ns := range []string{nsA, nsB} {
			exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	ipCmd(t, "netns", "add", nsA)
	ipCmd(t, "netns", "add", nsB)
	ipCmd(t, "link", "add", linkA, "netns", nsA, "type", "veth", "peer", "name", linkB, "netns", nsB)
	for _, x := range []struct{ ns, link, v4, v6 string }{{nsA, linkA, "10.77.9.1/24", "fd77::1/64"}, {nsB, linkB, "10.77.9.2/24", "fd77::2/64"}} {
		for _, key := range []string{"net.ipv6.conf.all.accept_dad", "net.ipv6.conf.default.accept_dad", "net.ipv6.conf." + x.link + ".accept_dad"} {
			ipCmd(t, "netns", "exec", x.ns, "sysctl", "-qw", key+"=0")
		}
		ipCmd(t, "-n", x.ns, "addr", "add", x.v4, "dev", x.link)
		ipCmd(t, "-n", x.ns, "addr", "add", x.v6, "dev", x.link, "nodad")
		ipCmd(t, "-n", x.ns, "link", "set", "lo", "up")
		ipCmd(t, "-n", x.ns, "link", "set", x.link, "up")
	}
}

// inNS runs f on a thread of its own switched into namespace ns. The
// thread stays locked and ends with the goroutine, so no other goroutine
// ever runs in ns by accident. f must not call t.Fatal.
func inNS(t *testing.T, ns string, f func()) {
	t.Helper()
	h, err := netns.GetFromName(ns)
	if err != nil {
		t.Fatalf("namespace %s: %v", ns, err)
	}
	defer h.Close()
	done := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with this goroutine
		if err := netns.Set(h); err != nil {
			done <- err
			return
		}
		f()
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatalf("enter %s: %v", ns, err)
	}
}

// runIn performs one operation inside namespace ns.
func runIn(t *testing.T, ns string, c *Class, typ, id, op string, params map[string]string) agents.Result {
	t.Helper()
	var res agents.Result
	inNS(t, ns, func() {
		res = c.Run(context.Background(), agents.Request{ResourceID: id, Agent: agents.Type{Class: "builtin", Name: typ},
			Op: op, Params: params, Timeout: 5 * time.Second})
	})
	return res
}

// nsHandle returns a netlink handle on namespace ns and the named link in it.
func nsHandle(t *testing.T, ns, link string) (*netlink.Handle, netlink.Link) {
	t.Helper()
	nh, err := netns.GetFromName(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer nh.Close()
	h, err := netlink.NewHandleAt(nh)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	l, err := h.LinkByName(link)
	if err != nil {
		t.Fatal(err)
	}
	return h, l
}

func addrPresent(t *testing.T, h *netlink.Handle, l netlink.Link, ip string) bool {
	t.Helper()
	list, err := h.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		if a.IP.Equal(net.ParseIP(ip)) {
			return true
		}
	}
	return false
}

// waitNeigh waits until B's neighbour table maps ip to mac.
func waitNeigh(t *testing.T, h *netlink.Handle, l netlink.Link, ip string, mac net.HardwareAddr) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		list, err := h.NeighList(l.Attrs().Index, netlink.FAMILY_ALL)
		if err != nil {
			t.Fatal(err)
		}
		last = ""
		for _, n := range list {
			if n.IP.Equal(net.ParseIP(ip)) {
				if n.HardwareAddr.String() == mac.String() {
					return
				}
				last = n.HardwareAddr.String()
			}
		}
	}
	t.Fatalf("%s's neighbour table never mapped %s to %s (last seen %q)", nsB, ip, mac, last)
}

func TestVIPInNamespace(t *testing.T) {
	vipNet(t)
	c := newClass(t)
	ha, la := nsHandle(t, nsA, linkA)
	hb, lb := nsHandle(t, nsB, linkB)
	macA := la.Attrs().HardwareAddr

	cases := []struct {
		name, ip, cidr, nic, bogusMAC string
	}{
		{"ipv4 with nic", "10.77.9.100", "24", linkA, "02:00:00:00:00:01"},
		// nic derived from the route; no stale entry in B: B learns the
		// address only because it accepts gratuitous ARP (arp_accept).
		{"ipv4 derived nic", "10.77.9.101", "24", "", ""},
		// An unsolicited NA only updates an existing entry (RFC 4861
		// 7.2.5), as after a failover: B holds the old owner's MAC.
		{"ipv6 derived nic", "fd77::100", "64", "", "02:00:00:00:00:02"},
	}
	ipCmd(t, "netns", "exec", nsB, "sysctl", "-qw", "net.ipv4.conf."+linkB+".arp_accept=1")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := map[string]string{"ip": tc.ip, "cidr": tc.cidr}
			if tc.nic != "" {
				p["nic"] = tc.nic
			}
			if tc.bogusMAC != "" {
				ipCmd(t, "-n", nsB, "neigh", "replace", tc.ip, "lladdr", tc.bogusMAC, "dev", linkB, "nud", "stale")
			}
			id := "vip-" + strings.NewReplacer(".", "-", ":", "-").Replace(tc.ip)
			expect(t, runIn(t, nsA, c, "vip", id, "validate-all", p), agents.RCOK, "validate-all")
			expect(t, runIn(t, nsA, c, "vip", id, "monitor", p), agents.RCNotRunning, "probe before start")
			res := runIn(t, nsA, c, "vip", id, "start", p)
			expect(t, res, agents.RCOK, "start")
			if res.Output != "" {
				t.Fatalf("start: %s", res.Output)
			}
			if !addrPresent(t, ha, la, tc.ip) {
				t.Fatalf("%s not on %s after start", tc.ip, linkA)
			}
			if addrPresent(t, hb, lb, tc.ip) {
				t.Fatal("the address appeared in the other namespace")
			}
			expect(t, runIn(t, nsA, c, "vip", id, "monitor", p), agents.RCOK, "monitor after start")
			waitNeigh(t, hb, lb, tc.ip, macA)
			expect(t, runIn(t, nsA, c, "vip", id, "start", p), agents.RCOK, "second start")
			expect(t, runIn(t, nsA, c, "vip", id, "stop", p), agents.RCOK, "stop")
			if addrPresent(t, ha, la, tc.ip) {
				t.Fatalf("%s still on %s after stop", tc.ip, linkA)
			}
			expect(t, runIn(t, nsA, c, "vip", id, "monitor", p), agents.RCNotRunning, "monitor after stop")
			expect(t, runIn(t, nsA, c, "vip", id, "stop", p), agents.RCOK, "second stop")
		})
	}

	t.Run("nic cannot be derived", func(t *testing.T) {
		// pl-vipA routes only 10.77.9.0/24 and fd77::/64.
		for _, ip := range []string{"192.0.2.10", "2001:db8::10"} {
			p := map[string]string{"ip": ip}
			res := runIn(t, nsA, c, "vip", "vip-x", "start", p)
			expect(t, res, agents.RCNotConfigured, "start "+ip)
			if !strings.Contains(res.ExitReason, "nic not given") {
				t.Fatalf("exit reason %q does not say why", res.ExitReason)
			}
			expect(t, runIn(t, nsA, c, "vip", "vip-x", "validate-all", p), agents.RCNotConfigured, "validate-all "+ip)
			expect(t, runIn(t, nsA, c, "vip", "vip-x", "monitor", p), agents.RCNotRunning, "monitor "+ip)
			expect(t, runIn(t, nsA, c, "vip", "vip-x", "stop", p), agents.RCOK, "stop "+ip+": held nowhere")
		}
		res := runIn(t, nsA, c, "vip", "vip-x", "start", map[string]string{"ip": "10.77.9.102", "nic": "pl-nosuch0"})
		expect(t, res, agents.RCNotConfigured, "start on a missing nic")
		if !strings.Contains(res.ExitReason, "pl-nosuch0") {
			t.Fatalf("exit reason %q does not name the nic", res.ExitReason)
		}
		expect(t, runIn(t, nsA, c, "vip", "vip-x", "stop", map[string]string{"ip": "10.77.9.102", "nic": "pl-nosuch0"}),
			agents.RCOK, "stop on a missing nic: the address is gone with it")
	})
}

func TestVIPParameters(t *testing.T) {
	c := newClass(t)
	for _, tc := range []struct {
		params map[string]string
		reason string
	}{
		{map[string]string{}, "parameter ip is required"},
		{map[string]string{"ip": "10.77.9.300"}, "not an IPv4 or IPv6 address"},
		{map[string]string{"ip": "fe80::1%eth0"}, "not an IPv4 or IPv6 address"},
		{map[string]string{"ip": "10.77.9.100", "cidr": "33"}, "between 1 and 32"},
		{map[string]string{"ip": "fd77::100", "cidr": "x"}, "between 1 and 128"},
		{map[string]string{"ip": "10.77.9.100", "nic": strings.Repeat("n", 20)}, "not an interface name"},
	} {
		for _, op := range []string{"validate-all", "start", "stop", "monitor"} {
			res := run(t, c, "vip", "v", op, tc.params)
			expect(t, res, agents.RCInvalidParam, op+" "+tc.reason)
			if !strings.Contains(res.ExitReason, tc.reason) {
				t.Fatalf("%s %v: exit reason %q, want %q", op, tc.params, res.ExitReason, tc.reason)
			}
		}
	}
	res := run(t, c, "vip", "v", "validate-all", map[string]string{"cidr": "40"})
	if !strings.Contains(res.ExitReason, "ip is required") || !strings.Contains(res.ExitReason, "cidr") {
		t.Fatalf("not every problem reported: %q", res.ExitReason)
	}
	res = run(t, c, "vip", "v", "meta-data", nil)
	if res.RC != agents.RCOK || !strings.Contains(res.Output, `<resource-agent name="vip"`) {
		t.Fatalf("meta-data: %v %q", res.RC, res.Output)
	}
	if res := run(t, c, "vip", "v", "promote", map[string]string{"ip": "10.77.9.100"}); res.Status != agents.StatusNotSupported {
		t.Fatalf("promote: %v", res.Status)
	}
}
