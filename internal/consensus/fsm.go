package consensus

import (
	"fmt"
	"io"
	"sync"

	"github.com/hashicorp/raft"

	"github.com/paceline/paceline/internal/store"
)

// fsm adapts a store.Store to raft.FSM. Raft calls Apply, Snapshot and
// Restore from its FSM goroutine; readers on other goroutines go through
// read. Apply returns a store.Result (never a raw error).
type fsm struct {
	mu sync.RWMutex
	st *store.Store
	// index counts the changes applied here (starting at 1); changed is
	// closed and replaced on each (see Node.WaitChange).
	index   uint64
	changed chan struct{}
	// raftIndex is the log index of the last command applied here (or of
	// the snapshot the node started from); Raft counts entries as applied
	// when it hands them to the FSM goroutine, before Apply runs.
	raftIndex uint64
	// onApply, if set (before raft starts), is called after each command
	// applied: on the leader, a commit index its held appends should
	// carry (pacedTransport.kick).
	onApply func()
}

var _ raft.FSM = (*fsm)(nil)

func newFSM() *fsm { return &fsm{st: store.New(), index: 1, changed: make(chan struct{})} }

func (f *fsm) Apply(l *raft.Log) any {
	if f.onApply != nil {
		defer f.onApply() // after the unlock below (deferred calls run last first)
	}
	cmd, err := store.Decode(l.Data)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.raftIndex = l.Index
	if err != nil {
		return store.Result{Err: err, Epoch: f.st.Epoch()}
	}
	res := f.st.Apply(cmd)
	if res.Err == nil && res.Changed && !res.Quiet {
		// A quiet change (private node attributes) wakes no watcher:
		// nothing that plans or shows status reads them.
		f.bump()
	}
	return res
}

// applied returns the log index of the last command applied here.
func (f *fsm) applied() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.raftIndex
}

// started records the index of the snapshot the node restored at start.
func (f *fsm) started(index uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.raftIndex = max(f.raftIndex, index)
}

// bump records one change; f.mu must be held for writing.
func (f *fsm) bump() {
	f.index++
	close(f.changed)
	f.changed = make(chan struct{})
}

// watch returns the change index and a channel closed at the next change.
func (f *fsm) watch() (uint64, <-chan struct{}) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.index, f.changed
}

// Snapshot encodes the state now, under the lock, so Persist (which raft
// runs concurrently with later Applies) writes a consistent copy.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	b, err := f.st.Snapshot()
	if err != nil {
		return nil, err
	}
	return fsmSnapshot(b), nil
}

func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("consensus: read snapshot: %w", err)
	}
	st := store.New()
	if err := st.Restore(b); err != nil {
		return err
	}
	f.mu.Lock()
	f.st = st
	f.bump()
	f.mu.Unlock()
	return nil
}

// read calls fn with the store under the read lock. fn must not keep the
// store or mutate it; the store's read methods return copies.
func (f *fsm) read(fn func(*store.Store)) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	fn(f.st)
}

type fsmSnapshot []byte

func (s fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		sink.Cancel()
		return fmt.Errorf("consensus: write snapshot: %w", err)
	}
	return sink.Close()
}

func (fsmSnapshot) Release() {}
