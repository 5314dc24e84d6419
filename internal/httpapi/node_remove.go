package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// NodeRemover is the optional Backend behaviour behind DELETE
// /v1/nodes/{name}: remove the node from the cluster (Raft and store) and
// revoke its certificate. It blocks until done or ctx ends; errors wrap
// store.ErrUnknownNode for a non-member.
type NodeRemover interface {
	RemoveNode(ctx context.Context, name string) error
}

// removeNode answers DELETE /v1/nodes/{name} (admin): 204 when removed,
// 404 for an unknown node, 501 when the backend cannot remove nodes.
func (s *Server) removeNode(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	name := r.PathValue("name")
	nr, ok := s.cfg.Backend.(NodeRemover)
	if !ok {
		return errorf(http.StatusNotImplemented, "this server cannot remove nodes")
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ProposeTimeout)
	defer cancel()
	if err := nr.RemoveNode(ctx, name); err != nil {
		if errors.Is(err, store.ErrUnknownNode) {
			return errorf(http.StatusNotFound, "no node %q", name)
		}
		return errorf(http.StatusConflict, "remove node %q: %v", name, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
