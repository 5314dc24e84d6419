package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/store"
)

// The fencing topology through the API: a level naming a missing device,
// a node that does not exist or a used index is refused with nothing
// changed; a device naming a node that does not exist is refused; levels
// list sorted, remove; devices list their targets and levels; viewers
// read but do not change; confirm-down refuses an online node and marks
// an unclean one fenced, in the fence history.
func TestFenceLevelsDevicesAndConfirmDown(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	epoch := func() uint64 { return c.backend.Config().Epoch }
	if err := c.client.AddFenceLevel(ctx, api.FenceLevel{Target: "n2", Index: 1, Devices: []string{"ipmi-n2"}}); statusOf(err) != http.StatusBadRequest ||
		!strings.Contains(err.Error(), `unknown fence device "ipmi-n2"`) {
		t.Errorf("level naming a missing device: %v, want 400 naming it", err)
	}
	cfg, err := c.client.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bad := *cfg
	bad.Resources = append(append([]model.Resource(nil), cfg.Resources...), model.Resource{ID: "ipmi-n9", Kind: model.KindPrimitive,
		Class: "stonith", Type: "fence_ipmilan", Params: []model.NV{{Name: "pcmk_host_list", Value: "n9"}}})
	before := epoch()
	if _, err := c.client.ApplyConfig(ctx, &bad, false); statusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "pcmk_host_list names n9") {
		t.Errorf("device for a node that does not exist: %v, want 400 naming n9", err)
	}
	for _, d := range []string{"ipmi-n2", "pdu"} {
		cfg.Resources = append(cfg.Resources, model.Resource{ID: d, Kind: model.KindPrimitive, Class: "stonith", Type: "fence_ipmilan",
			Params: []model.NV{{Name: "pcmk_host_list", Value: "n2"}, {Name: "ip", Value: "10.0.0.2"}, {Name: "password", Value: "s3cret"}}})
	}
	if _, err := c.client.ApplyConfig(ctx, cfg, false); err != nil {
		t.Fatal(err)
	}
	if epoch() != before+1 {
		t.Fatalf("epoch %d, want %d (the refused device changed it?)", epoch(), before+1)
	}
	before = epoch()
	for _, l := range []api.FenceLevel{{Target: "n9", Index: 1, Devices: []string{"ipmi-n2"}}, {Target: "n2", Index: 10, Devices: []string{"pdu"}}} {
		if err := c.client.AddFenceLevel(ctx, l); statusOf(err) != http.StatusBadRequest {
			t.Errorf("level %+v: %v, want 400", l, err)
		}
	}
	if epoch() != before {
		t.Errorf("refused levels changed the epoch %d -> %d", before, epoch())
	}
	if err := c.client.AddFenceLevel(ctx, api.FenceLevel{Target: "n2", Index: 2, Devices: []string{"pdu"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.client.AddFenceLevel(ctx, api.FenceLevel{Target: "n2", Index: 1, Devices: []string{"ipmi-n2"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.client.AddFenceLevel(ctx, api.FenceLevel{Target: "n2", Index: 1, Devices: []string{"pdu"}}); statusOf(err) != http.StatusConflict {
		t.Errorf("level 1 twice: %v, want 409", err)
	}
	ls, err := c.client.FenceLevels(ctx)
	if err != nil || len(ls) != 2 || ls[0].Index != 1 || ls[1].Index != 2 {
		t.Fatalf("levels: %+v %v", ls, err)
	}
	ds, err := c.client.FenceDevices(ctx)
	if err != nil || len(ds) != 2 || ds[0].ID != "ipmi-n2" || ds[0].Agent != "stonith:fence_ipmilan" || strings.Join(ds[0].Targets, ",") != "n2" ||
		ds[0].HostCheck != "static-list" || strings.Join(ds[0].Levels, ",") != "n2/1" {
		t.Errorf("devices: %+v %v", ds, err)
	}
	v := c.newClient(t, c.viewer, c.ts.URL)
	if _, err := v.FenceLevels(ctx); err != nil {
		t.Errorf("viewer reads levels: %v", err)
	}
	if err := v.RemoveFenceLevel(ctx, "n2", 1); statusOf(err) != http.StatusForbidden {
		t.Errorf("viewer removes a level: %v, want 403", err)
	}
	if _, err := v.ConfirmDown(ctx, "n2"); statusOf(err) != http.StatusForbidden {
		t.Errorf("viewer confirms down: %v, want 403", err)
	}
	if err := c.client.RemoveFenceLevel(ctx, "n2", 2); err != nil {
		t.Fatal(err)
	}
	if err := c.client.RemoveFenceLevel(ctx, "n2", 2); statusOf(err) != http.StatusNotFound {
		t.Errorf("removing it again: %v, want 404", err)
	}
	// confirm-down: n1 is online (refused), n2 unclean.
	if _, err := c.client.ConfirmDown(ctx, "n1"); statusOf(err) != http.StatusConflict {
		t.Errorf("confirm-down of an online node: %v, want 409", err)
	}
	if _, err := c.client.ConfirmDown(ctx, "n9"); statusOf(err) != http.StatusNotFound {
		t.Errorf("confirm-down of an unknown node: %v, want 404", err)
	}
	if res, _ := c.backend.Propose(ctx, store.NewNodeState("n2", store.StateUnclean, store.Lease{})); res.Err != nil {
		t.Fatal(res.Err)
	}
	res, err := c.client.ConfirmDown(ctx, "n2")
	if err != nil || !res.Fenced || !strings.HasPrefix(res.By, "operator token:") {
		t.Fatalf("confirm-down: %+v %v", res, err)
	}
	h, err := c.client.FenceHistory(ctx, "n2")
	if err != nil || len(h) != 1 || h[0].Action != "confirm-down" || h[0].Result != "success" {
		t.Errorf("history: %+v %v", h, err)
	}
	if _, err := c.client.FenceHistory(ctx, "n9"); statusOf(err) != http.StatusNotFound {
		t.Errorf("history of an unknown node: %v, want 404", err)
	}
	st, _ := c.client.Status(ctx)
	for _, n := range st.Nodes {
		if n.Name == "n2" && n.FencedBy != res.By {
			t.Errorf("status of n2: %+v", n)
		}
	}
	if _, err := c.client.FenceNode(ctx, "n2", "sideways"); statusOf(err) != http.StatusBadRequest {
		t.Errorf("fence action sideways: %v, want 400", err)
	}
	if _, err := c.client.FenceNode(ctx, "n2", "off"); statusOf(err) != http.StatusNotImplemented {
		t.Errorf("fence on a backend that cannot: %v, want 501", err)
	}
}

// A fence device's password is a secret parameter: stored, never shown.
func TestFenceDevicePasswordIsSecret(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	if _, err := c.client.CreateResource(ctx, api.ResourceRequest{ID: "ipmi-n2", Agent: "stonith:fence_ipmilan",
		Params: []api.NV{{Name: "ip", Value: "10.0.0.2"}, {Name: "password", Value: "s3cret"}, {Name: "pcmk_host_list", Value: "n2"}}}); err != nil {
		t.Fatal(err)
	}
	for _, r := range c.backend.Config().FenceDevices() {
		for _, nv := range r.Params {
			if nv.Name == "password" && (!nv.Secret || nv.Value != "s3cret") {
				t.Errorf("stored password: %+v, want the value kept and marked secret", nv)
			}
		}
	}
	y, err := c.client.ConfigYAML(ctx)
	if err != nil || strings.Contains(string(y), "s3cret") {
		t.Errorf("config export shows the password (%v):\n%s", err, y)
	}
}
