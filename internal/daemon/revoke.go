package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/paceline/paceline/internal/consensus"
	"github.com/paceline/paceline/internal/peer"
	"github.com/paceline/paceline/internal/store"
)

// Node removal and certificate revocation.
//
// The leader records the serial of the certificate every member joined
// with (store.NodeCert). `paceline node remove NAME` revokes that serial
// (store.CertRevoke, replicated) and then removes the member from the
// store and the Raft configuration (consensus.Node.Leave). Every node
// refuses a revoked certificate in every new mutual-TLS handshake (Raft
// transport and peer calls: pki.NodeTLSRevoking) and on every peer call
// (peer.Handler.ServeHTTP), so the removed node can neither rejoin with
// its certificate nor call a peer endpoint.

// ErrRemove wraps refusals of a node removal.
var ErrRemove = errors.New("daemon: remove node")

// revokedIn returns the revocation check of node's replicated list.
func revokedIn(node *consensus.Node) func(serial string) bool {
	return func(serial string) (revoked bool) {
		node.Read(func(s *store.Store) { revoked = s.Revoked(serial) })
		return revoked
	}
}

// revocations is the revocation check of TLS configurations made before
// the consensus node exists (the Raft transport's): nothing is revoked
// until set is called.
type revocations struct {
	node atomic.Pointer[consensus.Node]
}

func (r *revocations) set(n *consensus.Node) { r.node.Store(n) }

// Revoked reports whether serial is on the replicated revocation list.
func (r *revocations) Revoked(serial string) bool {
	n := r.node.Load()
	return n != nil && revokedIn(n)(serial)
}

// removeNode revokes name's certificate and removes it from the cluster;
// it runs on the leader. The revocation commits first, so a removal that
// fails half-way leaves the node unable to call anyone rather than a
// member with a live certificate.
func removeNode(ctx context.Context, node *consensus.Node, name string, now time.Time) error {
	if name == node.ID() {
		return fmt.Errorf("%w: %q is the leader; stop it or let another node lead first", ErrRemove, name)
	}
	var m store.Member
	var ok bool
	node.Read(func(s *store.Store) { m, ok = s.MemberState(name) })
	if !ok {
		return fmt.Errorf("%w: %w: %q", ErrRemove, store.ErrUnknownNode, name)
	}
	var holder string
	node.Read(func(s *store.Store) { holder = s.CA().Holder })
	if name == holder {
		return fmt.Errorf("%w: %q holds the cluster CA's key; it cannot be removed", ErrRemove, name)
	}
	// The previous certificate too: during a CA rotation it is still
	// trusted.
	for _, serial := range []string{m.CertSerial, m.PrevCertSerial} {
		if serial == "" {
			continue
		}
		res, err := node.Apply(ctx, store.NewCertRevoke(store.CertRevoke{Serial: serial, Node: name, At: now.UnixMilli()}))
		if err == nil {
			err = res.Err
		}
		if err != nil {
			return fmt.Errorf("%w: revoke the certificate of %s: %w", ErrRemove, name, err)
		}
	}
	res, err := node.Leave(ctx, name)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrRemove, name, err)
	}
	return nil
}

// RemoveNode removes a node from the cluster and revokes its certificate
// (httpapi.NodeRemover): on the leader directly, otherwise through the
// leader's peer endpoint.
func (b *Backend) RemoveNode(ctx context.Context, name string) error {
	if b.node.IsLeader() {
		return removeNode(ctx, b.node, name, time.Now())
	}
	leader := b.node.LeaderID()
	p, ok := b.fwd.(*peer.Client)
	if leader == "" || !ok || leader == b.node.ID() {
		return consensus.ErrNotLeader
	}
	return p.Post(ctx, leader, "remove", peerRemove{Node: name}, nil)
}

// peerRemove is POST /internal/v1/remove: a server forwards a removal to
// the leader.
type peerRemove struct {
	Node string `json:"node"`
}

func (h *peerEndpoints) remove(w http.ResponseWriter, r *http.Request) {
	var req peerRemove
	if err := peer.DecodeStrict(r.Body, &req); err != nil {
		peer.Error(w, http.StatusBadRequest, "remove: "+err.Error())
		return
	}
	if !h.node.IsLeader() {
		peer.Error(w, http.StatusMisdirectedRequest, fmt.Sprintf("not the leader (the leader is %q)", h.node.LeaderID()))
		return
	}
	if err := removeNode(r.Context(), h.node, req.Node, time.Now()); err != nil {
		code := http.StatusServiceUnavailable
		if errors.Is(err, store.ErrUnknownNode) {
			code = http.StatusNotFound
		} else if errors.Is(err, ErrRemove) {
			code = http.StatusConflict
		}
		peer.Error(w, code, err.Error())
		return
	}
	peer.WriteJSON(w, map[string]bool{"ok": true})
}
