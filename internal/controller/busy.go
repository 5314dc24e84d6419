package controller

import (
	"sort"
	"sync"
)

// BusyOps is what a node lists in Renewal.Busy: the one-shot ops it took
// and whose results no leader has taken yet, by executor call id. Its
// methods are safe for concurrent use; the zero value is ready.
type BusyOps struct {
	mu  sync.Mutex
	ops map[int]Busy
}

// Exec runs exec, which hands op to the executor and returns its call
// id, and records a one-shot op that it took (a recurring monitor changes
// nothing and is not recorded). The lock is held throughout, so the op's
// result, delivered on another goroutine, cannot reach Delivered before
// its entry exists.
func (o *BusyOps) Exec(op Op, exec func() (call int, err error)) error {
	if op.Interval > 0 {
		_, err := exec()
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	call, err := exec()
	if err == nil {
		if o.ops == nil {
			o.ops = map[int]Busy{}
		}
		o.ops[call] = Busy{Resource: op.Resource.ID, Controller: op.Controller, Key: op.TransitionKey}
	}
	return err
}

// Delivered ends the entry of call (of resource), once a leader took its
// result.
func (o *BusyOps) Delivered(call int, resource string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if b, ok := o.ops[call]; ok && b.Resource == resource {
		delete(o.ops, call)
	}
}

// List returns the entries, by resource.
func (o *BusyOps) List() []Busy {
	o.mu.Lock()
	bs := make([]Busy, 0, len(o.ops))
	for _, b := range o.ops {
		bs = append(bs, b)
	}
	o.mu.Unlock()
	sort.Slice(bs, func(i, j int) bool { return bs[i].Resource < bs[j].Resource })
	return bs
}
