package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
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

// Monitor samples, for each host, whether it holds one address (a VIP),
// each host in its own goroutine so a sample of every host is taken at
// least every 20 ms (the largest gap is reported by MaxGap). Stop ends it.
type Monitor struct {
	IP    string
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup

	mu     sync.Mutex
	events []holdEvent // transitions, in the order recorded per host
	maxGap time.Duration
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
	held, last := false, time.Time{}
	for {
		select {
		case <-m.stop:
			return
		default:
		}
		now := time.Now()
		got, err := Holds(h, m.IP)
		m.mu.Lock()
		if !last.IsZero() && now.Sub(last) > m.maxGap {
			m.maxGap = now.Sub(last)
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

// Stop ends sampling; the results stay readable.
func (m *Monitor) Stop() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
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

// String prints the timeline, one change per line.
func (m *Monitor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s holders (max sample gap %v, dual %v):", m.IP, m.MaxGap().Round(time.Millisecond), m.DualTime().Round(time.Millisecond))
	for _, c := range m.Timeline() {
		fmt.Fprintf(&b, "\n  +%v %v", c.At.Round(time.Millisecond), c.Holders)
	}
	return b.String()
}
