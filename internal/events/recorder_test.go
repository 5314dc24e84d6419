package events

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/store"
)

// fakeCluster is one node's copy of a store with a change index, as the
// daemon's backend offers it.
type fakeCluster struct {
	mu      sync.Mutex
	st      *store.Store
	idx     uint64
	changed chan struct{}
	view    View
	leader  bool
	// leaderCalls counts the cheap refreshes between changes.
	leaderCalls int
}

func newFake(v View, leader bool) *fakeCluster {
	return &fakeCluster{st: store.New(), idx: 1, changed: make(chan struct{}), view: v, leader: leader}
}

func (f *fakeCluster) bump() {
	f.idx++
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeCluster) setView(v View) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.view = v
	f.bump()
}

func (f *fakeCluster) config() Config {
	return Config{Node: "n1",
		View:     func() View { f.mu.Lock(); defer f.mu.Unlock(); return f.view },
		IsLeader: func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.leader },
		Leader: func() (string, bool) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.leaderCalls++
			return f.view.Leader, f.view.Quorum
		},
		Wait: func(ctx context.Context, after uint64) (uint64, error) {
			for {
				f.mu.Lock()
				idx, ch := f.idx, f.changed
				f.mu.Unlock()
				if idx > after {
					return idx, nil
				}
				select {
				case <-ch:
				case <-ctx.Done():
					return idx, ctx.Err()
				}
			}
		},
		Propose: func(ctx context.Context, cmd store.Command) (store.Result, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if !f.view.Quorum {
				return store.Result{}, context.DeadlineExceeded
			}
			r := f.st.Apply(cmd)
			if r.Err == nil {
				f.bump()
			}
			return r, nil
		},
		Poll: 50 * time.Millisecond, MinInterval: 10 * time.Millisecond}
}

func (f *fakeCluster) events() []store.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.Events(0)
}

func waitEvents(t *testing.T, f *fakeCluster, n int) []store.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		evs := f.events()
		if len(evs) >= n {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events recorded, want %d: %+v", len(evs), n, evs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func twoNodes(n2 store.State, web string) View {
	v := View{Self: "n1", Leader: "n1", Quorum: true, Epoch: 1,
		Nodes:     map[string]Node{"n1": {State: store.StateOnline}, "n2": {State: n2}},
		Resources: map[string]Resource{"web": {Instances: map[string]Instance{}}}}
	if web != "" {
		v.Resources["web"].Instances[web] = Instance{Role: "Started"}
	}
	return v
}

// The leader appends what changed, once; Record adds an event of its own.
func TestRecorderLeaderAppends(t *testing.T) {
	f := newFake(twoNodes(store.StateOnline, "n2"), true)
	r, err := New(f.config())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	time.Sleep(30 * time.Millisecond)
	f.setView(twoNodes(store.StateOffline, "n1"))
	evs := waitEvents(t, f, 2)
	if evs[0].Kind != store.EventNodeLost || evs[0].Node != "n2" || evs[1].Kind != store.EventRecovered || evs[1].From != "n2" || evs[1].To != "n1" {
		t.Fatalf("events %+v", evs)
	}
	r.Record(store.Event{Kind: store.EventNodeFenced, Node: "n2", Detail: "fence_ipmilan: off"})
	evs = waitEvents(t, f, 3)
	if evs[2].Kind != store.EventNodeFenced || evs[2].At == 0 {
		t.Fatalf("recorded %+v", evs[2])
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(f.events()); n != 3 {
		t.Fatalf("%d events after the state settled, want 3 (each recorded once)", n)
	}
}

// A follower records nothing about the replicated state, but its own loss
// of quorum, with the time it happened, once quorum is back.
func TestRecorderFollowerKeepsQuorumEvents(t *testing.T) {
	f := newFake(twoNodes(store.StateOnline, "n2"), false)
	start := time.Now()
	r, err := New(f.config())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	time.Sleep(30 * time.Millisecond)
	f.setView(twoNodes(store.StateOffline, "n1")) // the leader records these
	time.Sleep(50 * time.Millisecond)
	lost := twoNodes(store.StateOffline, "n1")
	lost.Quorum, lost.Leader = false, ""
	f.setView(lost)
	time.Sleep(QuorumGrace + 200*time.Millisecond)
	if n := len(f.events()); n != 0 {
		t.Fatalf("%d events appended without quorum or by a follower", n)
	}
	f.mu.Lock()
	calls := f.leaderCalls
	f.mu.Unlock()
	if calls == 0 {
		t.Error("no cheap refresh of the leader between changes: a view was built every poll")
	}
	f.setView(twoNodes(store.StateOffline, "n1"))
	evs := waitEvents(t, f, 2)
	if evs[0].Kind != store.EventQuorumLost || evs[0].Node != "n1" || evs[1].Kind != store.EventQuorumRegained {
		t.Fatalf("events %+v", evs)
	}
	if at := time.UnixMilli(evs[0].At); at.Before(start) || time.Since(at) < QuorumGrace {
		t.Fatalf("quorum-lost at %v: want the time it was first missed, at least %v ago", at, QuorumGrace)
	}
}
