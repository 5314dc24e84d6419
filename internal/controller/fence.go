package controller

import (
	"fmt"

	"github.com/paceline/paceline/internal/membership"
	"github.com/paceline/paceline/internal/store"
)

// nodeFacts is what the controller knows of one member when it decides
// its liveness state (judge): gathered from the leases and the store by
// the shell (Controller.nodes), decided by the pure judge.
type nodeFacts struct {
	Name string
	// State is the stored liveness state.
	State store.State
	// Lease is the lease's verdict by time alone (membership.Leases:
	// Recoverable is the lease plus the self-fence deadline, or plus
	// nothing with a watchdog or stonith-enabled=false).
	Lease membership.Liveness
	// Renewed: the node has renewed with this controller.
	Renewed bool
	// Stonith is stonith-enabled.
	Stonith bool
	// Guarded: the node feeds a watchdog only while its lease is valid
	// (it is reset before its lease runs out).
	Guarded bool
	// RunsNothing: a witness, which runs no resource: nothing to fence
	// or to recover.
	RunsNothing bool
	// Maintenance: the node (or the cluster) is in maintenance, or its
	// lease lapsed while it was (LapsedInMaintenance).
	Maintenance bool
	// Fenced: a fence device, or an operator (`node confirm-down`),
	// confirmed the node off after its last renewal (store.Member.Fenced).
	Fenced bool
	// LastFailure is the last failed fence attempt against the node
	// since it was lost ("" when none), for the hold reason.
	LastFailure string
}

// nodeVerdict is judge's decision.
type nodeVerdict struct {
	// Want is the liveness state the node must have.
	Want store.State
	// Hold says why the node's resources are held ("" when they are
	// not): status shows it (store.Member.Hold).
	Hold string
}

// judge decides a member's liveness state: when a lost node is
// recoverable (DESIGN.md, Safety). It is pure.
//
//   - A node that renewed its lease with this controller and was not
//     fenced since is online.
//   - A node a device (or an operator) confirmed off is offline at once:
//     its resources are recovered without waiting for its lease.
//   - With stonith-enabled=false a lost node is offline once its lease
//     expired (the node's self-fencing has stopped its resources by then).
//   - With stonith-enabled=true a lost node is unclean (the scheduler
//     fences it) and is recoverable only when a device confirmed it, or
//     when its lease was guarded by a watchdog and the lease plus the
//     watchdog timeout ran out. Otherwise its resources are held, and
//     Hold says why, until a device succeeds or an operator confirms it
//     down: a paused node (SIGSTOP, a VM stall) or an agent killed while
//     its resources live on comes back still running them.
//   - A node lost in maintenance may have left its resources running:
//     it is never recovered by waiting.
//   - A witness runs nothing: it is offline once its lease ran out.
func judge(f nodeFacts) nodeVerdict {
	switch {
	case f.Fenced:
		return nodeVerdict{Want: store.StateOffline}
	case f.Lease == membership.Alive && f.Renewed:
		return nodeVerdict{Want: store.StateOnline}
	case f.Lease == membership.Alive || f.State == store.StateOffline:
		return nodeVerdict{Want: f.State}
	case f.RunsNothing:
		if f.Lease == membership.Recoverable || !f.Stonith {
			return nodeVerdict{Want: store.StateOffline}
		}
		return nodeVerdict{Want: f.State}
	case !f.Stonith:
		// The scheduler would take an unclean node's resources as stopped
		// and recover them at once: the node stays as it is (online)
		// until it is recoverable.
		if f.Lease == membership.Recoverable && !f.Maintenance {
			return nodeVerdict{Want: store.StateOffline}
		}
		return nodeVerdict{Want: f.State}
	case f.Maintenance:
		return nodeVerdict{Want: store.StateUnclean, Hold: fmt.Sprintf(
			"%s was lost in maintenance and may still run its resources: they are held until its agent is back, "+
				"a fence device fences it or `paceline node confirm-down %s`", f.Name, f.Name)}
	case f.Guarded:
		if f.Lease == membership.Recoverable {
			return nodeVerdict{Want: store.StateOffline}
		}
		return nodeVerdict{Want: store.StateUnclean}
	}
	hold := fmt.Sprintf("no fence device has confirmed %s off and no watchdog guards its lease: its resources are held "+
		"until a device fences it or `paceline node confirm-down %s`", f.Name, f.Name)
	if f.LastFailure != "" {
		hold += " (last fence attempt: " + f.LastFailure + ")"
	}
	return nodeVerdict{Want: store.StateUnclean, Hold: hold}
}
