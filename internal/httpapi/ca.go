package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/pki"
)

// CAManager is the optional Backend behaviour behind /v1/ca: the
// cluster's CA and its rotation. RotateCA returns once the rotation has
// started (the new CA is trusted beside the old one); errors wrap
// ErrRotating when one is already under way.
type CAManager interface {
	CAStatus(ctx context.Context) (api.CAStatus, error)
	RotateCA(ctx context.Context) (api.CAStatus, error)
}

// ErrRotating is returned by RotateCA while a rotation is under way.
var ErrRotating = errors.New("a CA rotation is already under way")

func (s *Server) caManager() (CAManager, error) {
	m, ok := s.cfg.Backend.(CAManager)
	if !ok {
		return nil, errorf(http.StatusNotImplemented, "this server does not manage a CA")
	}
	return m, nil
}

// getCA answers GET /v1/ca (viewer).
func (s *Server) getCA(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	m, err := s.caManager()
	if err != nil {
		return err
	}
	st, err := m.CAStatus(r.Context())
	if err != nil {
		return errorf(http.StatusServiceUnavailable, "CA status: %v", err)
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// rotateCA answers POST /v1/ca/rotate (admin): 200 with the status once
// the new CA is trusted, 409 while a rotation is under way.
func (s *Server) rotateCA(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	m, err := s.caManager()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ProposeTimeout)
	defer cancel()
	st, err := m.RotateCA(ctx)
	switch {
	case errors.Is(err, ErrRotating):
		return errorf(http.StatusConflict, "%v (see paceline ca status)", err)
	case err != nil:
		return errorf(http.StatusServiceUnavailable, "CA rotation: %v", err)
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}
