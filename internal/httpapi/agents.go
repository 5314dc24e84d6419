package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
)

// AgentCatalog is this node's resource agents (agentcatalog.Catalog).
// Methods may be called concurrently and may block for an agent's
// meta-data action; returned values belong to the caller.
type AgentCatalog interface {
	// List returns the installed agents, sorted; class and provider
	// narrow it when not empty.
	List(ctx context.Context, class, provider string) ([]string, error)
	// Meta returns an agent's meta-data, or an error wrapping
	// model.ErrUnknownAgent or model.ErrBadMetaData.
	Meta(ctx context.Context, agent string) (*model.AgentMeta, error)
}

// agentsRef boxes an AgentCatalog for atomic.Pointer.
type agentsRef struct{ c AgentCatalog }

// SetAgents sets the agent catalogue (see Config.Agents); it may be
// called while the server serves, e.g. once the daemon has built the
// agent classes, which need the server for the Pacemaker helpers.
func (s *Server) SetAgents(c AgentCatalog) { s.agents.Store(&agentsRef{c}) }

// catalog returns the agent catalogue, or nil.
func (s *Server) catalog() AgentCatalog {
	if ref := s.agents.Load(); ref != nil {
		return ref.c
	}
	return s.cfg.Agents
}

func (s *Server) noAgents() error {
	return errorf(http.StatusNotImplemented, "this node has no agent catalogue")
}

// listAgents answers GET /v1/agents?class=C&provider=P.
func (s *Server) listAgents(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	cat := s.catalog()
	if cat == nil {
		return s.noAgents()
	}
	list, err := cat.List(r.Context(), r.URL.Query().Get("class"), r.URL.Query().Get("provider"))
	if err != nil {
		return err
	}
	if list == nil {
		list = []string{}
	}
	writeJSON(w, http.StatusOK, api.AgentList{Agents: list})
	return nil
}

// describeAgent answers GET /v1/agents/AGENT with its meta-data.
func (s *Server) describeAgent(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	cat := s.catalog()
	if cat == nil {
		return s.noAgents()
	}
	m, err := cat.Meta(r.Context(), r.PathValue("agent"))
	if err != nil {
		return agentError(err)
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// agentError maps catalogue errors: an unknown agent is 404, unreadable
// meta-data 502.
func agentError(err error) error {
	switch {
	case errors.Is(err, model.ErrUnknownAgent):
		return errorf(http.StatusNotFound, "%v", err)
	case errors.Is(err, model.ErrBadMetaData):
		return errorf(http.StatusBadGateway, "%v", err)
	}
	return err
}

// checkAgent checks a primitive against its agent's meta-data unless the
// request says force=true or there is no catalogue: an unknown agent,
// parameter or operation, or a missing required parameter, is a 400
// naming it (with the closest known name).
func (s *Server) checkAgent(r *http.Request, prim *model.Resource) error {
	cat := s.catalog()
	if cat == nil || r.URL.Query().Get("force") == "true" {
		return nil
	}
	m, err := cat.Meta(r.Context(), prim.Agent())
	if errors.Is(err, model.ErrUnknownAgent) {
		return errorf(http.StatusBadRequest, "resource %q: %v (force=true accepts it anyway)", prim.ID, err)
	}
	if err != nil {
		return agentError(err)
	}
	if err := m.Check(prim); err != nil {
		return errorf(http.StatusBadRequest, "resource %q: %s (force=true accepts it anyway)", prim.ID,
			strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return nil
}
