package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/controller"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/peer"
	"github.com/paceline/paceline/internal/store"
)

// statusOf polls the status through any node's API.
func (c *apiCluster) statusOf(t *testing.T, cl *api.Client) *api.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := cl.Status(ctx)
	if err != nil {
		return nil
	}
	return st
}

func resourceIn(st *api.Status, id string) (api.ResourceStatus, bool) {
	if st == nil {
		return api.ResourceStatus{}, false
	}
	for _, r := range st.Resources {
		if r.ID == id {
			return r, true
		}
	}
	return api.ResourceStatus{}, false
}

func waitStatus(t *testing.T, c *apiCluster, cl *api.Client, what string, limit time.Duration, cond func(*api.Status) bool) *api.Status {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if st := c.statusOf(t, cl); st != nil && cond(st) {
			return st
		}
	}
	t.Fatalf("timed out after %v waiting for %s; last status %+v", limit, what, c.statusOf(t, cl))
	return nil
}

// Three nodes over real TLS: heartbeats bring them online, a resource
// created through a follower's API starts on one node through the peer
// exec endpoint and its result comes back through report; when that node
// dies (no fence device, no watchdog: stonith-enabled=true holds web,
// and status says why), an operator's confirm-down through the API lets
// the leader recover web on another node. Status never shows web on two
// nodes.
func TestRuntimeRecoversLostNode(t *testing.T) {
	c := newCluster(t, true)
	all := []string{"n1", "n2", "n3"}
	cl := c.client(t, all...)
	waitStatus(t, c, cl, "all nodes online", 10*time.Second, func(st *api.Status) bool {
		online := 0
		for _, n := range st.Nodes {
			if n.State == api.NodeOnline {
				online++
			}
		}
		return online == 3
	})
	ctx := context.Background()
	if _, err := cl.CreateResource(ctx, api.ResourceRequest{ID: "web", Agent: "builtin:dummy",
		Ops: []api.OpSpec{{Name: "monitor", Interval: "1s"}}}); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, c, cl, "web Started", 10*time.Second, func(st *api.Status) bool {
		r, ok := resourceIn(st, "web")
		return ok && r.Role == api.RoleStarted && len(r.Nodes) == 1
	})
	r, _ := resourceIn(st, "web")
	victim := r.Nodes[0]
	var rest []string
	for _, n := range all {
		if n != victim {
			rest = append(rest, n)
		}
	}
	killed := time.Now()
	c.kill[victim]()
	survivors := c.client(t, rest...)
	held := waitStatus(t, c, survivors, victim+" held, status saying why", 15*time.Second, func(st *api.Status) bool {
		for _, n := range st.Nodes {
			if n.Name == victim && n.State == "unclean" && strings.Contains(n.Hold, "confirm-down "+victim) {
				return true
			}
		}
		return false
	})
	time.Sleep(time.Second) // nothing moves while it is held
	if now, err := survivors.Status(ctx); err == nil {
		held = now
	}
	if r, _ := resourceIn(held, "web"); len(r.Nodes) != 1 || r.Nodes[0] != victim {
		t.Fatalf("web on %v while %s is held", r.Nodes, victim)
	}
	// The victim may have led: retry while the survivors elect.
	for i := 0; ; i++ {
		_, err := survivors.ConfirmDown(ctx, victim)
		if err == nil {
			break
		}
		if i >= 20 || !strings.Contains(err.Error(), "not the leader") {
			t.Fatalf("confirm-down %s: %v", victim, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	st = waitStatus(t, c, survivors, "web Started elsewhere", 15*time.Second, func(st *api.Status) bool {
		r, ok := resourceIn(st, "web")
		if ok && len(r.Nodes) > 1 {
			t.Errorf("web reported active on %v", r.Nodes)
		}
		return ok && r.Role == api.RoleStarted && len(r.Nodes) == 1 && r.Nodes[0] != victim
	})
	r, _ = resourceIn(st, "web")
	if slices.Contains(r.Nodes, victim) {
		t.Fatalf("web still on %s", victim)
	}
	t.Logf("web moved %s -> %s %v after the kill", victim, r.Nodes[0], time.Since(killed).Round(time.Millisecond))
}

// A node refuses an op from a leader of an older Raft term than its own
// (a deposed leader that does not know it yet), and reports an op it
// accepted as busy in its renewals until the leader has taken its result
// (controller.Renewal.Busy): a new leader must not act on a resource an op
// of its predecessor still works on.
func TestRuntimeRefusesOldTermsAndReportsBusyOps(t *testing.T) {
	c := newCluster(t, true)
	all := []string{"n1", "n2", "n3"}
	cl := c.client(t, all...)
	waitStatus(t, c, cl, "all nodes online", 10*time.Second, func(st *api.Status) bool {
		return len(st.Nodes) == 3 && !slices.ContainsFunc(st.Nodes, func(n api.NodeStatus) bool { return n.State != api.NodeOnline })
	})
	follower := c.follower()
	rt, term := c.rts[follower], c.nodes[follower].Term()
	probe := controller.Op{Resource: model.ResourceHistory{ID: "probe-me", Class: "builtin", Type: "dummy"}, Name: "monitor",
		Params: map[string]string{"op_sleep": "300ms"}, Timeout: 5 * time.Second, TargetRC: 7, Controller: "test", TransitionKey: "test:1:1"}
	old := probe
	old.Term = term - 1
	if err := rt.Exec(old); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("term %d", term)) {
		t.Fatalf("an op of term %d on a node in term %d: %v, want a refusal naming both", term-1, term, err)
	}
	probe.Term = term
	if err := rt.Exec(probe); err != nil {
		t.Fatal(err)
	}
	if busy := rt.Busy(); len(busy) != 1 || busy[0] != (controller.Busy{Resource: "probe-me", Controller: "test", Key: "test:1:1"}) {
		t.Fatalf("busy right after exec = %+v, want probe-me of test", busy)
	}
	waitUntil(t, "the probe's result delivered", func() bool { return len(rt.Busy()) == 0 })
	// Taken means queued for the controller, which records it next.
	waitUntil(t, "the probe recorded", func() (recorded bool) {
		c.nodes[follower].Read(func(s *store.Store) {
			m, _ := s.Member(follower)
			recorded = slices.ContainsFunc(m.Resources, func(rh model.ResourceHistory) bool { return rh.ID == "probe-me" })
		})
		return recorded
	})
}

// A peer's 400 is peer.ErrRejected: the results loop drops such a result
// instead of sending it again forever.
func TestPeerRejectionIsTold(t *testing.T) {
	c := newCluster(t, true)
	waitUntil(t, "a leader with its controller", func() bool {
		l := c.leader()
		return l != "" && c.rts[l].Controller() != nil
	})
	peers := peer.NewClient(c.peerTLS(t, "n1"), c.resolve, 5*time.Second)
	defer peers.Close()
	err := peers.Heartbeat(context.Background(), c.leader(), controller.Renewal{Watchdog: -time.Millisecond})
	if !errors.Is(err, peer.ErrRejected) || !strings.Contains(err.Error(), "watchdog_ms is negative") {
		t.Fatalf("a heartbeat with a negative watchdog: %v, want peer.ErrRejected naming watchdog_ms", err)
	}
}
