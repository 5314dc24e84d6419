package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// HistoryReader is implemented by a backend that can list the kept
// configuration history (store.Store.History); without it GET
// /v1/config/history answers 501.
type HistoryReader interface {
	// History returns a deep copy of the kept history, oldest first.
	History() []store.HistoryEntry
}

var _ HistoryReader = (*MemBackend)(nil)

// History returns the store's kept configuration history.
func (m *MemBackend) History() []store.HistoryEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.History()
}

// getHistory answers GET /v1/config/history: the kept epochs, newest
// first, with who changed what and when (configurations not included).
func (s *Server) getHistory(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	hr, ok := s.cfg.Backend.(HistoryReader)
	if !ok {
		return errorf(http.StatusNotImplemented, "this node cannot list the configuration history")
	}
	h := hr.History()
	out := make([]api.ConfigHistoryEntry, 0, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		e := h[i]
		var prev *model.Config
		if i > 0 {
			prev = &h[i-1].Config
		}
		entry := api.ConfigHistoryEntry{Epoch: e.Epoch, Author: e.Author, Message: e.Message}
		if e.At != 0 {
			entry.At = time.UnixMilli(e.At).UTC()
		}
		if prev != nil {
			entry.Changes = model.DiffConfigs(prev, &e.Config)
		}
		out = append(out, entry)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// rollback answers POST /v1/config/rollback {"epoch": N}: the
// configuration of kept epoch N becomes the next epoch.
func (s *Server) rollback(w http.ResponseWriter, r *http.Request, p pki.Principal) error {
	var req api.RollbackRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	cur := s.cfg.Backend.Config()
	if req.Epoch == 0 || req.Epoch >= cur.Epoch {
		return errorf(http.StatusBadRequest, "rollback to epoch %d: want an earlier epoch than the current %d", req.Epoch, cur.Epoch)
	}
	res, err := s.propose(r.Context(), store.NewConfigRollback(cur.Epoch, req.Epoch, store.Change{
		Author: author(p), Message: "rollback to epoch " + strconv.FormatUint(req.Epoch, 10), At: s.cfg.Now().UnixMilli()}))
	if err != nil {
		if errors.Is(res.Err, store.ErrUnknownEpoch) {
			return errorf(http.StatusNotFound, "%v", res.Err)
		}
		return err
	}
	setEpoch(w, res.Epoch)
	writeJSON(w, http.StatusOK, api.ConfigResult{Epoch: res.Epoch, Changed: res.Changed})
	return nil
}
