package controller

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/model"
)

// slowDispatcher blocks every op to n1 until release is closed, fails
// every op to n3, and records the order ops reach each node.
type slowDispatcher struct {
	release chan struct{}
	mu      sync.Mutex
	got     map[string][]string
}

func (d *slowDispatcher) Dispatch(node string, op Op) error {
	if node == "n1" {
		<-d.release
	}
	if node == "n3" {
		return errors.New("unreachable")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.got[node] = append(d.got[node], op.Resource.ID)
	return nil
}

// A node that takes long to accept ops stalls neither the caller nor the
// other nodes' queues; each node gets its ops in order; a failed hand-over
// comes back with the op it failed.
func TestQueuesIsolateSlowNodes(t *testing.T) {
	d := &slowDispatcher{release: make(chan struct{}), got: map[string][]string{}}
	failed := make(chan failedDispatch, 10)
	ctx, cancel := context.WithCancel(context.Background())
	qs := newQueues(ctx, d, failed)
	defer func() { cancel(); qs.wait() }()
	op := func(id string) Op { return Op{Resource: model.ResourceHistory{ID: id}, Name: "start"} }
	began := time.Now()
	for i, id := range []string{"a", "b", "c"} {
		for _, n := range []string{"n1", "n2", "n3"} {
			if err := qs.send(queued{node: n, op: op(id), step: 1, id: i}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if time.Since(began) > time.Second {
		t.Fatal("send blocked on the slow node")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		d.mu.Lock()
		n2 := len(d.got["n2"])
		d.mu.Unlock()
		if n2 == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("n2's ops waited for n1")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i := 0; i < 3; i++ {
		select {
		case f := <-failed:
			if f.node != "n3" || f.id != i || f.op.Resource.ID != []string{"a", "b", "c"}[i] {
				t.Errorf("failed hand-over %d: %+v", i, f)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("n3's failures did not come back")
		}
	}
	close(d.release)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		d.mu.Lock()
		n1 := len(d.got["n1"])
		d.mu.Unlock()
		if n1 == 3 {
			break
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range []string{"n1", "n2"} {
		if got := d.got[n]; len(got) != 3 || got[0] != "a" || got[1] != "b" || got[2] != "c" {
			t.Errorf("%s got %v, want [a b c] in order", n, got)
		}
	}
}
