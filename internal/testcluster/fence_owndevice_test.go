package testcluster

import (
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/store"
)

// A lost node whose own fence device (the device whose pcmk_host_list
// names only it) was running on it is fenced from another node through
// that device, as Pacemaker's fencer does: fencing needs the device's
// definition and a node other than the target to run it, not the device
// resource started somewhere. No -INFINITY location keeps the device off
// its own target. The lost node is a follower, then the leader: a lost
// leader never renews with its successor, whose controller dispatched
// nothing, its fence included, until every node had renewed with it
// (the node stayed unclean for good: "no fence device has confirmed").
func TestNodeRunningItsOwnDeviceIsFenced(t *testing.T) {
	for _, leader := range []bool{false, true} {
		name := "follower"
		if leader {
			name = "leader"
		}
		t.Run(name, func(t *testing.T) { ownDeviceFenced(t, leader) })
	}
}

func ownDeviceFenced(t *testing.T, leader bool) {
	logf := func(string, ...any) {}
	if testing.Verbose() {
		logf = t.Logf
	}
	c := New(t, Options{Nodes: 3, Logf: logf, Fencing: true})
	t.Cleanup(c.CheckNeverActiveTwice)
	x, _ := followers(c)
	if leader {
		x = c.Leader()
	}
	c.Update("one device per node, each preferring its own target", func(cfg *model.Config) {
		for _, n := range []string{"n1", "n2", "n3"} {
			cfg.Resources = append(cfg.Resources, model.Resource{ID: "fence-" + n, Kind: model.KindPrimitive, Class: "stonith",
				Type: FenceAgent, Params: []model.NV{{Name: "pcmk_host_list", Value: n}}})
			cfg.Locations = append(cfg.Locations, model.Location{ID: "fence-" + n + "-home", Resource: "fence-" + n, Node: n, Score: 100})
		}
	})
	c.CreateDummy("web", time.Second, nil)
	c.Update("prefer "+x, func(cfg *model.Config) {
		cfg.Locations = append(cfg.Locations, model.Location{ID: "web-on-x", Resource: "web", Node: x, Score: 100})
	})
	c.Eventually("web and fence-"+x+" on "+x, func() bool {
		w, d := c.ActiveOn("web"), storedActiveOn(c, "fence-"+x)
		return len(w) == 1 && w[0] == x && len(d) == 1 && d[0] == x
	})
	pausedAt := c.Clock.Now()
	c.Pause(x)
	to := runningOn(c, "web", x)
	m := member(c, x)
	if m.State != store.StateOffline || m.Fenced == nil || m.Fenced.By != "fence-"+x {
		t.Errorf("%s after the fence: %+v, want fenced by fence-%s", x, m, x)
	}
	h := fenceHistory(c, x)
	if len(h) == 0 || h[len(h)-1].Executor == x || h[len(h)-1].Result != "success" {
		t.Errorf("fence history of %s: %+v", x, h)
	}
	var dev []string
	c.Eventually("fence-"+x+" started elsewhere", func() bool {
		dev = storedActiveOn(c, "fence-"+x)
		return len(dev) == 1 && dev[0] != x
	})
	started, _ := lastEvent(c, "web", to, true)
	t.Logf("%s fenced by fence-%s run on %s; web on %s %v (fake clock) after the pause; fence-%s now on %s",
		x, x, h[len(h)-1].Executor, to, started.At.Sub(pausedAt), x, dev[0])
}

// storedActiveOn returns the nodes where the store says rsc is active:
// its newest one-shot operation there is a successful start or a probe
// that found it running. For resources the cluster does not track itself
// (fence devices).
func storedActiveOn(c *Cluster, rsc string) []string {
	var on []string
	leaderNode(c).Raft.Read(func(s *store.Store) {
		for _, ns := range s.Status().Nodes {
			for _, rh := range ns.Resources {
				if rh.ID != rsc {
					continue
				}
				var last *model.OpRecord
				for i := range rh.Ops {
					if op := &rh.Ops[i]; op.Interval == 0 && (last == nil || op.CallID > last.CallID) {
						last = op
					}
				}
				if last != nil && last.RC == 0 && last.OpStatus == 0 && (last.Operation == "start" || last.Operation == "monitor") {
					on = append(on, ns.Name)
				}
			}
		}
	})
	return on
}

// A device banned from the leader (a -INFINITY location there) is not run
// by the leader: the leader hands the fence to a node that may run it
// (Pacemaker's fencer registers a device only where it may run). A
// disabled device (target-role=Stopped) fences from nowhere: the lost
// node is held, and the hold says why.
func TestBannedDeviceRunsElsewhereAndDisabledNowhere(t *testing.T) {
	for _, disabled := range []bool{false, true} {
		name := "banned from the leader"
		if disabled {
			name = "disabled"
		}
		t.Run(name, func(t *testing.T) {
			c, x := fenceCluster(t, true) // the power switch, for every node
			leader := c.Leader()
			c.Update("the power switch, "+name, func(cfg *model.Config) {
				if disabled {
					r := model.FindResource(cfg.Resources, "power")
					r.Meta = map[string]string{"target-role": "Stopped"}
				} else {
					cfg.Locations = append(cfg.Locations, model.Location{ID: "power-not-on-leader", Resource: "power", Node: leader, Score: -model.Infinity})
				}
			})
			c.Pause(x)
			if disabled {
				c.Eventually("the hold names the disabled device", func() bool {
					return strings.Contains(member(c, x).Hold, "device power is disabled")
				})
				if ns := c.ActiveOn("web"); len(ns) != 1 || ns[0] != x {
					t.Fatalf("web active on %v with only a disabled device, want it held on %s", ns, x)
				}
				t.Logf("hold: %s", member(c, x).Hold)
				return
			}
			to := runningOn(c, "web", x)
			h := fenceHistory(c, x)
			last := h[len(h)-1]
			if last.Result != "success" || last.Device != "power" || last.Executor == leader || last.Executor == x {
				t.Fatalf("fence history of %s: %+v, want power run by a node other than the leader %s", x, h, leader)
			}
			t.Logf("%s fenced by power run on %s (banned from the leader %s); web on %s", x, last.Executor, leader, to)
		})
	}
}
