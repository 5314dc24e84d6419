package peer

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/paceline/paceline/internal/store"
)

// FenceCall asks a node to fence Target through its own fencer (POST
// /internal/v1/fence): the leader hands over a fence of itself, or one its
// own devices could not carry out.
type FenceCall struct {
	Target string `json:"target"`
	Action string `json:"action,omitempty"`
	Origin string `json:"origin,omitempty"`
}

// FenceReply is what the node recorded, and the operation's error ("":
// none).
type FenceReply struct {
	Record store.FenceRecord `json:"record"`
	Error  string            `json:"error,omitempty"`
}

// ErrFenceFailed is a fence operation the called node ran and that
// failed (FenceReply.Error).
var ErrFenceFailed = errors.New("peer: fencing failed")

// Fence asks node to fence target and waits for the outcome.
func (c *Client) Fence(ctx context.Context, node, target, action, origin string) (store.FenceRecord, error) {
	var rep FenceReply
	if err := c.postLong(ctx, node, "fence", FenceCall{Target: target, Action: action, Origin: origin}, &rep); err != nil {
		return store.FenceRecord{}, err
	}
	if rep.Error != "" {
		return rep.Record, fmt.Errorf("%w: %s", ErrFenceFailed, rep.Error)
	}
	return rep.Record, nil
}

func (h *Handler) fence(w http.ResponseWriter, r *http.Request) {
	var call FenceCall
	if err := DecodeStrict(r.Body, &call); err != nil {
		Error(w, http.StatusBadRequest, "fence: "+err.Error())
		return
	}
	if from, leader := Caller(r), h.node.LeaderID(); from != leader {
		Error(w, http.StatusForbidden, fmt.Sprintf("fence from %q, but this node follows leader %q", from, leader))
		return
	}
	if h.hooks.Fence == nil {
		Error(w, http.StatusNotImplemented, "this node has no fencer")
		return
	}
	rec, err := h.hooks.Fence(call.Target, call.Action, call.Origin)
	rep := FenceReply{Record: rec}
	if err != nil {
		rep.Error = err.Error()
	}
	WriteJSON(w, rep)
}
