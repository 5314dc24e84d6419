package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paceline/paceline/internal/controller"
	"github.com/paceline/paceline/internal/fence"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/peer"
	"github.com/paceline/paceline/internal/store"
)

// fencing carries out the fence actions the leader's controller plans
// (controller.Fencer): it runs them through this node's fence.Fencer with
// the devices and levels of the replicated configuration and writes every
// attempt to the replicated fence history; a fence a device confirmed
// marks the target fenced (store.FenceRecord), which lets the controller
// recover its resources at once. The leader never fences itself: a fence
// of this node, or one its own devices could not carry out, is handed to
// another online node (Peers.Fence).
type fencing struct {
	rt *Runtime
	f  *fence.Fencer

	mu sync.Mutex
	// inflight are the targets being fenced (a request for one of them
	// joins the running operation); again those asked for meanwhile.
	inflight, again map[string]bool
	// failed counts the failed operations in a row per target, for the
	// delay before the next (failBackoff).
	failed map[string]int
	// epoch is the configuration epoch of the fencer's topology.
	epoch uint64
}

var _ controller.Fencer = (*fencing)(nil)

// ErrSelfFence refuses a fence of the node that would have to run it.
var ErrSelfFence = errors.New("node: the leader does not fence itself")

// failBackoff is the delay before the n-th operation against a target
// after n-1 failures in a row: 0, 1 s, 2 s, 4 s ... at most 30 s, so a
// device that fails at once is not run in a tight loop while the
// controller plans the fencing again after each failure.
func failBackoff(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	return min(time.Second<<(n-1), 30*time.Second)
}

// Fence starts fencing target with action (off, reboot; "" the cluster's
// stonith-action) in the background and returns at once. This node runs
// the devices unless it is the target, or its own attempt failed: then
// another online node is asked to (peer RPC, Peers.Fence), which records
// its attempts itself.
func (fc *fencing) Fence(target, action string) error {
	fc.mu.Lock()
	if fc.inflight[target] {
		// Asked again while it runs (the controller planned anew after
		// an attempt was recorded): run again once it is over, or a
		// request made after the last record would be lost.
		fc.again[target] = true
		fc.mu.Unlock()
		return nil
	}
	fc.inflight[target] = true
	delay := failBackoff(fc.failed[target])
	fc.mu.Unlock()
	go func() {
		for {
			if delay > 0 {
				time.Sleep(delay)
			}
			ok := fc.once(target, action)
			fc.counted(target, ok)
			fc.mu.Lock()
			// After a confirmed fence a request that came meanwhile was
			// for the same loss: a second reboot could hit the node as it
			// comes back.
			if !fc.again[target] || ok {
				delete(fc.again, target)
				delete(fc.inflight, target)
				fc.mu.Unlock()
				return
			}
			delete(fc.again, target)
			delay = failBackoff(fc.failed[target])
			fc.mu.Unlock()
		}
	}()
	return nil
}

// once runs one controller fence operation: through this node's fencer,
// unless it is the target, and through another node when that failed. It
// reports whether the operation succeeded (a fence confirmed, or an
// unfencing done: an "on" marks no fence).
func (fc *fencing) once(target, action string) bool {
	// The pacing is failBackoff's: the fencer's own limit
	// (stonith-max-attempts in a row) would stop fencing a lost node for
	// good once a BMC was down for a while.
	fc.f.Reset(target)
	// The devices' definitions this leader planned with, taken before.
	digests := fc.unfencingDigests(action)
	if target != fc.rt.cfg.Name {
		_, err := fc.attempt(target, action, "controller")
		if err == nil {
			return true
		}
		if errors.Is(err, fence.ErrTooManyAttempts) {
			return false
		}
	}
	other, orec, oerr := fc.delegate(target, action)
	switch {
	case other != "":
		fc.rt.cfg.Logf("node: %s fenced %s for the leader: fenced=%v %v", other, target, orec.Fenced != nil, oerr)
		if oerr == nil && action == "on" {
			// The node that ran it recorded the definitions of its copy of
			// the configuration, which may lag this leader's: an unchanged
			// record woke no new plan, and the node was never unfenced
			// again. The leader's own are recorded after it.
			if err := fc.recordUnfenced(target, digests); err != nil {
				fc.rt.cfg.Logf("node: %v", err)
			}
		}
		return oerr == nil
	case target == fc.rt.cfg.Name:
		fc.rt.cfg.Logf("node: no other node can fence %s (this node): %v", target, oerr)
	}
	return false
}

// counted counts a failed operation against target (failBackoff), or
// forgets the failures after a success.
func (fc *fencing) counted(target string, ok bool) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if ok {
		delete(fc.failed, target)
	} else {
		fc.failed[target]++
	}
}

// delegate asks the other online nodes (not the target), one after
// another, to fence target, until one ran the operation; it returns that
// node ("" when none could be asked) and the operation's outcome.
func (fc *fencing) delegate(target, action string) (string, store.FenceRecord, error) {
	var others []string
	fc.rt.cfg.Node.Read(func(s *store.Store) {
		for _, m := range s.MemberStates() {
			if m.Name != target && m.Name != fc.rt.cfg.Name && m.State == store.StateOnline && m.Role != store.RoleWitness {
				others = append(others, m.Name)
			}
		}
	})
	var errs []error
	for _, n := range others {
		// A fence may take several levels' timeouts.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		rec, err := fc.rt.cfg.Peers.Fence(ctx, n, target, action, "controller")
		cancel()
		if err != nil && !errors.Is(err, fence.ErrFenceFailed) && !errors.Is(err, peer.ErrFenceFailed) {
			errs = append(errs, fmt.Errorf("%s: %w", n, err))
			continue // it could not run it: ask the next one
		}
		return n, rec, err
	}
	return "", store.FenceRecord{}, errors.Join(errs...)
}

// topology brings the fencer's devices and levels up to the replicated
// configuration. A changed topology forgets the failed attempts (the
// operator may have fixed a device).
func (fc *fencing) topology() error {
	cfg := fc.rt.cfg.Node.Config()
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if cfg.Epoch == fc.epoch && fc.epoch != 0 {
		return nil
	}
	t, err := fence.TopologyFor(cfg, cfg.FencingLevels, fc.rt.cfg.Name)
	if err != nil {
		return err
	}
	if err := fc.f.SetTopology(t); err != nil {
		return err
	}
	for _, n := range t.Nodes {
		fc.f.Reset(n)
	}
	clear(fc.failed)
	fc.epoch = cfg.Epoch
	return nil
}

// attempt runs one fence operation through this node's fencer, records
// its attempts (and the fence mark) through Raft and calls the OnFenced
// hook.
func (fc *fencing) attempt(target, action, origin string) (store.FenceRecord, error) {
	// Taken before: a change while the unfencing runs unfences again.
	digests := fc.unfencingDigests(action)
	rec, err := fc.fence(target, action, origin)
	if len(rec.Entries) > 0 || rec.Fenced != nil {
		if rerr := fc.record(rec); rerr != nil {
			fc.rt.cfg.Logf("node: record the fencing of %s: %v", target, rerr)
			if err == nil && rec.Fenced != nil {
				err = fmt.Errorf("node: %s was fenced but the fence could not be recorded: %w", target, rerr)
			}
		}
	}
	if err == nil && action == "on" {
		err = fc.recordUnfenced(target, digests)
	}
	if fc.rt.cfg.OnFenced != nil {
		fc.rt.cfg.OnFenced(rec, err)
	}
	return rec, err
}

// unfencingDigests returns, for an unfencing (action "on"), the
// definitions of the unfencing devices now, to be recorded with it
// (recordUnfenced); "" for other actions, which record none (it copies
// the configuration).
func (fc *fencing) unfencingDigests(action string) string {
	if action != "on" {
		return ""
	}
	return fc.rt.cfg.Node.Config().UnfencingDigests()
}

// recordUnfenced records that target was unfenced: the scheduler no
// longer requires it (sched/unfence.go), until the devices' definitions
// differ from digests, those it was unfenced with.
func (fc *fencing) recordUnfenced(target, digests string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	at := strconv.FormatInt(fc.rt.cfg.Clock.Now().Unix(), 10)
	attrs := map[string]string{UnfencedAttr: at, model.UnfenceDigestsAttr: digests}
	if r, aerr := fc.rt.propose(ctx, store.NewNodeAttrSet(target, attrs)); aerr != nil || r.Err != nil {
		return fmt.Errorf("node: %s was unfenced but it could not be recorded: %w", target, errors.Join(aerr, r.Err))
	}
	return nil
}

// UnfencedAttr is the node attribute set after a node was unfenced (a
// fence "on" that succeeded; Pacemaker's #node-unfenced): its value is
// the Unix time.
const UnfencedAttr = "#node-unfenced"

// fence runs one fence operation and returns what to record: every agent
// run, and the fence mark when a device confirmed the target off.
func (fc *fencing) fence(target, action, origin string) (store.FenceRecord, error) {
	rec := store.FenceRecord{Target: target}
	now := func() int64 { return fc.rt.cfg.Clock.Now().UnixMilli() }
	fail := func(err error) (store.FenceRecord, error) {
		if action == "" {
			action = "reboot"
		}
		t := now()
		rec.Entries = append(rec.Entries, store.FenceEntry{Target: target, Action: action, Origin: origin,
			Executor: fc.rt.cfg.Name, Result: fence.ResultFailed, Reason: oneLine(err.Error()), Start: t, End: t})
		return rec, err
	}
	if err := fc.topology(); err != nil {
		return fail(fmt.Errorf("the fencing configuration is unusable: %w", err))
	}
	res, err := fc.f.Fence(context.Background(), fence.Request{Target: target, Action: action, Origin: origin})
	if res.Op == 0 {
		if errors.Is(err, fence.ErrTooManyAttempts) || errors.Is(err, fence.ErrInProgress) {
			return rec, err // nothing ran: nothing to record
		}
		return fail(err)
	}
	var by []string
	for _, e := range fc.f.History().List(target) {
		if e.Op != res.Op {
			continue
		}
		rec.Entries = append(rec.Entries, store.FenceEntry{Op: fmt.Sprintf("%s/%d", fc.rt.cfg.Name, e.Op),
			Target: e.Target, Action: e.Action, AgentAction: e.AgentAction, Device: e.Device, Level: e.Level,
			Attempt: e.Attempt, Origin: e.Origin, Executor: fc.rt.cfg.Name, Result: e.Result, Reason: e.Reason,
			Start: fc.stamp(e.Start), End: fc.stamp(e.End)})
		if e.Result == fence.ResultSuccess && e.Action != "on" && !slices.Contains(by, e.Device) {
			by = append(by, e.Device)
		}
	}
	if len(rec.Entries) == 0 && err != nil {
		// Nothing ran (no device may fence the target from here): the
		// refusal is the attempt, so history and hold say why.
		return fail(err)
	}
	if err == nil && res.Verdict == fence.Fenced && res.Action != "on" {
		rec.Fenced = &store.FenceMark{At: now(), By: strings.Join(by, ","), Action: res.Action}
	}
	return rec, err
}

// recordFor bounds how long a fence record is retried: the fenced node
// may have led, and the cluster needs a new leader to record it.
const recordFor = 30 * time.Second

// record writes rec through the leader, retrying while there is none (an
// election) for up to recordFor: a confirmed fence the store does not
// know of leaves the node's resources held.
func (fc *fencing) record(rec store.FenceRecord) error {
	deadline := time.Now().Add(recordFor)
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		r, err := fc.rt.propose(ctx, store.NewFenceRecord(rec))
		cancel()
		if err == nil {
			return r.Err // the store's verdict is final
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(wait)
	}
}

// stamp converts a fencer time (its own clock) to Unix milliseconds.
func (fc *fencing) stamp(t time.Time) int64 { return t.UnixMilli() }

// oneLine keeps the first line of s.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// propose applies cmd through the leader: on the leader itself when it
// leads, else forwarded (Config.Propose).
func (r *Runtime) propose(ctx context.Context, cmd store.Command) (store.Result, error) {
	if r.cfg.Node.IsLeader() || r.cfg.Propose == nil {
		return r.cfg.Node.Apply(ctx, cmd)
	}
	return r.cfg.Propose(ctx, cmd)
}

// FenceNow fences target at an operator's request (`paceline node fence`)
// through this node's fencer, blocking until the operation ended; the
// attempts are recorded as the controller's are. origin names who asked.
func (r *Runtime) FenceNow(target, action, origin string) (store.FenceRecord, error) {
	fc := r.fencing
	if fc == nil {
		return store.FenceRecord{}, ErrNoFencer
	}
	if target == r.cfg.Name {
		return store.FenceRecord{}, fmt.Errorf("%w: %s (ask another node)", ErrSelfFence, target)
	}
	fc.mu.Lock()
	if fc.inflight[target] {
		fc.mu.Unlock()
		return store.FenceRecord{}, fmt.Errorf("%w: %s", fence.ErrInProgress, target)
	}
	fc.inflight[target] = true
	fc.mu.Unlock()
	defer func() {
		fc.mu.Lock()
		delete(fc.inflight, target)
		fc.mu.Unlock()
	}()
	rec, err := fc.attempt(target, action, origin)
	fc.counted(target, err == nil)
	return rec, err
}

// FenceUnrecorded fences target through this node's fencer and returns
// what to record (every agent run, and the fence mark when a device
// confirmed it off) without recording it: for a node that has no leader
// to record through (a two-node survivor, docs/two-node.md), which
// records it once it leads alone. origin names who asked.
func (r *Runtime) FenceUnrecorded(target, action, origin string) (store.FenceRecord, error) {
	if r.fencing == nil {
		return store.FenceRecord{}, ErrNoFencer
	}
	if target == r.cfg.Name {
		return store.FenceRecord{}, fmt.Errorf("%w: %s", ErrSelfFence, target)
	}
	// The caller paces its attempts (fence.RetryDelay): the fencer's own
	// limit (stonith-max-attempts in a row) would stop a two-node
	// survivor for good once its peer's BMC was down for a while.
	r.fencing.f.Reset(target)
	return r.fencing.fence(target, action, origin)
}

// ErrNoFencer: this node was built without a fencer.
var ErrNoFencer = errors.New("node: no fencer on this node")

// Fencer returns what runs this node's controller's fence actions (nil
// without Config.Fencer).
func (r *Runtime) Fencer() controller.Fencer {
	if r.fencing == nil {
		return nil
	}
	return r.fencing
}
