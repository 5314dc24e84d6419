package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// linkAddrs lists the IPv4 addresses (with prefix length) on every link
// of the host's namespace, as `ip -n NS -o -4 addr show` prints them.
func linkAddrs(h *Host) ([]string, error) {
	out, err := run(context.Background(), nil, "ip", "-n", h.NS, "-o", "-4", "addr", "show")
	if err != nil {
		return nil, err
	}
	var addrs []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "inet" {
				addrs = append(addrs, f[i+1])
			}
		}
	}
	return addrs, nil
}

// Holds reports whether the host has the address ip (without prefix
// length) on any of its links.
func Holds(h *Host, ip string) (bool, error) {
	addrs, err := linkAddrs(h)
	if err != nil {
		return false, err
	}
	for _, a := range addrs {
		if x, _, _ := strings.Cut(a, "/"); x == ip {
			return true, nil
		}
	}
	return false, nil
}

// Monitor samples, for each host, whether it holds one address (a VIP):
// each host in its own goroutine over netlink inside the host's namespace
// (falling back to the ip command), every 5 ms, so every host is sampled
// well within 20 ms on an idle machine (MeanGap and MaxGap report what
// it achieved). Stop ends it.
type Monitor struct {
	IP      string
	start   time.Time
	stopped time.Time // when Stop was first called
	stop    chan struct{}
	wg      sync.WaitGroup

	mu     sync.Mutex
	events []holdEvent // transitions, in the order recorded per host
	maxGap time.Duration
	gaps   time.Duration // sum of the gaps between samples of one host
	nGaps  int
	errs   int
}

type holdEvent struct {
	at   time.Time
	host string
	held bool
}

// Change is one entry of the holder timeline: from At (since the monitor
// started) the address was held by Holders.
type Change struct {
	At      time.Duration
	Holders []string
}

// Sample interval of each host's sampler.
const sampleEvery = 5 * time.Millisecond

// Watch starts a monitor of ip on hosts.
func Watch(ip string, hosts []*Host) *Monitor {
	m := &Monitor{IP: ip, start: time.Now(), stop: make(chan struct{})}
	for _, h := range hosts {
		m.wg.Add(1)
		go m.sample(h)
	}
	return m
}

func (m *Monitor) sample(h *Host) {
	defer m.wg.Done()
	holds := func() (bool, error) { return Holds(h, m.IP) }
	// Sample over netlink from a thread moved into the host's namespace:
	// a dump takes microseconds where running ip takes milliseconds. The
	// thread is never unlocked, so the runtime discards it when this
	// goroutine ends.
	runtime.LockOSThread()
	if err := enterNS(h.NS); err == nil {
		want := net.ParseIP(m.IP).To4()
		holds = func() (bool, error) { return netlinkHolds(want) }
	}
	held, last := false, time.Time{}
	for {
		select {
		case <-m.stop:
			return
		default:
		}
		now := time.Now()
		got, err := holds()
		m.mu.Lock()
		if !last.IsZero() {
			m.gaps += now.Sub(last)
			m.nGaps++
			m.maxGap = max(m.maxGap, now.Sub(last))
		}
		last = now
		if err != nil {
			m.errs++ // a namespace being torn down; keep the last state
		} else if got != held {
			held = got
			// A change is dated at the sample that saw it: intervals are
			// exact to within one sampling gap.
			m.events = append(m.events, holdEvent{at: now, host: h.Name, held: got})
		}
		m.mu.Unlock()
		time.Sleep(sampleEvery)
	}
}

// The main goroutine keeps the main thread, so enterNS never moves it: a
// process's namespace as others see it (ip netns pids, which a watchdog
// reset uses to kill a host's processes) is its main thread's, and a
// goroutine locked to the main thread that ends without unlocking leaves
// the thread parked in the namespace it entered.
func init() { runtime.LockOSThread() }

// enterNS moves the calling (locked) thread into network namespace ns.
func enterNS(ns string) error {
	f, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
}

// netlinkHolds dumps the IPv4 addresses of the current thread's namespace
// and reports whether ip is among them.
func netlinkHolds(ip net.IP) (bool, error) {
	rib, err := syscall.NetlinkRIB(syscall.RTM_GETADDR, syscall.AF_INET)
	if err != nil {
		return false, err
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		return false, err
	}
	for i := range msgs {
		if msgs[i].Header.Type != syscall.RTM_NEWADDR {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&msgs[i])
		if err != nil {
			return false, err
		}
		for _, a := range attrs {
			if (a.Attr.Type == syscall.IFA_LOCAL || a.Attr.Type == syscall.IFA_ADDRESS) && net.IP(a.Value).Equal(ip) {
				return true, nil
			}
		}
	}
	return false, nil
}

// Stop ends sampling; the results stay readable.
func (m *Monitor) Stop() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
		m.wg.Wait()
		m.stopped = time.Now()
	}
	m.wg.Wait()
}

// Timeline returns the holder changes in time order.
func (m *Monitor) Timeline() []Change {
	m.mu.Lock()
	ev := append([]holdEvent(nil), m.events...)
	m.mu.Unlock()
	sort.SliceStable(ev, func(i, j int) bool { return ev[i].at.Before(ev[j].at) })
	holders := map[string]bool{}
	var tl []Change
	for _, e := range ev {
		holders[e.host] = e.held
		var hs []string
		for h, ok := range holders {
			if ok {
				hs = append(hs, h)
			}
		}
		sort.Strings(hs)
		tl = append(tl, Change{At: e.at.Sub(m.start), Holders: hs})
	}
	return tl
}

// DualTime is the total time the address was held by two or more hosts
// at once.
func (m *Monitor) DualTime() time.Duration {
	tl := m.Timeline()
	var total time.Duration
	for i, c := range tl {
		if len(c.Holders) < 2 {
			continue
		}
		end := time.Since(m.start)
		if i+1 < len(tl) {
			end = tl[i+1].At
		}
		total += end - c.At
	}
	return total
}

// MaxGap is the largest time between two samples of one host.
func (m *Monitor) MaxGap() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.maxGap
}

// MeanGap is the mean time between two samples of one host.
func (m *Monitor) MeanGap() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.nGaps == 0 {
		return 0
	}
	return m.gaps / time.Duration(m.nGaps)
}

// String prints the timeline, one change per line.
func (m *Monitor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s holders (sample gap mean %v max %v, dual %v):", m.IP, m.MeanGap().Round(100*time.Microsecond),
		m.MaxGap().Round(time.Millisecond), m.DualTime().Round(time.Millisecond))
	for _, c := range m.Timeline() {
		fmt.Fprintf(&b, "\n  +%v %v", c.At.Round(time.Millisecond), c.Holders)
	}
	return b.String()
}
