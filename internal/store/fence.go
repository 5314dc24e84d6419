package store

import (
	"fmt"
)

// Fencing commands: the leader records every fence attempt (one run of a
// fence device against a target, or an operator's confirmation) in the
// replicated, bounded fence history (FenceRecord), and, when a device
// confirmed a target off (or rebooted) or an operator confirmed it down,
// marks the member fenced (Member.Fenced) so that the controller recovers
// its resources at once, also a controller elected after the fence. The
// mark goes when the member is online again (NodeState). FenceHold
// records why a lost member's resources are held (no device confirmed
// it, no watchdog guards its lease): `paceline status` shows it.
const (
	TypeFenceRecord Type = "fence.record" // *FenceRecord
	TypeFenceHold   Type = "fence.hold"   // *FenceHold
)

// FenceHistoryLimit is how many fence history entries the store keeps
// (the newest).
const FenceHistoryLimit = 500

// FenceEntry is one fence attempt: one run of one device against a
// target (after its retries each run is an entry of its own), or an
// operator's confirm-down (Device "", Origin the operator). The JSON form
// is what `paceline fence history --json` prints.
type FenceEntry struct {
	// Seq numbers the entries from 1 (set by Apply).
	Seq uint64 `json:"seq"`
	// Op groups the attempts of one fence operation ("NODE/N": the node
	// whose fencer ran it and its operation number).
	Op string `json:"op,omitempty"`
	// Target is the node fenced; Action what was asked (off, on, reboot,
	// confirm-down); AgentAction what the agent ran.
	Target      string `json:"target"`
	Action      string `json:"action"`
	AgentAction string `json:"agent_action,omitempty"`
	// Device is the fence device's ID; Level its fencing level (0: no
	// levels configured for the target).
	Device string `json:"device,omitempty"`
	Level  int    `json:"level,omitempty"`
	// Attempt counts the runs of this device in the operation.
	Attempt int `json:"attempt,omitempty"`
	// Origin says who asked: "controller" (the leader's scheduler), or
	// an operator's token id.
	Origin string `json:"origin,omitempty"`
	// Executor is the node that ran the device.
	Executor string `json:"executor,omitempty"`
	// Result is "success", "failed" or "timed out"; Reason explains a
	// failure in one line.
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
	// Start and End bound the run, in Unix milliseconds.
	Start int64 `json:"start_ms"`
	End   int64 `json:"end_ms"`
}

// FenceMark says a member is fenced: it is off (or was rebooted) and runs
// nothing, as a device or an operator confirmed.
type FenceMark struct {
	// At is when it was confirmed, in Unix milliseconds on the leader's
	// clock (the lease clock).
	At int64 `json:"at_ms"`
	// By names the device(s) that confirmed it, or "operator TOKEN" for
	// `paceline node confirm-down`.
	By string `json:"by"`
	// Action is what was done (off, reboot, confirm-down).
	Action string `json:"action"`
}

// FenceRecord appends Entries to the fence history and, with Fenced set,
// marks Target fenced.
type FenceRecord struct {
	Target  string       `json:"target"`
	Entries []FenceEntry `json:"entries,omitempty"`
	Fenced  *FenceMark   `json:"fenced,omitempty"`
}

// FenceHold records why a lost member's resources are held ("": they are
// not).
type FenceHold struct {
	Name   string `json:"name"`
	Reason string `json:"reason,omitempty"`
}

// NewFenceRecord returns a FenceRecord command.
func NewFenceRecord(r FenceRecord) Command {
	return Command{Version: Version, Type: TypeFenceRecord, FenceRecord: &r}
}

// NewFenceHold returns a FenceHold command.
func NewFenceHold(name, reason string) Command {
	return Command{Version: Version, Type: TypeFenceHold, FenceHold: &FenceHold{Name: name, Reason: reason}}
}

func (s *Store) fenceRecord(r *FenceRecord) (bool, error) {
	m, err := s.member(r.Target)
	if err != nil {
		return false, err
	}
	if len(r.Entries) == 0 && r.Fenced == nil {
		return false, fmt.Errorf("%w: fence record of %s without entries", ErrMalformed, r.Target)
	}
	for _, e := range r.Entries {
		if e.Target != r.Target || e.Result == "" {
			return false, fmt.Errorf("%w: fence entry for %q (result %q) in a record of %s", ErrMalformed, e.Target, e.Result, r.Target)
		}
	}
	for _, e := range r.Entries {
		s.fenceSeq++
		e.Seq = s.fenceSeq
		s.fences = append(s.fences, e)
	}
	if over := len(s.fences) - FenceHistoryLimit; over > 0 {
		s.fences = append([]FenceEntry(nil), s.fences[over:]...)
	}
	if r.Fenced != nil {
		f := *r.Fenced
		m.Fenced = &f
	}
	return true, nil
}

func (s *Store) fenceHold(h *FenceHold) (bool, error) {
	m, err := s.member(h.Name)
	if err != nil {
		return false, err
	}
	if m.Hold == h.Reason {
		return false, nil
	}
	m.Hold = h.Reason
	return true, nil
}

// stateChanged updates m's fencing fields for its new liveness state: a
// member online again is no longer fenced, and an online or offline
// member holds nothing.
func (m *Member) stateChanged() {
	if m.State == StateOnline {
		m.Fenced = nil
	}
	if m.State != StateUnclean {
		m.Hold = ""
	}
}

// FenceHistory returns a copy of the fence history of target ("": every
// target), oldest first.
func (s *Store) FenceHistory(target string) []FenceEntry {
	var out []FenceEntry
	for _, e := range s.fences {
		if target == "" || e.Target == target {
			out = append(out, e)
		}
	}
	return out
}

// NewConfirmDown returns the FenceRecord of an operator's confirmation
// that target is down (`paceline node confirm-down`, Pacemaker's
// stonith_admin --confirm): one history entry and the fence mark, by
// "operator WHO", at atMs (Unix milliseconds on the lease clock).
func NewConfirmDown(target, who string, atMs int64) Command {
	by := "operator " + who
	return NewFenceRecord(FenceRecord{Target: target,
		Entries: []FenceEntry{{Target: target, Action: "confirm-down", Origin: who, Result: "success",
			Reason: "confirmed down by " + by, Start: atMs, End: atMs}},
		Fenced: &FenceMark{At: atMs, By: by, Action: "confirm-down"}})
}
