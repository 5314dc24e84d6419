package events

import (
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/store"
)

// Wire returns e as the API and the webhooks show it.
func Wire(e store.Event) api.ClusterEvent {
	return api.ClusterEvent{Seq: e.Seq, Time: time.UnixMilli(e.At).UTC(), TimeMs: e.At, Kind: string(e.Kind),
		Node: e.Node, Resource: e.Resource, From: e.From, To: e.To, Address: e.Address, Operation: e.Operation,
		IntervalMs: e.Interval, RC: e.RC, Reason: e.Reason, Detail: e.Detail, Epoch: e.Epoch, Who: e.Who, Alert: e.Alert, Ref: e.Ref}
}
