package builtin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/paceline/paceline/internal/agents"
)

// pingConfig is a parsed set of ping parameters.
type pingConfig struct {
	hosts      []string
	name       string
	multiplier int
	dampen     time.Duration
	timeout    time.Duration
}

var attrNamePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.:-]*$`)

// parseDuration accepts a Go duration or a number of seconds ("5").
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		d, err = time.ParseDuration(s + "s")
	}
	if err == nil && d < 0 {
		err = errors.New("negative")
	}
	return d, err
}

// parsePing checks the parameters; every problem is reported at once.
func parsePing(p map[string]string) (pingConfig, error) {
	cfg := pingConfig{hosts: strings.Fields(p["host_list"]), name: "pingd", multiplier: 1,
		dampen: 5 * time.Second, timeout: 2 * time.Second}
	var errs []error
	if len(cfg.hosts) == 0 {
		errs = append(errs, errors.New("parameter host_list is required"))
	}
	if s := p["name"]; s != "" {
		if !attrNamePattern.MatchString(s) {
			errs = append(errs, fmt.Errorf("name %q is not an attribute name", s))
		}
		cfg.name = s
	}
	if s := p["multiplier"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("multiplier %q is not a non-negative integer", s))
		}
		cfg.multiplier = n
	}
	if s := p["dampen"]; s != "" {
		d, err := parseDuration(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("dampen %q is not a duration", s))
		}
		cfg.dampen = d
	}
	if s := p["timeout"]; s != "" {
		d, err := parseDuration(s)
		if err != nil || d == 0 {
			errs = append(errs, fmt.Errorf("timeout %q is not a positive duration", s))
		}
		cfg.timeout = d
	}
	return cfg, errors.Join(errs...)
}

// pingState is RunDir/ping-ID.state: present while the resource runs.
type pingState struct {
	// Published is the value last given to NodeAttrs ("" before the first).
	Published string `json:"published"`
	// Pending is a value that differs from Published, seen first at
	// Since; it is published once it has held for dampen.
	Pending string    `json:"pending,omitempty"`
	Since   time.Time `json:"since,omitzero"`
}

// ping keeps a node attribute equal to multiplier × the number of
// reachable targets, like ocf:pacemaker:ping. Parameters:
//
//	host_list   targets separated by white space (required): "host:port"
//	            (or "[v6]:port") is reachable when a TCP connection opens;
//	            a bare host or address when it answers an ICMP echo (a
//	            kernel ping socket where net.ipv4.ping_group_range allows
//	            it, else a raw socket, which needs CAP_NET_RAW)
//	name        the attribute (default pingd)
//	multiplier  factor of the reachable count (default 1)
//	dampen      how long a changed value must hold before it is published
//	            (a Go duration or seconds; default 5s)
//	timeout     per target and check round (default 2s)
//
// start checks all targets and publishes the value at once (a location
// rule on a missing attribute would otherwise hold the node to be bad),
// then records RunDir/ping-ID.state. Each monitor checks all targets
// (concurrently) and publishes a value that differs from the published one
// only when it has been seen by monitors for at least dampen, so dampen
// should exceed the monitor interval; it returns RCOK while started (a
// publication error is retried by the next monitor and reported in
// Output), RCNotRunning when stopped. stop sets the attribute to "0" and
// removes the state. Checks run on goroutines of their own, so they use
// the network namespace of the process (not of the calling thread).
// With Config.Attrs nil, values are computed and shown
// in Output but not published.
func (c *Class) ping(ctx context.Context, req *agents.Request) agents.Result {
	switch req.Op {
	case "meta-data":
		return agents.Result{RC: agents.RCOK, Status: agents.StatusDone, Output: pingMetadata}
	case "start", "stop", "monitor", "validate-all":
	default:
		return agents.Result{RC: agents.RCUnimplemented, Status: agents.StatusNotSupported, ExitReason: "ping has no action " + req.Op}
	}
	file := c.path("ping", req.ResourceID, ".state")
	st, running, err := readPingState(file)
	if err != nil {
		return rc(agents.RCUnknownError, "read state: %v", err)
	}
	cfg, perr := parsePing(req.Params)
	switch req.Op {
	case "validate-all":
		if perr != nil {
			return rc(agents.RCNotConfigured, "%v", perr)
		}
		return ok()
	case "stop":
		if !running {
			return ok()
		}
		res := ok()
		if perr == nil && c.cfg.Attrs != nil {
			if err := c.cfg.Attrs.SetNodeAttr(ctx, cfg.name, "0"); err != nil {
				// Stop must not fail for this (a failed stop fences the node).
				res.Output = fmt.Sprintf("could not reset %s: %v\n", cfg.name, err)
			}
		}
		if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
			return rc(agents.RCUnknownError, "remove state: %v", err)
		}
		return res
	}
	if perr != nil {
		return rc(agents.RCNotConfigured, "%v", perr)
	}
	if req.Op == "monitor" && !running {
		return rc(agents.RCNotRunning, "")
	}
	if req.Op == "start" && running {
		return ok()
	}
	up, report := checkTargets(ctx, cfg)
	value := strconv.Itoa(cfg.multiplier * up)
	now := time.Now()
	publish := false
	switch {
	case req.Op == "start" || st.Published == "":
		publish = true
	case value == st.Published:
		st.Pending, st.Since = "", time.Time{}
	case value != st.Pending:
		st.Pending, st.Since = value, now
		publish = cfg.dampen == 0
	default:
		publish = now.Sub(st.Since) >= cfg.dampen
	}
	res := ok()
	res.Output = fmt.Sprintf("%s=%s (%d of %d reachable)\n%s", cfg.name, value, up, len(cfg.hosts), report)
	if publish {
		err := error(nil)
		if c.cfg.Attrs != nil {
			err = c.cfg.Attrs.SetNodeAttr(ctx, cfg.name, value)
		}
		switch {
		case err != nil && req.Op == "start":
			return rc(agents.RCUnknownError, "publish %s=%s: %v", cfg.name, value, err)
		case err != nil:
			st.Pending, st.Since = value, now.Add(-cfg.dampen) // retry next time
			res.Output += fmt.Sprintf("could not publish %s=%s: %v\n", cfg.name, value, err)
		default:
			st = pingState{Published: value}
			if c.cfg.Attrs == nil {
				res.Output += "not published: no node attribute store\n"
			}
		}
	} else if st.Pending != "" {
		res.Output += fmt.Sprintf("%s=%s pending since %s (dampen %s), %s published\n",
			cfg.name, st.Pending, st.Since.Format(time.RFC3339Nano), cfg.dampen, st.Published)
	}
	b, _ := json.Marshal(st)
	if err := writeFile(file, string(b)+"\n"); err != nil {
		return rc(agents.RCUnknownError, "write state: %v", err)
	}
	return res
}

func readPingState(file string) (pingState, bool, error) {
	var st pingState
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return st, false, nil
	}
	if err != nil {
		return st, false, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, false, fmt.Errorf("%s: %w", file, err)
	}
	return st, true, nil
}

// checkTargets checks every target concurrently and returns how many are
// reachable and one line per target.
func checkTargets(ctx context.Context, cfg pingConfig) (int, string) {
	errs := make([]error, len(cfg.hosts))
	var wg sync.WaitGroup
	for i, h := range cfg.hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tctx, cancel := context.WithTimeout(ctx, cfg.timeout)
			defer cancel()
			if _, _, err := net.SplitHostPort(h); err == nil {
				var d net.Dialer
				conn, err := d.DialContext(tctx, "tcp", h)
				if err == nil {
					conn.Close()
				}
				errs[i] = err
				return
			}
			errs[i] = echo(tctx, h)
		}()
	}
	wg.Wait()
	up := 0
	var b strings.Builder
	for i, h := range cfg.hosts {
		if errs[i] == nil {
			up++
			fmt.Fprintf(&b, "%s: reachable\n", h)
		} else {
			fmt.Fprintf(&b, "%s: %v\n", h, errs[i])
		}
	}
	return up, b.String()
}

// echo sends one ICMP echo request to host and waits for its reply until
// ctx ends.
func echo(ctx context.Context, host string) error {
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return err
	}
	ip := ips[0].Unmap()
	unpriv, priv, wildcard, proto := "udp4", "ip4:icmp", "0.0.0.0", 1
	var req, reply icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if ip.Is6() {
		unpriv, priv, wildcard, proto = "udp6", "ip6:ipv6-icmp", "::", 58
		req, reply = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	raw := false
	conn, err := icmp.ListenPacket(unpriv, wildcard)
	if err != nil {
		if conn, err = icmp.ListenPacket(priv, wildcard); err != nil {
			return fmt.Errorf("icmp: %w", err)
		}
		raw = true
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	id, seq := rand.IntN(1<<16), rand.IntN(1<<16)
	msg, err := (&icmp.Message{Type: req, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("paceline ping")}}).Marshal(nil)
	if err != nil {
		return err
	}
	var dst net.Addr = &net.IPAddr{IP: ip.AsSlice()}
	if !raw {
		dst = &net.UDPAddr{IP: ip.AsSlice()}
	}
	if _, err := conn.WriteTo(msg, dst); err != nil {
		return err
	}
	buf := make([]byte, 1500)
	for {
		n, peer, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
				return errors.New("no echo reply")
			}
			return err
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != reply {
			continue
		}
		e, ok := m.Body.(*icmp.Echo)
		// A ping socket's kernel rewrites and filters the id; a raw socket
		// sees every reply.
		if !ok || e.Seq != seq || (raw && e.ID != id) || !samePeer(peer, ip) {
			continue
		}
		return nil
	}
}

func samePeer(a net.Addr, ip netip.Addr) bool {
	var x net.IP
	switch a := a.(type) {
	case *net.IPAddr:
		x = a.IP
	case *net.UDPAddr:
		x = a.IP
	}
	y, ok := netip.AddrFromSlice(x)
	return ok && y.Unmap() == ip
}

const pingMetadata = `<?xml version="1.0"?>
<resource-agent name="ping" version="1.0">
<version>1.1</version>
<shortdesc lang="en">Keeps a node attribute counting reachable targets (ICMP or TCP)</shortdesc>
<parameters>
<parameter name="host_list" required="1"><shortdesc lang="en">Targets, space-separated; host:port means a TCP connect check, otherwise ICMP echo</shortdesc><content type="string"/></parameter>
<parameter name="name"><shortdesc lang="en">Attribute name</shortdesc><content type="string" default="pingd"/></parameter>
<parameter name="multiplier"><shortdesc lang="en">Factor of the reachable count</shortdesc><content type="integer" default="1"/></parameter>
<parameter name="dampen"><shortdesc lang="en">How long a changed value must hold before it is published (duration)</shortdesc><content type="string" default="5s"/></parameter>
<parameter name="timeout"><shortdesc lang="en">Per-target timeout (duration)</shortdesc><content type="string" default="2s"/></parameter>
</parameters>
<actions>
<action name="start" timeout="20s"/><action name="stop" timeout="20s"/>
<action name="monitor" timeout="20s" interval="10s" depth="0"/>
<action name="meta-data" timeout="5s"/><action name="validate-all" timeout="20s"/>
</actions>
</resource-agent>
`

// PingValue checks a ping resource's targets now, as its monitor does,
// and returns the value it would publish (multiplier × reachable
// targets): for a node that cannot publish (no leader) but must know
// whether it reaches its gateway (the two-node race, docs/two-node.md).
func PingValue(ctx context.Context, params map[string]string) (string, error) {
	cfg, err := parsePing(params)
	if err != nil {
		return "", err
	}
	up, _ := checkTargets(ctx, cfg)
	return strconv.Itoa(cfg.multiplier * up), nil
}
