package daemon

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/paceline/paceline/api"
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
// dies, the leader recovers web on another node once the lease and the
// self-fence deadline have passed. Status never shows web on two nodes.
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
