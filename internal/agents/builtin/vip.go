package builtin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/paceline/paceline/internal/agents"
)

// Announcements: how often and how far apart start announces a VIP. The
// first is sent before start returns, the rest by a goroutine that owns
// the socket opened during start.
const (
	vipAnnounceCount = 3
	vipAnnounceGap   = 200 * time.Millisecond
)

// vipConfig is a parsed set of vip parameters.
type vipConfig struct {
	addr netip.Addr
	bits int
	nic  string // empty: derive from the route to addr
}

// parseVIP checks the parameters; every problem is reported at once.
func parseVIP(p map[string]string) (vipConfig, error) {
	var cfg vipConfig
	var errs []error
	ip := p["ip"]
	if ip == "" {
		errs = append(errs, errors.New("parameter ip is required"))
	} else if a, err := netip.ParseAddr(ip); err != nil || a.Zone() != "" {
		errs = append(errs, fmt.Errorf("ip %q is not an IPv4 or IPv6 address", ip))
	} else {
		cfg.addr = a.Unmap()
	}
	maxBits := 32
	if cfg.addr.Is6() {
		maxBits = 128
	}
	cfg.bits = maxBits
	if s := p["cidr"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxBits {
			errs = append(errs, fmt.Errorf("cidr %q is not a prefix length between 1 and %d", s, maxBits))
		}
		cfg.bits = n
	}
	cfg.nic = p["nic"]
	if cfg.nic != "" && len(cfg.nic) >= unix.IFNAMSIZ {
		errs = append(errs, fmt.Errorf("nic %q is not an interface name", cfg.nic))
	}
	return cfg, errors.Join(errs...)
}

// vip holds a virtual IP address on a network interface, like
// ocf:heartbeat:IPaddr2. Parameters:
//
//	ip    the address, IPv4 or IPv6 (required)
//	cidr  its prefix length (default 32 for IPv4, 128 for IPv6: a host
//	      address that adds no connected route)
//	nic   the interface (default: the interface of the route to ip, as
//	      "ip route get" reports it; start fails with RCNotConfigured when
//	      there is none or it is the loopback)
//
// start adds the address (present already: success; IPv6 addresses are
// added with nodad so they are usable at once) and announces it: a
// gratuitous ARP request (IPv4, sender and target are ip, broadcast) or an
// unsolicited neighbour advertisement with override to all nodes (IPv6).
// The first announcement is sent before start returns; two more follow
// 200 ms apart in the background on the same socket, so they leave from the
// network namespace start ran in. A failed announcement does not fail
// start (the address is up; neighbours learn it by resolution), it is
// reported in Output. stop removes the address (absent: success). monitor
// returns RCOK when the address is on the interface, RCNotRunning
// otherwise. All actions work on the network namespace of the calling
// thread.
func (c *Class) vip(ctx context.Context, req *agents.Request) agents.Result {
	switch req.Op {
	case "meta-data":
		return agents.Result{RC: agents.RCOK, Status: agents.StatusDone, Output: vipMetadata}
	case "start", "stop", "monitor", "validate-all":
	default:
		return agents.Result{RC: agents.RCUnimplemented, Status: agents.StatusNotSupported, ExitReason: "vip has no action " + req.Op}
	}
	cfg, err := parseVIP(req.Params)
	if err != nil {
		return rc(agents.RCInvalidParam, "%v", err)
	}
	if req.Op == "validate-all" {
		if _, err := vipLink(cfg); err != nil {
			return rc(agents.RCNotConfigured, "%v", err)
		}
		return ok()
	}
	link, err := vipLink(cfg)
	if err != nil {
		// The named interface is gone (and the address with it), or no
		// interface holds the address: stopped either way.
		switch req.Op {
		case "stop":
			return ok()
		case "monitor":
			return rc(agents.RCNotRunning, "%v", err)
		}
		return rc(agents.RCNotConfigured, "%v", err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(cfg.addr.AsSlice()), Mask: net.CIDRMask(cfg.bits, cfg.addr.BitLen())}}
	present, err := hasAddr(link, cfg.addr)
	if err != nil {
		return rc(agents.RCUnknownError, "list addresses of %s: %v", link.Attrs().Name, err)
	}
	switch req.Op {
	case "monitor":
		if present {
			return ok()
		}
		return rc(agents.RCNotRunning, "")
	case "stop":
		if !present {
			return ok()
		}
		if err := netlink.AddrDel(link, addr); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return rc(agents.RCUnknownError, "remove %s from %s: %v", cfg.addr, link.Attrs().Name, err)
		}
		return ok()
	}
	// start
	if !present {
		if cfg.addr.Is6() {
			addr.Flags = unix.IFA_F_NODAD
		}
		if err := netlink.AddrAdd(link, addr); err != nil && !errors.Is(err, unix.EEXIST) {
			if errors.Is(err, unix.EPERM) {
				return rc(agents.RCInsufficientPriv, "add %s to %s: %v", cfg.addr, link.Attrs().Name, err)
			}
			return rc(agents.RCUnknownError, "add %s to %s: %v", cfg.addr, link.Attrs().Name, err)
		}
	}
	res := ok()
	if err := announce(link, cfg.addr); err != nil {
		res.Output = fmt.Sprintf("%s is up on %s but could not be announced: %v\n", cfg.addr, link.Attrs().Name, err)
	}
	return res
}

// vipLink returns the interface named by nic, else the one holding the
// address, else the one the route to the address leaves by.
func vipLink(cfg vipConfig) (netlink.Link, error) {
	if cfg.nic != "" {
		l, err := netlink.LinkByName(cfg.nic)
		if err != nil {
			return nil, fmt.Errorf("nic %s: %w", cfg.nic, err)
		}
		return l, nil
	}
	// Once started, the route to the address is local: find the link
	// that holds it first.
	family := netlink.FAMILY_V4
	if cfg.addr.Is6() {
		family = netlink.FAMILY_V6
	}
	if list, err := netlink.AddrList(nil, family); err == nil {
		for _, x := range list {
			if y, ok := netip.AddrFromSlice(x.IP); ok && y.Unmap() == cfg.addr && x.LinkIndex != 0 {
				if l, err := netlink.LinkByIndex(x.LinkIndex); err == nil {
					return l, nil
				}
			}
		}
	}
	routes, err := netlink.RouteGet(net.IP(cfg.addr.AsSlice()))
	if err != nil {
		return nil, fmt.Errorf("nic not given and no route to %s to derive it from: %w", cfg.addr, err)
	}
	for _, r := range routes {
		if r.LinkIndex == 0 {
			continue
		}
		l, err := netlink.LinkByIndex(r.LinkIndex)
		if err != nil {
			return nil, fmt.Errorf("nic not given; route to %s: link %d: %w", cfg.addr, r.LinkIndex, err)
		}
		if l.Attrs().Flags&net.FlagLoopback != 0 {
			return nil, fmt.Errorf("nic not given and the route to %s is local (%s): set nic", cfg.addr, l.Attrs().Name)
		}
		return l, nil
	}
	return nil, fmt.Errorf("nic not given and the route to %s names no interface", cfg.addr)
}

// hasAddr reports whether a is assigned to link.
func hasAddr(link netlink.Link, a netip.Addr) (bool, error) {
	family := netlink.FAMILY_V4
	if a.Is6() {
		family = netlink.FAMILY_V6
	}
	list, err := netlink.AddrList(link, family)
	if err != nil {
		return false, err
	}
	for _, x := range list {
		if y, ok := netip.AddrFromSlice(x.IP); ok && y.Unmap() == a {
			return true, nil
		}
	}
	return false, nil
}

// announce opens a socket on link, sends the first announcement of a and
// leaves the rest to a goroutine that closes the socket when done.
func announce(link netlink.Link, a netip.Addr) error {
	ifi, err := net.InterfaceByIndex(link.Attrs().Index)
	if err != nil {
		return err
	}
	if len(ifi.HardwareAddr) == 0 {
		return fmt.Errorf("%s has no hardware address", ifi.Name)
	}
	var send func() error
	var closer func() error
	if a.Is4() {
		cl, err := arp.Dial(ifi)
		if err != nil {
			return fmt.Errorf("arp: %w", err)
		}
		p, err := arp.NewPacket(arp.OperationRequest, ifi.HardwareAddr, a, ethernet.Broadcast, a)
		if err != nil {
			cl.Close()
			return fmt.Errorf("arp: %w", err)
		}
		send = func() error { return cl.WriteTo(p, ethernet.Broadcast) }
		closer = cl.Close
	} else {
		conn, _, err := ndp.Listen(ifi, ndp.LinkLocal)
		if err != nil {
			return fmt.Errorf("ndp: %w", err)
		}
		na := &ndp.NeighborAdvertisement{Override: true, TargetAddress: a,
			Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: ifi.HardwareAddr}}}
		send = func() error { return conn.WriteTo(na, nil, netip.IPv6LinkLocalAllNodes()) }
		closer = conn.Close
	}
	if err := send(); err != nil {
		closer()
		return err
	}
	go func() {
		defer closer()
		for i := 1; i < vipAnnounceCount; i++ {
			time.Sleep(vipAnnounceGap)
			if send() != nil {
				return
			}
		}
	}()
	return nil
}

const vipMetadata = `<?xml version="1.0"?>
<resource-agent name="vip" version="1.0">
<version>1.1</version>
<shortdesc lang="en">A virtual IP address, announced by gratuitous ARP or unsolicited NA</shortdesc>
<parameters>
<parameter name="ip" unique="1" required="1"><shortdesc lang="en">IPv4 or IPv6 address</shortdesc><content type="string"/></parameter>
<parameter name="cidr"><shortdesc lang="en">Prefix length (default 32 for IPv4, 128 for IPv6)</shortdesc><content type="integer"/></parameter>
<parameter name="nic"><shortdesc lang="en">Interface (default: the one of the route to ip)</shortdesc><content type="string"/></parameter>
</parameters>
<actions>
<action name="start" timeout="20s"/><action name="stop" timeout="20s"/>
<action name="monitor" timeout="20s" interval="10s" depth="0"/>
<action name="meta-data" timeout="5s"/><action name="validate-all" timeout="20s"/>
</actions>
</resource-agent>
`
