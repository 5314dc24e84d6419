package node

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/paceline/paceline/internal/consensus"
	"github.com/paceline/paceline/internal/store"
)

// ShutdownAttr is the node attribute that asks a node to shut down
// (Pacemaker's "shutdown"): its value is the Unix time of the request in
// seconds. The scheduler moves every resource off a node that has it
// (and runs nothing new there); the node's agent drains and exits
// (Runtime.Drain). `paceline node stop NODE` sets it, as does the agent
// itself on SIGTERM; an agent that starts clears a request older than
// itself.
const ShutdownAttr = store.ShutdownAttr

// Drain outcomes.
var (
	// ErrDrainTimeout: the drain did not end within its bound; the node
	// stopped what it still ran itself.
	ErrDrainTimeout = errors.New("node: drain did not finish in time")
	// ErrNoLeader: no quorate leader took the shutdown request; the node
	// stopped its resources itself.
	ErrNoLeader = errors.New("node: no quorate leader reachable")
)

// DrainResult tells how a drain ended.
type DrainResult struct {
	// Maintenance: the node (or the cluster) is in maintenance and its
	// resources were left running, unmanaged.
	Maintenance bool
	// Local counts the resources the node stopped itself (no leader, or
	// the bound ran out); 0 after a drain the cluster drove.
	Local int
	// Left is whether the leader took the node's last renewal (it turned
	// offline at once rather than at its lease expiry).
	Left bool
}

// ShutdownRequested returns a channel closed once a shutdown of this node
// is asked for through the cluster (`paceline node stop`: the shutdown
// attribute set by someone else after this agent started). The agent
// then drains and exits as on SIGTERM.
func (r *Runtime) ShutdownRequested() <-chan struct{} { return r.stopAsked }

// watchShutdown closes stopAsked when the store holds a shutdown request
// for this node newer than this agent, and clears a stale one (left by
// this node's previous drain) once the node has reached the cluster.
func (r *Runtime) watchShutdown(ctx context.Context) {
	defer r.wg.Done()
	started := r.started.Unix()
	var idx uint64
	// stale is the request found when this agent first saw the cluster:
	// its previous agent's drain (or a stop asked while it was down).
	stale, seen, cleared := "", false, false
	for {
		var v string
		var ok bool
		r.cfg.Node.Read(func(s *store.Store) { v, ok = s.NodeAttr(r.cfg.Name, ShutdownAttr) })
		leader := r.cfg.Node.LeaderID() != "" && r.cfg.Node.CaughtUp()
		if !seen && leader {
			seen, stale = true, v
		}
		at, _ := strconv.ParseInt(v, 10, 64)
		switch {
		case ok && seen && (v != stale || at > started):
			r.stopOnce.Do(func() { close(r.stopAsked) })
			return
		case ok && seen && !cleared && r.cfg.Propose != nil:
			actx, cancel := context.WithTimeout(ctx, r.cfg.Leases.TTL)
			res, err := r.cfg.Propose(actx, store.NewNodeAttrDelete(r.cfg.Name, ShutdownAttr))
			cancel()
			if err == nil && res.Err == nil {
				cleared = true
				r.cfg.Logf("node: cleared %s's shutdown request of an earlier agent (%s)", r.cfg.Name, v)
			}
		}
		wctx, cancel := context.WithTimeout(ctx, r.cfg.Leases.Heartbeat*2)
		n, _ := r.cfg.Node.WaitChange(wctx, idx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		idx = n
	}
}

// Drain is the node's clean shutdown, Pacemaker's: it asks the cluster to
// move every resource away (the shutdown attribute; leadership first
// moves to another voter if this node leads), waits until its executor
// runs nothing and every result is delivered, then leaves (a last renewal
// that turns the node offline at once). A node in maintenance (or a
// cluster in maintenance-mode) leaves its resources running, unmanaged.
// When no quorate leader takes the request within a lease TTL, or the
// drain is not over by timeout, the node stops what it runs itself. Drain
// must be called while Run still runs (heartbeats keep the lease; the
// results reach the leader) and returns before Run is stopped.
func (r *Runtime) Drain(ctx context.Context, timeout time.Duration) (DrainResult, error) {
	var res DrainResult
	if r.inMaintenance() {
		res.Maintenance = true
		r.cfg.Logf("node: %s is in maintenance: leaving its resources running, unmanaged", r.cfg.Name)
		return res, nil
	}
	deadline := time.Now().Add(timeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	if r.cfg.Node.IsLeader() {
		tctx, tcancel := context.WithTimeout(ctx, r.cfg.Leases.TTL)
		err := r.cfg.Node.TransferLeadership(tctx)
		tcancel()
		if err != nil {
			r.cfg.Logf("node: %s leads and could not hand leadership over before draining: %v", r.cfg.Name, err)
		} else {
			r.cfg.Logf("node: %s handed leadership to %s before draining", r.cfg.Name, r.cfg.Node.LeaderID())
		}
	}
	if err := r.askShutdown(ctx); err != nil {
		r.cfg.Logf("node: %s: shutdown request not taken (%v): stopping its resources itself", r.cfg.Name, err)
		res.Local = r.stopAll("shutdown without a leader")
		return res, fmt.Errorf("%w: %v", ErrNoLeader, err)
	}
	r.cfg.Logf("node: %s draining: waiting until its resources have moved away (at most %v)", r.cfg.Name, timeout)
	t := time.NewTicker(r.cfg.Leases.Heartbeat / 4)
	defer t.Stop()
	for !r.idle() {
		select {
		case <-ctx.Done():
			res.Local = r.stopAll("shutdown escalation")
			if err := r.leave(); err == nil {
				res.Left = true
			}
			return res, fmt.Errorf("%w (%v): stopped %d resources itself", ErrDrainTimeout, timeout, res.Local)
		case <-t.C:
		}
		if r.stopRemote() {
			// The lease lapsed during the drain: watchLease self-fenced.
			break
		}
	}
	res.Left = r.leave() == nil
	if !res.Left {
		// Not let go: an op a leader sent may have come in after the node
		// looked idle (a leader refuses the leave of a node with
		// operations not reported). Its heartbeats have stopped: whatever
		// runs or is starting here is stopped here, as a lapsed lease
		// would have it, before the agent exits.
		time.Sleep(r.cfg.Leases.Heartbeat)
		if !r.idle() {
			res.Local = r.stopHere(ctx, "left without the leader's consent")
		}
	}
	r.cfg.Logf("node: %s drained (left cleanly: %v)", r.cfg.Name, res.Left)
	return res, nil
}

// stopHere stops what runs or is starting on this node, here, and waits
// (until ctx ends) for the stops to be done; it returns how many
// resources ran.
func (r *Runtime) stopHere(ctx context.Context, why string) int {
	r.mu.Lock()
	n := len(r.active)
	r.mu.Unlock()
	r.cfg.Logf("node: %s: %s: stopping its resources itself", r.cfg.Name, why)
	r.selfFence()
	t := time.NewTicker(r.cfg.Leases.Heartbeat / 4)
	defer t.Stop()
	for {
		r.mu.Lock()
		active := len(r.active)
		r.mu.Unlock()
		if active == 0 && len(r.busy.List()) == 0 {
			return n
		}
		select {
		case <-ctx.Done():
			return n
		case <-t.C:
		}
	}
}

// inMaintenance reports whether this node's resources stay as they are
// when it shuts down: the node's maintenance attribute or the cluster's
// maintenance-mode.
func (r *Runtime) inMaintenance() (m bool) {
	r.cfg.Node.Read(func(s *store.Store) { m = s.InMaintenance(r.cfg.Name) })
	return m
}

// askShutdown records the shutdown request for this node, unless one is
// recorded already (node stop), retrying within a lease TTL: a node cut
// off from the quorate partition learns it then.
func (r *Runtime) askShutdown(ctx context.Context) error {
	var have bool
	r.cfg.Node.Read(func(s *store.Store) { _, have = s.NodeAttr(r.cfg.Name, ShutdownAttr) })
	if have && r.cfg.Node.LeaderID() != "" {
		return nil
	}
	if r.cfg.Propose == nil {
		return errors.New("no way to reach the leader")
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Leases.TTL)
	defer cancel()
	cmd := store.NewNodeAttrSet(r.cfg.Name, map[string]string{ShutdownAttr: strconv.FormatInt(time.Now().Unix(), 10)})
	for {
		res, err := r.cfg.Propose(ctx, cmd)
		if err == nil {
			return res.Err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(r.cfg.Leases.Heartbeat / 2):
		}
	}
}

// idle reports whether this node's executor runs nothing and every
// result was delivered to a leader.
func (r *Runtime) idle() bool {
	r.mu.Lock()
	active := len(r.active)
	r.mu.Unlock()
	return active == 0 && len(r.busy.List()) == 0 && r.undelivered.Load() == 0
}

// stopRemote reports whether the node lost its lease (and so stopped
// everything itself): the drain is over.
func (r *Runtime) stopRemote() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.holder.Expiry().IsZero() && len(r.active) == 0
}

// stopAll stops every resource this node runs, here (no leader asked):
// the self-fence path.
func (r *Runtime) stopAll(why string) int {
	r.mu.Lock()
	n := len(r.active)
	r.mu.Unlock()
	if n > 0 {
		r.cfg.Logf("node: %s: %s", r.cfg.Name, why)
		r.selfFence()
	}
	return n
}

// leave sends the node's last renewal: the leader turns it offline at
// once. Heartbeats stop first, so none re-grants the lease after it.
func (r *Runtime) leave() error {
	r.mu.Lock()
	r.leaving = true
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Leases.TTL)
	defer cancel()
	// A renewal already on its way may land after the leave: wait for
	// the heartbeat loop to notice.
	time.Sleep(r.cfg.Leases.Heartbeat / 4)
	rn := r.renewal()
	rn.Leaving = true
	err := r.sendRenewal(ctx, rn)
	if err != nil && !errors.Is(err, consensus.ErrNotLeader) {
		r.cfg.Logf("node: %s: last renewal: %v", r.cfg.Name, err)
	}
	return err
}
