package sched

import (
	"fmt"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// lossPolicy is what happens to resources active when their ticket is
// revoked (rsc_ticket loss-policy).
type lossPolicy int

const (
	lossStop   lossPolicy = iota // ban them everywhere, so they stop
	lossDemote                   // promoted instances demote; others stop
	lossFence                    // fence the nodes they are active on
	lossFreeze                   // leave them as they are, unmanaged
)

func (p lossPolicy) String() string {
	switch p {
	case lossDemote:
		return "demote"
	case lossFence:
		return "fence"
	case lossFreeze:
		return "freeze"
	}
	return "stop"
}

// ticket is one cluster ticket. A ticket named by a constraint but absent
// from the status is neither granted nor in standby.
type ticket struct {
	id               string
	granted, standby bool
}

// usable reports whether resources depending on the ticket may run.
func (t *ticket) usable() bool { return t.granted && !t.standby }

// ticketDep is an unpacked rsc_ticket: rsc (in role, RoleUnknown for any
// role) needs the ticket.
type ticketDep struct {
	id     string
	rsc    *resource
	ticket *ticket
	role   Role
	loss   lossPolicy
}

// ticketByID returns the ticket with that name, creating it from the
// status (or as revoked) on first use.
func (ws *workingSet) ticketByID(id string) *ticket {
	if t, ok := ws.tickets[id]; ok {
		return t
	}
	t := &ticket{id: id}
	if ws.st != nil {
		if s, ok := ws.st.Tickets[id]; ok {
			t.granted, t.standby = s.Granted, s.Standby
		}
	}
	if ws.tickets == nil {
		ws.tickets = map[string]*ticket{}
	}
	ws.tickets[id] = t
	return t
}

// unpackTicket is Pacemaker's pcmk__unpack_rsc_ticket: every resource the
// constraint names gets the dependency, and while the ticket is unusable
// its bans and loss policy take effect at once. A constraint naming an
// unknown resource is ignored with a note, as Pacemaker ignores it with a
// configuration error (for sets: the rest of the constraint too).
func (ws *workingSet) unpackTicket(tc *model.TicketConstraint) {
	t := ws.ticketByID(tc.Ticket)
	if len(tc.Sets) == 0 {
		r := ws.findConstraintResource(tc.Resource)
		if r == nil {
			ws.notes = append(ws.notes, fmt.Sprintf("ticket constraint %q ignored: unknown resource %q", tc.ID, tc.Resource))
			return
		}
		ws.newTicketDep(tc.ID, r, t, tc.Role, tc.LossPolicy)
		return
	}
	for _, set := range tc.Sets {
		for _, id := range set.Resources {
			r := ws.findConstraintResource(id)
			if r == nil {
				ws.notes = append(ws.notes, fmt.Sprintf("ticket constraint %q: unknown resource %q, rest ignored", tc.ID, id))
				return
			}
			// A set's dependency is named after the set and takes
			// the set's role (rsc-role applies to rsc only).
			ws.newTicketDep(set.ID, r, t, set.Role, tc.LossPolicy)
		}
	}
}

// newTicketDep is rsc_ticket_new.
func (ws *workingSet) newTicketDep(id string, r *resource, t *ticket, role, loss string) {
	d := &ticketDep{id: id, rsc: r, ticket: t, role: parseRole(role)}
	if d.role == RoleStarted {
		d.role = RoleUnknown
	}
	switch strings.ToLower(loss) {
	case "fence":
		if ws.stonithEnabled {
			d.loss = lossFence
		} else {
			d.loss = lossStop
		}
	case "freeze":
		d.loss = lossFreeze
	case "demote":
		d.loss = lossDemote
	case "stop":
		d.loss = lossStop
	default:
		if d.role == RolePromoted {
			d.loss = lossDemote
		}
	}
	r.tickets = append(r.tickets, d)
	if !t.usable() {
		ws.ticketConstraints(r, d)
	}
}

// ticketConstraints is constraints_for_ticket: bans and loss-policy effects
// on every primitive of r while d's ticket is revoked or in standby.
func (ws *workingSet) ticketConstraints(r *resource, d *ticketDep) {
	if d.ticket.usable() {
		return
	}
	if len(r.children) > 0 {
		for _, c := range r.children {
			ws.ticketConstraints(c, d)
		}
		return
	}
	ban := func(why string) {
		ws.banEverywhere(r, fmt.Sprintf("%s (ticket %s, constraint %s)", why, d.ticket.id, d.id))
	}
	roleMatches := d.role == RoleUnknown || d.role == r.role
	switch {
	case !d.ticket.granted && len(r.runningOn) > 0:
		switch d.loss {
		case lossStop:
			ban("loss of ticket")
		case lossDemote:
			// A promoted-role dependency only blocks promotion
			// (requirePromotionTickets); any other stops.
			if d.role != RolePromoted {
				ban("loss of ticket")
			}
		case lossFence:
			if !roleMatches {
				return
			}
			ban("loss of ticket")
			for _, n := range r.runningOn {
				ws.fenceNode(n, "deadman ticket was lost", false)
			}
		case lossFreeze:
			if !roleMatches {
				return
			}
			r.managed = false
			r.block = true
			r.explain("frozen: ticket %s lost (constraint %s, loss-policy=freeze)", d.ticket.id, d.id)
		}
	case !d.ticket.granted:
		if d.role != RolePromoted || d.loss == lossStop {
			ban("ticket not granted")
		}
	case d.ticket.standby:
		if d.role != RolePromoted || d.loss == lossStop {
			ban("ticket in standby")
		}
	}
}

// banEverywhere is resource_location(rsc, NULL, -INFINITY): -INFINITY on
// every node for r and its children.
func (ws *workingSet) banEverywhere(r *resource, why string) {
	for _, n := range ws.nodes {
		ws.addLocation(r, n, -model.Infinity, why)
	}
}

// requirePromotionTickets is pcmk__require_promotion_tickets: a promotable
// clone whose promoted role needs a ticket that is revoked or in standby
// may promote nowhere.
func (ws *workingSet) requirePromotionTickets(r *resource) {
	for _, d := range r.tickets {
		if d.role == RolePromoted && !d.ticket.usable() {
			ws.banEverywhere(r, fmt.Sprintf("promotion needs ticket %s (constraint %s)", d.ticket.id, d.id))
		}
	}
}
