package controller

import (
	"context"
	"maps"
	"time"

	"github.com/paceline/paceline/internal/membership"
	"github.com/paceline/paceline/internal/store"
)

// liveness is what one look at the leases found.
type liveness struct {
	quorum bool
	// unheard lists the live or unfenced nodes that have not renewed
	// with this controller yet: they may run ops a predecessor asked for.
	unheard []string
	// held are the base ids of resources with an op in flight that this
	// controller has no result of (another controller's, or one whose
	// dispatch failed after the node took it).
	held map[string]bool
	// unclean are the nodes judged unclean: their fencing is dispatched
	// even while a node is unheard.
	unclean map[string]bool
	// next is when a node's liveness changes next if nobody renews (zero:
	// no such change is pending).
	next time.Time
}

// nodes updates node liveness in the store from the leases (step 1 of
// the model) and reports quorum, the nodes not heard from and the held
// resources. A state change makes the controller plan again.
func (c *Controller) nodes(ctx context.Context, now time.Time) liveness {
	type leaseView struct {
		lv      membership.Liveness
		guard   int64
		granted time.Time
	}
	var (
		members []store.Member
		stonith bool
		// A node in maintenance (or the whole cluster) may have left with
		// its resources running, unmanaged (a drain leaves them): its
		// lease lapsing proves nothing stopped there, so it is never
		// recovered by waiting; it stays unclean (or, without stonith,
		// online) until its agent is back and its resources are probed
		// and adopted.
		maintenance = map[string]bool{}
		lapsed      = map[string]bool{}
		shutdown    = map[string]string{}
	)
	lastFailure := map[string]string{}
	c.raft.Read(func(s *store.Store) {
		members = s.MemberStates()
		stonith = s.Options().StonithEnabled
		for _, m := range members {
			_, lapsed[m.Name] = s.NodeAttr(m.Name, LapsedInMaintenance)
			if v, ok := s.NodeAttr(m.Name, store.ShutdownAttr); ok {
				shutdown[m.Name] = v
			}
			maintenance[m.Name] = s.InMaintenance(m.Name) || lapsed[m.Name]
			if m.State == store.StateUnclean {
				lastFailure[m.Name] = lastFenceFailure(s.FenceHistory(m.Name))
			}
		}
	})
	renewed := map[string]bool{}
	views := map[string]leaseView{}
	heard := map[string]bool{}
	var busy []Busy
	c.lmu.Lock()
	for n, bs := range c.busy {
		heard[n] = true
		busy = append(busy, bs...)
	}
	unsure := map[string]bool{}
	for _, bases := range c.unsure {
		for base := range bases {
			unsure[base] = true
		}
	}
	boots := maps.Clone(c.boots)
	c.leases.Renew(c.cfg.Node, now) // the leader is alive by definition
	for _, n := range c.leases.Nodes() {
		renewed[n] = true
	}
	var next time.Time
	for _, m := range members {
		views[m.Name] = leaseView{lv: c.leases.Liveness(m.Name, now, stonith), guard: c.leases.Guarded(m.Name).Milliseconds(), granted: c.leases.Granted(m.Name)}
		if at := c.leases.NextChange(m.Name, now, stonith); m.Name != c.cfg.Node && !at.IsZero() && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	c.lmu.Unlock()
	// A node whose agent started anew (a boot other than the stored one)
	// keeps no op of the old agent: its history is cleared, and the
	// scheduler probes its resources again before it acts on them.
	for _, m := range members {
		if b := boots[m.Name]; b != "" && b > m.Boot {
			if m.Boot != "" {
				c.cfg.Logf("controller: %s's agent started anew (boot %s, was %s): its operation history is cleared, its resources are probed again", m.Name, b, m.Boot)
			}
			c.apply(ctx, store.NewNodeBoot(m.Name, b))
			if lapsed[m.Name] {
				// Its resources are probed again: what still runs there
				// is found and adopted.
				c.apply(ctx, store.NewNodeAttrDelete(m.Name, LapsedInMaintenance))
			}
			c.eng.nodeGone(m.Name)
		}
	}
	for _, m := range members {
		if lv := views[m.Name].lv; lv != membership.Alive && maintenance[m.Name] && !lapsed[m.Name] && m.State != store.StateOffline {
			// Remembered in the store, so that taking the node (or the
			// cluster) out of maintenance while it is away, or a new
			// leader, does not recover what may still run there.
			c.cfg.Logf("controller: %s lost its lease while in maintenance: its resources are held until it is back", m.Name)
			c.apply(ctx, store.NewNodeAttrSet(m.Name, map[string]string{LapsedInMaintenance: "true"}))
		}
	}
	voters, alive := 0, 0
	raftVoters := c.raftVoters()
	out := liveness{next: next}
	for _, m := range members {
		lv := views[m.Name].lv
		// A fence mark counts until the node renews after it (it was
		// rebooted, or powered on again).
		fenced := m.Fenced != nil && (!renewed[m.Name] || m.Fenced.At >= views[m.Name].granted.UnixMilli())
		verdict := judge(nodeFacts{Name: m.Name, State: m.State, Lease: lv, Renewed: renewed[m.Name], Stonith: stonith,
			Guarded: views[m.Name].guard > 0, RunsNothing: m.Role == store.RoleWitness, Maintenance: maintenance[m.Name],
			Fenced: fenced, LastFailure: lastFailure[m.Name]})
		if verdict.Want == store.StateOffline && m.State != store.StateOffline && !fenced && stonith && c.holdsForVMs(m.Name) {
			// Permissive VM HA: the host keeps its VMs when it loses its
			// lease (even a watchdog-guarded one: its agent does not stop
			// them); only a fence or an operator says they stopped.
			verdict = nodeVerdict{Want: store.StateUnclean, Hold: "its VMs may still run there (vm-ha-strategy Permissive): waiting until it is fenced or confirmed down"}
		}
		want := verdict.Want
		if want == store.StateUnclean && verdict.Hold != m.Hold {
			if verdict.Hold != "" {
				c.cfg.Logf("controller: %s's resources are held: %s", m.Name, verdict.Hold)
			}
			c.apply(ctx, store.NewFenceHold(m.Name, verdict.Hold))
		}
		if m.Role.Voter() && (raftVoters == nil || raftVoters[m.Name]) {
			voters++
			if lv == membership.Alive && (renewed[m.Name] || m.State == store.StateOnline) {
				alive++
			}
		}
		// A node that has not renewed with this controller may run ops
		// its predecessor asked for (one it ran itself, if it led): until
		// it has renewed, or is fenced (offline), nothing is dispatched.
		// Its lease expiring changes nothing: a start in flight there is
		// in no store, so the resource would look stopped on it.
		if (want == store.StateOnline || want == store.StateUnclean) && !heard[m.Name] {
			out.unheard = append(out.unheard, m.Name)
		}
		if want == store.StateUnclean {
			if out.unclean == nil {
				out.unclean = map[string]bool{}
			}
			out.unclean[m.Name] = true
		}
		guard := views[m.Name].guard
		if want == m.State && (guard == m.Lease.Watchdog || !renewed[m.Name]) {
			continue
		}
		if want != m.State {
			c.cfg.Logf("controller: node %s %s -> %s (%v)", m.Name, m.State, want, lv)
			c.eng.changed()
		}
		if want == store.StateOffline {
			// Its transient shutdown request goes with it, as Pacemaker's
			// attribute manager clears a departed node's transient
			// attributes: an agent started again must not take its
			// previous agent's drain for a new stop.
			if _, ok := shutdown[m.Name]; ok {
				c.apply(ctx, store.NewNodeAttrDelete(m.Name, store.ShutdownAttr))
			}
			if m.State == store.StateOnline {
				c.recordLostHostVMs(ctx, m.Name, now)
			}
			// Fencing is confirmed: the node stopped everything it ran.
			var ids []string
			c.raft.Read(func(s *store.Store) {
				if full, ok := s.Member(m.Name); ok {
					for _, rh := range full.Resources {
						ids = append(ids, rh.ID)
					}
				}
			})
			for _, id := range ids {
				c.apply(ctx, store.NewFailCountClear(store.FailCountClear{Node: m.Name, Resource: id, History: true}))
			}
			c.eng.nodeGone(m.Name)
			c.lmu.Lock()
			delete(c.busy, m.Name)
			delete(c.unsure, m.Name)
			c.lmu.Unlock()
		}
		lease := store.Lease{Leader: c.cfg.Node, GrantedAt: views[m.Name].granted.UnixMilli(), TTL: c.cfg.Leases.TTL.Milliseconds(), Watchdog: guard}
		c.apply(ctx, store.NewNodeState(m.Name, want, lease))
	}
	out.quorum = membership.Quorum(alive, voters)
	out.held = map[string]bool{}
	for k, at := range c.reported {
		if time.Since(at) > time.Minute {
			delete(c.reported, k)
		}
	}
	for _, b := range busy {
		if _, done := c.reported[b.Key]; b.Controller != c.id || !done {
			out.held[baseOf(b.Resource)] = true
		}
	}
	for base := range unsure {
		out.held[base] = true
	}
	return out
}

// lastFenceFailure describes the newest fence attempt of a target's
// history when it failed ("" when there is none, or it succeeded).
func lastFenceFailure(h []store.FenceEntry) string {
	if len(h) == 0 || h[len(h)-1].Result == "success" {
		return ""
	}
	e := h[len(h)-1]
	who := e.Device
	if who == "" {
		who = e.Action
	}
	return who + " " + e.Result + ": " + e.Reason
}
