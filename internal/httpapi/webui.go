package httpapi

import (
	"net/http"

	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/webui"
)

// webUI is the web UI (package webui) served at /ui/: it reads and acts
// through this server, in process, with its session's token, so the same
// routes, role checks and audit entries apply.
func (s *Server) webUI() http.Handler {
	return webui.New(webui.Config{API: s, Identify: s.Identify, IsSecret: s.cfg.IsSecret, Hooks: s.cfg.UI, Now: s.cfg.Now})
}

// Identify returns who holds the API token now, or why it is refused
// (malformed, unknown, expired, revoked), as a bearer token is checked.
func (s *Server) Identify(token string) (pki.Principal, error) {
	return s.identify(token, s.cfg.Now())
}
