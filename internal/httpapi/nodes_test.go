package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/store"
)

// Standby and maintenance are node attributes set through the API (an
// operational write: viewers may only read them).
func TestNodeAttributesStandbyAndRoles(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	if err := c.client.SetNodeAttributes(ctx, "n1", map[string]string{"standby": "on"}); err != nil {
		t.Fatal(err)
	}
	nodes, err := c.client.Nodes(ctx)
	if err != nil || len(nodes) != 2 || nodes[0].Name != "n1" || nodes[0].State != api.NodeStandby || nodes[0].Attributes["standby"] != "on" {
		t.Fatalf("nodes after standby: %+v %v", nodes, err)
	}
	if st, _ := c.client.Status(ctx); st.Nodes[0].State != api.NodeStandby {
		t.Errorf("status after standby: %+v", st.Nodes)
	}
	if err := c.client.SetNodeAttributes(ctx, "n1", map[string]string{"standby": ""}); err != nil {
		t.Fatal(err)
	}
	if nodes, _ := c.client.Nodes(ctx); nodes[0].State != api.NodeOnline || len(nodes[0].Attributes) != 0 {
		t.Errorf("nodes after unstandby: %+v", nodes)
	}
	if err := c.client.SetNodeAttributes(ctx, "n9", map[string]string{"standby": "on"}); statusOf(err) != http.StatusNotFound {
		t.Errorf("unknown node: %v, want 404", err)
	}
	if err := c.client.SetNodeAttributes(ctx, "n1", map[string]string{}); statusOf(err) != http.StatusBadRequest {
		t.Errorf("no attributes: %v, want 400", err)
	}
	v := c.newClient(t, c.viewer, c.ts.URL)
	if _, err := v.Nodes(ctx); err != nil {
		t.Errorf("viewer reads nodes: %v", err)
	}
	if err := v.SetNodeAttributes(ctx, "n1", map[string]string{"standby": "on"}); statusOf(err) != http.StatusForbidden {
		t.Errorf("viewer sets standby: %v, want 403", err)
	}
	if _, err := v.CleanupResource(ctx, "web", ""); statusOf(err) != http.StatusForbidden {
		t.Errorf("viewer cleanup: %v, want 403", err)
	}
}

func TestCleanupForgetsFailures(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	if _, err := c.client.CleanupResource(ctx, "web", ""); statusOf(err) != http.StatusNotFound {
		t.Errorf("cleanup of an unknown resource: %v, want 404", err)
	}
	if _, err := c.client.CreateResource(ctx, api.ResourceRequest{ID: "web", Agent: "builtin:dummy"}); err != nil {
		t.Fatal(err)
	}
	if res, _ := c.backend.Propose(ctx, store.NewOpResult(store.OpResult{Node: "n1",
		Resource: model.ResourceHistory{ID: "web", Class: "builtin", Type: "dummy"},
		Op:       model.OpRecord{Operation: "start", CallID: 3, RC: 1}, FailCountAdd: 1})); res.Err != nil {
		t.Fatal(res.Err)
	}
	if _, err := c.client.CleanupResource(ctx, "web", "n9"); statusOf(err) != http.StatusNotFound {
		t.Errorf("cleanup on an unknown node: %v, want 404", err)
	}
	res, err := c.client.CleanupResource(ctx, "web", "n1")
	if err != nil || !res.Changed {
		t.Fatalf("cleanup: %+v %v", res, err)
	}
	for _, m := range c.backend.Members() {
		if len(m.Resources) != 0 || len(m.Attributes) != 0 {
			t.Errorf("after cleanup %s keeps %+v %+v", m.Name, m.Resources, m.Attributes)
		}
	}
	if res, err := c.client.CleanupResource(ctx, "web", ""); err != nil || res.Changed {
		t.Errorf("second cleanup: %+v %v, want unchanged", res, err)
	}
}
