package fence

import (
	"strings"
	"testing"
	"time"
)

func TestGatewayReach(t *testing.T) {
	for _, c := range []struct {
		values []string
		want   Reach
	}{
		{nil, ReachUnknown},
		{[]string{"0"}, Unreachable},
		{[]string{"0", "0"}, Unreachable},
		{[]string{"0", "100"}, Reachable},
		{[]string{"1"}, Reachable},
		{[]string{"garbage"}, Unreachable},
		{[]string{""}, Unreachable},
	} {
		if got := GatewayReach(c.values); got != c.want {
			t.Errorf("GatewayReach(%q) = %v, want %v", c.values, got, c.want)
		}
	}
}

func TestNodePriority(t *testing.T) {
	for _, c := range []struct {
		rs   []Running
		want int
	}{
		{nil, 0},
		{[]Running{{Priority: 10}, {Priority: 5}}, 15},
		{[]Running{{Priority: 10, Promoted: true}}, 11},
		{[]Running{{Priority: 0, Promoted: true}, {Priority: 0}}, 0},
		{[]Running{{Priority: -3}}, -3},
	} {
		if got := NodePriority(c.rs); got != c.want {
			t.Errorf("NodePriority(%+v) = %d, want %d", c.rs, got, c.want)
		}
	}
}

// TestRace checks each rule of Race on one side, then that of two live
// nodes whose link was cut, equally informed, exactly one fences first,
// with at least the margin docs/two-node.md asks for.
func TestRace(t *testing.T) {
	base := RaceFacts{Self: "n1", Peer: "n2", CaughtUp: true, CanFence: true, Gateway: Reachable, PriorityDelay: 4 * time.Second}
	with := func(mod func(*RaceFacts)) RaceFacts { f := base; mod(&f); return f }
	for _, c := range []struct {
		name   string
		f      RaceFacts
		fence  bool
		delay  time.Duration
		reason string
	}{
		{"not caught up since start: wait_for_all", with(func(f *RaceFacts) { f.CaughtUp = false }), false, 0, "wait_for_all"},
		{"no device can fence the peer", with(func(f *RaceFacts) { f.CanFence = false }), false, 0, "no fence device can fence n2"},
		{"equal, name sorts first: no delay", base, true, 0, "no delay"},
		{"equal, name sorts last: half the priority delay", with(func(f *RaceFacts) { f.Self, f.Peer = "n2", "n1" }), true, 2 * time.Second, "sorts after"},
		{"peer more important: priority delay", with(func(f *RaceFacts) { f.PeerPriority = 10 }), true, 4 * time.Second, "n2 runs the more important"},
		{"self more important: no delay even sorting last", with(func(f *RaceFacts) { f.Self, f.Peer, f.SelfPriority = "n2", "n1", 11 }), true, 0, "no delay"},
		{"gateway unreachable: isolated delay", with(func(f *RaceFacts) { f.Gateway = Unreachable; f.SelfPriority = 10 }), true, IsolatedDelay, "cannot reach its gateway"},
		{"gateway unreachable and peer more important", with(func(f *RaceFacts) { f.Gateway = Unreachable; f.PeerPriority = 1 }), true, IsolatedDelay + 4*time.Second, "more important"},
		{"no ping resource: priorities only", with(func(f *RaceFacts) { f.Gateway = ReachUnknown; f.PeerPriority = 1 }), true, 4 * time.Second, ""},
		{"priority-fencing-delay unset: the two-node default", with(func(f *RaceFacts) { f.PriorityDelay = 0; f.PeerPriority = 1 }), true, DefaultTwoNodePriorityDelay, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := Race(c.f)
			if d.Fence != c.fence || d.Delay != c.delay || !strings.Contains(d.Reason, c.reason) {
				t.Errorf("Race = %+v, want fence=%v delay=%v reason containing %q", d, c.fence, c.delay, c.reason)
			}
			if strings.Contains(d.Reason, "\n") || d.Reason == "" {
				t.Errorf("reason %q is not one line", d.Reason)
			}
		})
	}

	// Both sides of a cut link: every combination of gateway reach and
	// priority; exactly one side fences first, ahead by at least half the
	// priority delay, and a side that reaches the gateway always beats an
	// isolated one.
	reaches := []Reach{ReachUnknown, Reachable, Unreachable}
	for _, r1 := range reaches {
		for _, r2 := range reaches {
			if (r1 == ReachUnknown) != (r2 == ReachUnknown) {
				continue // the ping clone runs on both or on neither
			}
			for _, p1 := range []int{0, 5, 11} {
				for _, p2 := range []int{0, 5, 11} {
					a := Race(RaceFacts{Self: "n1", Peer: "n2", CaughtUp: true, CanFence: true, Gateway: r1, SelfPriority: p1, PeerPriority: p2, PriorityDelay: 4 * time.Second})
					b := Race(RaceFacts{Self: "n2", Peer: "n1", CaughtUp: true, CanFence: true, Gateway: r2, SelfPriority: p2, PeerPriority: p1, PriorityDelay: 4 * time.Second})
					gap := a.Delay - b.Delay
					if gap < 0 {
						gap = -gap
					}
					if !a.Fence || !b.Fence || gap < 2*time.Second {
						t.Errorf("gateway %v/%v priority %d/%d: n1 %v, n2 %v: no clear winner", r1, r2, p1, p2, a, b)
					}
					if r1 == Reachable && r2 == Unreachable && a.Delay >= b.Delay {
						t.Errorf("gateway %v/%v priority %d/%d: the isolated n2 (%v) fences before n1 (%v)", r1, r2, p1, p2, b.Delay, a.Delay)
					}
					if r1 == r2 && p1 > p2 && a.Delay >= b.Delay {
						t.Errorf("gateway %v priority %d/%d: the more important n1 (%v) does not win over n2 (%v)", r1, p1, p2, a.Delay, b.Delay)
					}
				}
			}
		}
	}
}
