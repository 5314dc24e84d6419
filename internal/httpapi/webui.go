package httpapi

import (
	"context"
	"net/http"

	"github.com/paceline/paceline/api"

	"github.com/paceline/paceline/internal/events"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/webui"
)

// webUI is the web UI (package webui) served at /ui/: it reads and acts
// through this server, in process, with its session's token, so the same
// routes, role checks and audit entries apply.
func (s *Server) webUI() http.Handler {
	hooks := s.cfg.UI
	if hooks.Events == nil {
		hooks.Events = s.newestEvents
	}
	if hooks.Switchover == nil {
		// The API's switchover, with the session's client (its token,
		// role check and audit entry).
		hooks.Switchover = func(ctx context.Context, c *api.Client, id, node string) error {
			_, err := c.Switchover(ctx, id, api.SwitchoverRequest{Node: node})
			return err
		}
	}
	return webui.New(webui.Config{API: s, Identify: s.Identify, IsSecret: s.cfg.IsSecret, Hooks: hooks, Now: s.cfg.Now})
}

// newestEvents returns the newest n cluster events of this node's copy of
// the event log, newest first, as the overview lists them.
func (s *Server) newestEvents(n int) []webui.Event {
	all := s.cfg.Backend.Events(0)
	out := make([]webui.Event, 0, n)
	for i := len(all) - 1; i >= 0 && len(out) < n; i-- {
		e := events.Wire(all[i])
		out = append(out, webui.Event{At: e.Time, Kind: e.Kind, Node: e.Node, Resource: e.Resource, Message: e.Describe()})
	}
	return out
}

// Identify returns who holds the API token now, or why it is refused
// (malformed, unknown, expired, revoked), as a bearer token is checked.
func (s *Server) Identify(token string) (pki.Principal, error) {
	return s.identify(token, s.cfg.Now())
}
