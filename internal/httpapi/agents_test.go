package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/paceline/paceline/internal/httpapi"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
)

// mapCatalog is an agent catalogue over fixed meta-data.
type mapCatalog map[string]*model.AgentMeta

func (m mapCatalog) List(_ context.Context, class, _ string) ([]string, error) {
	var out []string
	for a := range m {
		out = append(out, a)
	}
	slices.Sort(out)
	return out, nil
}

func (m mapCatalog) Meta(_ context.Context, agent string) (*model.AgentMeta, error) {
	if meta, ok := m[agent]; ok {
		return meta, nil
	}
	return nil, fmt.Errorf("%w %s", model.ErrUnknownAgent, agent)
}

// An agent catalogue set after the server was built (as the daemon does,
// once the agent classes exist) lists agents and checks new resources.
func TestSetAgentsLater(t *testing.T) {
	srv, b, st, _ := newLocalServer(t)
	noStonith(t, st)
	admin := httpapi.LocalPrincipal("t", pki.RoleAdmin)
	if code, _ := serveLocal(srv, admin, "GET", "/v1/agents", ""); code != http.StatusNotImplemented {
		t.Errorf("without a catalogue: %d, want 501", code)
	}
	// Without a catalogue nothing is checked.
	if code, msg := serveLocal(srv, admin, "POST", "/v1/resources", `{"id":"a","agent":"builtin:x","params":[{"name":"zz","value":"1"}]}`); code != http.StatusCreated {
		t.Fatalf("create without a catalogue: %d %s", code, msg)
	}
	srv.SetAgents(mapCatalog{"builtin:x": {Agent: "builtin:x", Parameters: []model.AgentParam{{Name: "size", Required: true}},
		Actions: []model.AgentAction{{Name: "start"}, {Name: "monitor"}}}})
	if code, _ := serveLocal(srv, admin, "GET", "/v1/agents", ""); code != http.StatusOK {
		t.Errorf("with a catalogue: %d", code)
	}
	epoch := b.Config().Epoch
	code, msg := serveLocal(srv, admin, "POST", "/v1/resources", `{"id":"b","agent":"builtin:x","params":[{"name":"sise","value":"1"}]}`)
	if code != http.StatusBadRequest || msg != `resource "b": unknown parameter "sise" of builtin:x (did you mean size?); `+
		`missing required parameter "size" of builtin:x (force=true accepts it anyway)` {
		t.Errorf("create b: %d %q", code, msg)
	}
	if code, msg := serveLocal(srv, admin, "PUT", "/v1/resources/a", `{"agent":"builtin:y"}`); code != http.StatusBadRequest ||
		msg != `resource "a": unknown agent builtin:y (force=true accepts it anyway)` {
		t.Errorf("update a: %d %q", code, msg)
	}
	if b.Config().Epoch != epoch {
		t.Errorf("refused writes moved the epoch")
	}
	if code, msg := serveLocal(srv, admin, "POST", "/v1/resources?force=true", `{"id":"b","agent":"builtin:x"}`); code != http.StatusCreated {
		t.Errorf("forced create: %d %s", code, msg)
	}
}
