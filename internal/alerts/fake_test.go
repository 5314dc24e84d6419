package alerts

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/store"
)

// fakeLeader is the leader's copy of a store with a change index.
type fakeLeader struct {
	mu      sync.Mutex
	st      *store.Store
	idx     uint64
	changed chan struct{}
}

func newFakeLeader() *fakeLeader {
	return &fakeLeader{st: store.New(), idx: 1, changed: make(chan struct{})}
}

func (f *fakeLeader) apply(t *testing.T, cmd store.Command) {
	t.Helper()
	if r, _ := f.propose(context.Background(), cmd); r.Err != nil {
		t.Fatal(r.Err)
	}
}

func (f *fakeLeader) propose(_ context.Context, cmd store.Command) (store.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.st.Apply(cmd)
	if r.Err == nil {
		f.idx++
		close(f.changed)
		f.changed = make(chan struct{})
	}
	return r, nil
}

func (f *fakeLeader) events(after uint64) []store.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.Events(after)
}

func (f *fakeLeader) config() Config {
	return Config{
		IsLeader: func() bool { return true },
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
		Events:  f.events,
		Alerts:  func() []store.Alert { f.mu.Lock(); defer f.mu.Unlock(); return f.st.Alerts() },
		Propose: f.propose,
		Timeout: time.Second, ScriptTimeout: 2 * time.Second, Backoff: 20 * time.Millisecond, Retries: 2,
	}
}

// start runs a deliverer over f until the test ends.
func (f *fakeLeader) start(t *testing.T, cfg Config) *Deliverer {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return d
}

// waitRecord waits for the alert-delivered or alert-failed record of
// alert id about event ref.
func (f *fakeLeader) waitRecord(t *testing.T, id string, ref uint64, within time.Duration) store.Event {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, e := range f.events(0) {
			if e.Alert == id && e.Ref == ref {
				return e
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no delivery record of event %d for alert %s within %v", ref, id, within)
	return store.Event{}
}
