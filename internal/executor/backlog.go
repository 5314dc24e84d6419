package executor

// Backlog holds results not yet delivered to a leader, oldest first. Of
// a recurring op only the newest undelivered result is kept (it says all
// the older ones did); past Max results the oldest is dropped.
type Backlog struct {
	// Max bounds the results kept; 0 keeps all.
	Max   int
	items []Result
}

// Add appends r, replacing an earlier result of the same recurring op.
// It returns the result it dropped to stay within Max, if any.
func (b *Backlog) Add(r Result) (dropped Result, ok bool) {
	if r.Record.Interval > 0 {
		for i, q := range b.items {
			if q.Resource == r.Resource && q.Record.Operation == r.Record.Operation && q.Record.Interval == r.Record.Interval {
				b.items = append(b.items[:i], b.items[i+1:]...)
				break
			}
		}
	}
	b.items = append(b.items, r)
	if b.Max > 0 && len(b.items) > b.Max {
		dropped, b.items = b.items[0], b.items[1:]
		return dropped, true
	}
	return Result{}, false
}

// Next returns the oldest result (false when there is none).
func (b *Backlog) Next() (Result, bool) {
	if len(b.items) == 0 {
		return Result{}, false
	}
	return b.items[0], true
}

// Pop removes the oldest result, once delivered.
func (b *Backlog) Pop() { b.items = b.items[1:] }

// Len is the number of results held.
func (b *Backlog) Len() int { return len(b.items) }
