package fence

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/model"
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
		{"after a failed fence: 1 s more", with(func(f *RaceFacts) { f.Failed = 1 }), true, time.Second, "1 failed fences in a row"},
		{"after 4 failed fences: 8 s more", with(func(f *RaceFacts) { f.Failed = 4; f.PeerPriority = 1 }), true, 12 * time.Second, "4 failed fences"},
		{"after many: 30 s at most", with(func(f *RaceFacts) { f.Failed = 40 }), true, 30 * time.Second, "40 failed fences"},
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

func TestTwoNodeGate(t *testing.T) {
	dev := func(id string, params ...string) model.Resource {
		r := model.Resource{ID: id, Kind: model.KindPrimitive, Class: "stonith", Type: "fence_ipmilan"}
		for i := 0; i+1 < len(params); i += 2 {
			r.Params = append(r.Params, model.NV{Name: params[i], Value: params[i+1]})
		}
		return r
	}
	vip := model.Resource{ID: "vip", Kind: model.KindPrimitive, Class: "builtin", Type: "vip"}
	two := map[string]string{"n2": "server", "n1": "server", "c1": "client"}
	for _, c := range []struct {
		name  string
		cfg   model.Config
		roles map[string]string
		want  string // "" or a part of the line
	}{
		{"no device", model.Config{Resources: []model.Resource{vip}}, two,
			"two-node cluster: n1 and n2 have no fence device: add one for each"},
		{"a device for n1 only", model.Config{Resources: []model.Resource{dev("f1", "pcmk_host_list", "n1")}}, two,
			"two-node cluster: n2 has no fence device: add one (paceline resource create fence-n2 stonith:fence_ipmilan"},
		{"one device per node", model.Config{Resources: []model.Resource{dev("f1", "pcmk_host_list", "n1"), dev("f2", "pcmk_host_map", "n2:2")}}, two, ""},
		{"one device with a list of both", model.Config{Resources: []model.Resource{dev("f", "pcmk_host_list", "n1 n2")}}, two, ""},
		{"a device with no static list (its agent's list decides)", model.Config{Resources: []model.Resource{dev("f")}}, two, ""},
		{"static-list with no list covers nobody", model.Config{Resources: []model.Resource{dev("f", "pcmk_host_check", "static-list")}}, two, "n1 and n2"},
		{"a level for n2", model.Config{Resources: []model.Resource{dev("f1", "pcmk_host_list", "n1"), dev("f9", "pcmk_host_list", "n1")},
			FencingLevels: []model.FencingLevel{{Target: "n2", Index: 1, Devices: []string{"f9"}}}}, two, ""},
		{"a witness joined", model.Config{}, map[string]string{"n1": "server", "n2": "server", "w": "witness"}, ""},
		{"three servers", model.Config{}, map[string]string{"n1": "server", "n2": "server", "n3": "server"}, ""},
		{"one server (the second has not joined)", model.Config{}, map[string]string{"n1": "server"}, ""},
		{"stonith-enabled=false: off", model.Config{Properties: map[string]string{"stonith-enabled": "false"}}, two, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := TwoNodeGate(&c.cfg, c.roles)
			if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
				t.Errorf("TwoNodeGate = %q, want %q", got, c.want)
			}
			if strings.Contains(got, "\n") {
				t.Errorf("not one line: %q", got)
			}
		})
	}
}

func TestGateExempt(t *testing.T) {
	prim := func(class, provider, typ string) model.Resource {
		return model.Resource{ID: "r", Kind: model.KindPrimitive, Class: class, Provider: provider, Type: typ}
	}
	clone := func(children ...model.Resource) model.Resource {
		return model.Resource{ID: "c", Kind: model.KindClone, Children: children}
	}
	for _, c := range []struct {
		r    model.Resource
		want bool
	}{
		{prim("stonith", "", "fence_ipmilan"), true},
		{prim("builtin", "", "ping"), true},
		{prim("ocf", "pacemaker", "ping"), true},
		{clone(prim("builtin", "", "ping")), true},
		{prim("builtin", "", "vip"), false},
		{prim("ocf", "heartbeat", "ping"), false},
		{clone(prim("builtin", "", "dummy")), false},
		{model.Resource{ID: "g", Kind: model.KindGroup, Children: []model.Resource{prim("builtin", "", "ping"), prim("builtin", "", "vip")}}, false},
		{model.Resource{ID: "g", Kind: model.KindGroup}, false},
	} {
		if got := GateExempt(&c.r); got != c.want {
			t.Errorf("GateExempt(%s:%s:%s %s) = %v, want %v", c.r.Class, c.r.Provider, c.r.Type, c.r.Kind, got, c.want)
		}
	}
}

// TestGateInput: only fence devices and ping resources keep their
// target-role; the caller's configuration is not changed.
func TestGateInput(t *testing.T) {
	ping := model.Resource{ID: "gw-clone", Kind: model.KindClone, Children: []model.Resource{{ID: "gw", Kind: model.KindPrimitive, Class: "builtin", Type: "ping"}}}
	dev := model.Resource{ID: "f1", Kind: model.KindPrimitive, Class: "stonith", Type: "fence_ipmilan", Params: []model.NV{{Name: "pcmk_host_list", Value: "n1"}}}
	vip := model.Resource{ID: "vip", Kind: model.KindPrimitive, Class: "builtin", Type: "vip", Meta: map[string]string{"priority": "10"}}
	cfg := &model.Config{Resources: []model.Resource{ping, dev, vip}}
	roles := map[string]string{"n1": "server", "n2": "server"}
	out, line := GateInput(cfg, roles)
	if !strings.Contains(line, "n2 has no fence device") {
		t.Fatalf("line %q", line)
	}
	for _, r := range out.Resources {
		if got, want := r.Meta["target-role"], map[string]string{"vip": "Stopped"}[r.ID]; got != want {
			t.Errorf("%s: target-role %q, want %q", r.ID, got, want)
		}
	}
	if out.Resources[2].Meta["priority"] != "10" || cfg.Resources[2].Meta["target-role"] != "" {
		t.Errorf("the input changed or lost its meta: %v, %v", cfg.Resources[2].Meta, out.Resources[2].Meta)
	}
	cfg.Resources = append(cfg.Resources, model.Resource{ID: "f2", Kind: model.KindPrimitive, Class: "stonith", Type: "fence_ipmilan",
		Params: []model.NV{{Name: "pcmk_host_list", Value: "n2"}}})
	if out, line := GateInput(cfg, roles); line != "" || out != cfg {
		t.Errorf("with a device for each node: %q, same config %v", line, out == cfg)
	}
}

// docs/two-node.md, "Meanwhile": only a node of a two-node cluster whose
// every node a device can fence, with stonith-enabled and no lease
// watchdog, keeps what it runs when its lease lapses; every other node
// stops it (DESIGN.md, Safety).
func TestKeepOnLeaseLoss(t *testing.T) {
	dev := model.Resource{ID: "f", Kind: model.KindPrimitive, Class: "stonith", Type: "fence_ipmilan",
		Params: []model.NV{{Name: "pcmk_host_list", Value: "n1,n2"}}}
	covered := &model.Config{Resources: []model.Resource{dev}}
	two := map[string]string{"n1": "server", "n2": "server", "c1": "client"}
	both := []string{"n1", "n2"}
	for _, c := range []struct {
		name     string
		cfg      *model.Config
		roles    map[string]string
		voters   []string
		self     string
		watchdog bool
		keep     bool
	}{
		{"two-node, a device for each, no watchdog", covered, two, both, "n1", false, true},
		{"the other node too", covered, two, both, "n2", false, true},
		{"a lease watchdog", covered, two, both, "n1", true, false},
		{"no device (the gate holds)", &model.Config{}, two, both, "n1", false, false},
		{"stonith-enabled=false", &model.Config{Resources: []model.Resource{dev}, Properties: map[string]string{"stonith-enabled": "false"}},
			two, both, "n1", false, false},
		{"a witness", covered, map[string]string{"n1": "server", "n2": "server", "w": "witness"}, []string{"n1", "n2", "w"}, "n1", false, false},
		{"three servers", covered, map[string]string{"n1": "server", "n2": "server", "n3": "server"}, []string{"n1", "n2", "n3"}, "n1", false, false},
		{"alone (the peer a non-voter after its fence)", covered, two, []string{"n1"}, "n1", false, false},
		{"a client", covered, two, both, "c1", false, false},
		{"voters that are not the two servers", covered, two, []string{"n1", "x"}, "n1", false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			keep, why := KeepOnLeaseLoss(c.cfg, c.roles, c.voters, c.self, c.watchdog)
			if keep != c.keep {
				t.Fatalf("KeepOnLeaseLoss = %v (%q), want %v", keep, why, c.keep)
			}
			if keep && (!strings.Contains(why, c.self+" keeps what it runs") || strings.Contains(why, "\n")) {
				t.Errorf("reason %q", why)
			}
		})
	}
}

// `paceline init --two-node` (issue 13, part 5): a cluster declared
// two-node takes a second server and clients, never a witness or a third
// server, each refused in one line that says what to do.
func TestTwoNodeJoin(t *testing.T) {
	declared := &model.Config{Properties: map[string]string{"two-node": "true"}}
	one := map[string]string{"n1": "server"}
	two := map[string]string{"n1": "server", "n2": "server"}
	for _, c := range []struct {
		name  string
		cfg   *model.Config
		roles map[string]string
		node  string
		role  string
		want  string // "" or a part of the error
	}{
		{"the second server", declared, one, "n2", "server", ""},
		{"a client", declared, two, "c1", "client", ""},
		{"a third server", declared, two, "n3", "server", "n3 cannot join as a server: n1 and n2 are its two voters"},
		{"a witness", declared, two, "w", "witness", "w cannot join as a witness: a two-node cluster has no witness"},
		{"a witness before the second server", declared, one, "w", "witness", "cannot join as a witness"},
		{"a server rejoining under its own name", declared, two, "n2", "server", ""},
		{"not declared: a witness joins", &model.Config{}, two, "w", "witness", ""},
		{"declared false", &model.Config{Properties: map[string]string{"two-node": "false"}}, two, "n3", "server", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := TwoNodeJoin(c.cfg, c.roles, c.node, c.role)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrTwoNodeVoter)):
				t.Fatalf("TwoNodeJoin = %v, want %q", err, c.want)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Errorf("not one line: %q", err)
			}
		})
	}
}

// Setting two-node=true on a cluster that is not two servers without a
// witness is refused in one line.
func TestTwoNodeDeclare(t *testing.T) {
	for _, c := range []struct {
		roles map[string]string
		want  string
	}{
		{map[string]string{"n1": "server"}, ""},
		{map[string]string{"n1": "server", "n2": "server", "c1": "client"}, ""},
		{map[string]string{"n1": "server", "n2": "server", "w": "witness"}, "w is a witness, and a two-node cluster has none"},
		{map[string]string{"n1": "server", "n2": "server", "n3": "server"}, "the cluster has 3 servers (n1, n2, n3)"},
	} {
		err := TwoNodeDeclare(c.roles)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrTwoNodeVoter)) {
			t.Errorf("TwoNodeDeclare(%v) = %v, want %q", c.roles, err, c.want)
		}
	}
}
