package daemon

import (
	"context"
	"time"

	"github.com/paceline/paceline/internal/alerts"
	"github.com/paceline/paceline/internal/consensus"
	"github.com/paceline/paceline/internal/events"
	"github.com/paceline/paceline/internal/httpapi"
	"github.com/paceline/paceline/internal/store"
)

// eventParts are the event recorder and the alert deliverer of a node
// (packages events and alerts): both run on every node; the leader's
// record and deliver.
type eventParts struct {
	recorder  *events.Recorder
	deliverer *alerts.Deliverer
}

func newEventParts(name string, role store.Role, cn *consensus.Node, b *Backend, logf func(string, ...any)) (*eventParts, error) {
	view := func() events.View {
		leader, quorum := b.Leader()
		if role == store.RoleClient {
			// A client never leads, so it records only its own quorum
			// events: it does not build the status (with the VMs'
			// states, which may run the scheduler) at every change, as
			// voters do to take over the record when one becomes leader.
			// Hundreds of clients did so at every change.
			return events.View{Self: name, Leader: leader, Quorum: quorum}
		}
		members := b.Members()
		st := httpapi.BuildStatusWithoutVMs(b.Config(), members, leader, quorum, time.Now())
		var ch store.Change
		cn.Read(func(s *store.Store) { ch = s.LastChange() })
		return events.FromStatus(name, st, members, ch.Author, ch.Message)
	}
	rec, err := events.New(events.Config{Node: name, View: view, Leader: b.Leader, IsLeader: cn.IsLeader, Wait: b.Wait,
		Propose: b.Propose, Logf: logf})
	if err != nil {
		return nil, err
	}
	del, err := alerts.New(alerts.Config{IsLeader: cn.IsLeader, Wait: b.Wait, Events: b.Events, Alerts: b.Alerts,
		Propose: b.Propose, Logf: logf})
	if err != nil {
		return nil, err
	}
	return &eventParts{recorder: rec, deliverer: del}, nil
}

// run runs both until ctx ends and returns when they have stopped.
func (p *eventParts) run(ctx context.Context) {
	done := make(chan struct{})
	go func() { p.recorder.Run(ctx); close(done) }()
	p.deliverer.Run(ctx)
	<-done
}
