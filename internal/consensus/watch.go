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

// Applied returns the index of the last Raft log entry this node has
// applied. A leader stamps the ops it asks for with it (controller.Op.Index)
// so that the node running one first sees at least the state it was
// planned from (Reached).
func (n *Node) Applied() uint64 { return n.raft.AppliedIndex() }

// Reached reports whether this node's store has applied every entry up to
// index (of the leader's log: Applied on the leader).
func (n *Node) Reached(index uint64) bool {
	return n.raft.AppliedIndex() >= index && n.fsmReached(index)
}
