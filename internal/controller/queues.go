package controller

import (
	"context"
	"errors"
	"sync"
)

// errQueueFull is a dispatch refused because the node's queue is full
// (the node takes nothing for a long time).
var errQueueFull = errors.New("controller: the node's dispatch queue is full")

// queueLen bounds each node's queue of ops not yet handed over.
const queueLen = 4096

// queued is one op waiting for its node.
type queued struct {
	node string
	op   Op
	// step and id name the plan action (engine.dispatchFailed).
	step, id int
}

// failedDispatch is an op its node could not be handed.
type failedDispatch struct {
	queued
	err error
}

// queues hands ops to nodes through one FIFO per node, each drained by a
// goroutine of its own, so a slow or unreachable node never stalls the
// control loop: send never blocks, and a failed hand-over comes back on
// failed. Ops to one node keep their order.
type queues struct {
	ctx    context.Context
	d      Dispatcher
	failed chan<- failedDispatch

	mu     sync.Mutex
	byNode map[string]chan queued
	wg     sync.WaitGroup
}

func newQueues(ctx context.Context, d Dispatcher, failed chan<- failedDispatch) *queues {
	return &queues{ctx: ctx, d: d, failed: failed, byNode: map[string]chan queued{}}
}

// send queues q for its node; it fails at once only when the queue is
// full.
func (qs *queues) send(q queued) error {
	qs.mu.Lock()
	ch := qs.byNode[q.node]
	if ch == nil {
		ch = make(chan queued, queueLen)
		qs.byNode[q.node] = ch
		qs.wg.Add(1)
		go qs.drain(q.node, ch)
	}
	qs.mu.Unlock()
	select {
	case ch <- q:
		return nil
	default:
		return errQueueFull
	}
}

// drain hands node's ops over in order until the context ends.
func (qs *queues) drain(node string, ch chan queued) {
	defer qs.wg.Done()
	for {
		select {
		case <-qs.ctx.Done():
			return
		case q := <-ch:
			if err := qs.d.Dispatch(node, q.op); err != nil {
				select {
				case qs.failed <- failedDispatch{queued: q, err: err}:
				case <-qs.ctx.Done():
					return
				}
			}
		}
	}
}

// wait returns once every drain goroutine has ended (after the context).
func (qs *queues) wait() { qs.wg.Wait() }
