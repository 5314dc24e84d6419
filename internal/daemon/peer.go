package daemon

import (
	"fmt"
	"net/http"

	"github.com/paceline/paceline/internal/consensus"
	"github.com/paceline/paceline/internal/peer"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// peerEndpoints are the daemon's own node-to-node calls, served by the
// node's peer.Handler beside the runtime's (propose, heartbeat, report,
// exec):
//
//	POST /internal/v1/join       body: peerJoinRequest; the leader adds the
//	                             caller (a seed forwards to it).
//	POST /internal/v1/remove     body: peerRemove; the leader removes the
//	                             node and revokes its certificate.
//	POST /internal/v1/renew      body: peerRenew; the CA holder signs a new
//	                             key for the caller (ca.go).
//	POST /internal/v1/cert       the leader records the caller's certificate.
//	POST /internal/v1/ca-rotate  the CA holder starts a CA rotation.
type peerEndpoints struct {
	node *consensus.Node
	// peers forwards join requests to the leader (nil: only the leader
	// accepts them).
	peers *peer.Client
	// ca signs renewals and starts rotations (nil: renew and ca-rotate
	// answer 501).
	ca *caManager
}

// newPeerHandler returns the handler of node's peer endpoints: the
// runtime's (hooks) and the daemon's own. Revocations come from the
// replicated list.
func newPeerHandler(node *consensus.Node, hooks peer.Hooks, peers *peer.Client, ca *caManager) *peer.Handler {
	hooks.Revoked = revokedIn(node)
	h := peer.NewHandler(node, hooks)
	(&peerEndpoints{node: node, peers: peers, ca: ca}).register(h)
	return h
}

// register adds the endpoints to h.
func (h *peerEndpoints) register(ph *peer.Handler) {
	ph.Handle("join", peer.AllRoles, h.join)                  // forwarding: servers only (join)
	ph.Handle("remove", []pki.Role{pki.RoleServer}, h.remove) // forwarded by a server's API
	ph.Handle("renew", peer.AllRoles, h.renew)                // every member renews (ca.go)
	ph.Handle("cert", peer.AllRoles, h.cert)                  // every member's certificate is recorded
	ph.Handle("ca-rotate", peer.AllRoles, h.caRotate)         // every node's API forwards, as propose
}

// join adds the caller (or, from a server forwarding it, the node it
// names) to the cluster with its Raft and API addresses.
func (h *peerEndpoints) join(w http.ResponseWriter, r *http.Request) {
	var req peerJoinRequest
	if err := peer.DecodeStrict(r.Body, &req); err != nil {
		peer.Error(w, http.StatusBadRequest, "join: "+err.Error())
		return
	}
	id, _ := pki.PeerIdentity(*r.TLS)
	if req.Node == "" {
		req.Node, req.Role, req.Serial = id.Node, string(id.Role), pki.Serial(r.TLS.VerifiedChains[0][0])
	} else if id.Role != pki.RoleServer {
		peer.Error(w, http.StatusForbidden, "only a server may forward a join")
		return
	}
	if !h.node.IsLeader() {
		leader := h.node.LeaderID()
		if h.peers == nil || leader == "" || leader == h.node.ID() {
			peer.Error(w, http.StatusMisdirectedRequest, fmt.Sprintf("not the leader (the leader is %q)", leader))
			return
		}
		if err := h.peers.Post(r.Context(), leader, "join", req, nil); err != nil {
			peer.Error(w, http.StatusBadGateway, err.Error())
			return
		}
		peer.WriteJSON(w, map[string]bool{"ok": true})
		return
	}
	res, err := h.node.JoinAt(r.Context(), req.Node, req.RaftAddr, req.APIAddr, store.Role(req.Role))
	if err == nil {
		err = res.Err
	}
	if err == nil && req.Serial != "" {
		err = recordCert(r.Context(), h.node, store.NodeCert{Name: req.Node, Serial: req.Serial})
	}
	if err != nil {
		peer.Error(w, http.StatusServiceUnavailable, "join "+req.Node+": "+err.Error())
		return
	}
	peer.WriteJSON(w, map[string]bool{"ok": true})
}
