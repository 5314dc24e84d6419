package consensus

import "context"

// WaitChange blocks until this node has applied a change to the store
// after change index after, and returns the current index (the index
// starts at 1 and grows with every applied change or restored snapshot,
// except a quiet one, store.Result.Quiet, which it does not count;
// it is local to this node and restarts with it). It returns the context's
// error when ctx ends first.
func (n *Node) WaitChange(ctx context.Context, after uint64) (uint64, error) {
	for {
		idx, ch := n.fsm.watch()
		if idx > after {
			return idx, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return idx, ctx.Err()
		case <-n.done:
			return idx, ErrShutdown
		}
	}
}
