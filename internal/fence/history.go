package fence

import (
	"sync"
	"time"
)

// Entry is one fence agent run the fencer made: one attempt of one device
// for one target. The JSON form is what `paceline fence history --json`
// prints.
type Entry struct {
	// Op numbers the fence operation (one Fence call) the attempt
	// belongs to; every attempt of an operation shares it.
	Op uint64 `json:"op"`
	// Target is the node fenced; Action what was asked (off, on,
	// reboot); AgentAction what the agent ran (pcmk_<action>_action).
	Target      string `json:"target"`
	Action      string `json:"action"`
	AgentAction string `json:"agent_action,omitempty"`
	// Device is the device's ID; Level its fencing level (0: no
	// levels).
	Device string `json:"device"`
	Level  int    `json:"level,omitempty"`
	// Attempt counts the tries of this device in this operation (1,
	// then retries).
	Attempt int `json:"attempt"`
	// Origin says who asked (a node, "controller", an operator).
	Origin string `json:"origin,omitempty"`
	// Result is "success", "failed" or "timed out"; Reason explains a
	// failure in one line.
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
	// Start and End bound the agent's run (End - Start is the fence
	// time through this device).
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// The Entry results.
const (
	ResultSuccess  = "success"
	ResultFailed   = "failed"
	ResultTimedOut = "timed out"
)

// DefaultHistoryMax is how many entries the history keeps by default.
const DefaultHistoryMax = 500

// History is a bounded, in-memory record of fence attempts, oldest first;
// when full, the oldest entry goes. It is safe for concurrent use.
type History struct {
	max int

	mu      sync.Mutex
	entries []Entry
}

// NewHistory returns a history keeping at most max entries
// (DefaultHistoryMax when max <= 0).
func NewHistory(max int) *History {
	if max <= 0 {
		max = DefaultHistoryMax
	}
	return &History{max: max}
}

// Add records e.
func (h *History) Add(e Entry) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.entries) >= h.max {
		copy(h.entries, h.entries[1:])
		h.entries = h.entries[:len(h.entries)-1]
	}
	h.entries = append(h.entries, e)
}

// List returns a copy of the entries for target ("" for every target),
// oldest first.
func (h *History) List(target string) []Entry {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Entry
	for _, e := range h.entries {
		if target == "" || e.Target == target {
			out = append(out, e)
		}
	}
	return out
}
