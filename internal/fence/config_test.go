package fence

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/model"
)

func TestTopologyFromConfigReadsDevicesLevelsNodesAndOptions(t *testing.T) {
	cfg := &model.Config{
		Properties: map[string]string{"stonith-timeout": "30s", "stonith-action": "off"},
		Nodes:      []model.Node{{Name: "n1"}, {Name: "n2"}, {Name: "witness", Type: model.NodePing}},
		Resources: []model.Resource{
			{ID: "ipmi-n2", Kind: model.KindPrimitive, Class: "stonith", Type: "fence_ipmilan", Params: []model.NV{
				{Name: "ip", Value: "10.0.9.2"}, {Name: "password", Value: "pw", Secret: true}, {Name: "pcmk_host_list", Value: "n2"}}},
			{ID: "web", Kind: model.KindPrimitive, Class: "ocf", Provider: "heartbeat", Type: "apache"},
		},
	}
	topo, err := TopologyFromConfig(cfg, []model.FencingLevel{{Target: "n2", Index: 1, Devices: []string{"ipmi-n2"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(topo.Devices) != 1 || topo.Devices[0].Agent != "fence_ipmilan" || topo.Devices[0].Params["password"] != "pw" ||
		!topo.Devices[0].InStaticList("n2") {
		t.Errorf("devices: %+v", topo.Devices)
	}
	if len(topo.Nodes) != 2 || topo.Options.Timeout != 30*time.Second || topo.Options.Action != "off" || len(topo.Levels) != 1 {
		t.Errorf("topology: %+v", topo)
	}

	_, err = TopologyFromConfig(cfg, []model.FencingLevel{{Target: "n2", Index: 1, Devices: []string{"pdu"}}})
	if !errors.Is(err, model.ErrUnknownFenceDevice) {
		t.Errorf("a level naming a missing device: %v", err)
	}
	cfg.Resources[0].Params = append(cfg.Resources[0].Params, model.NV{Name: "pcmk_host_list", Value: "n7"})
	if _, err := TopologyFromConfig(cfg, nil); !errors.Is(err, ErrUnknownTarget) {
		t.Errorf("a device for a node that does not exist: %v", err)
	}
}

// Which node may run a device (Pacemaker's fencer): any node, whether the
// device resource runs there or not, unless the device is disabled or
// banned from that node.
func TestUsable(t *testing.T) {
	dev := func(id string, meta map[string]string) model.Resource {
		return model.Resource{ID: id, Kind: model.KindPrimitive, Class: "stonith", Type: "fence_ipmilan", Meta: meta}
	}
	cfg := &model.Config{
		Resources: []model.Resource{
			dev("ipmi-n1", nil),
			dev("ipmi-off", map[string]string{"target-role": "Stopped"}),
			{ID: "fencers", Kind: model.KindGroup, Meta: map[string]string{"target-role": "stopped"},
				Children: []model.Resource{dev("in-group", nil)}},
			{ID: "fence-clone", Kind: model.KindClone, Children: []model.Resource{dev("cloned", nil)}},
		},
		Locations: []model.Location{
			{ID: "ipmi-n1-not-on-n1", Resource: "ipmi-n1", Node: "n1", Score: -model.Infinity},
			{ID: "ipmi-n1-on-n3", Resource: "ipmi-n1", Node: "n3", Score: 100},
			{ID: "clone-not-n2", Resource: "fence-clone", Node: "n2", Score: -1},
			{ID: "by-rule", Resource: "ipmi-n1", Score: -model.Infinity, Rules: []model.Rule{{Score: -model.Infinity}}},
		},
	}
	for _, c := range []struct{ id, node, want string }{
		{"ipmi-n1", "n2", ""},
		{"ipmi-n1", "n3", ""},
		{"ipmi-n1", "n1", "device ipmi-n1 is banned from n1 (location ipmi-n1-not-on-n1"},
		{"ipmi-off", "n2", "device ipmi-off is disabled (target-role=Stopped)"},
		{"in-group", "n2", "device in-group is disabled (target-role=Stopped on fencers)"},
		{"cloned", "n2", "device cloned is banned from n2 (location clone-not-n2"},
		{"cloned", "n1", ""},
	} {
		if got := Usable(cfg, c.id, c.node); c.want == "" && got != "" || c.want != "" && !strings.HasPrefix(got, c.want) {
			t.Errorf("Usable(%s, %s) = %q, want %q", c.id, c.node, got, c.want)
		}
	}
	cfg.Properties = map[string]string{"symmetric-cluster": "false"}
	if got := Usable(cfg, "ipmi-n1", "n2"); !strings.Contains(got, "symmetric-cluster=false") {
		t.Errorf("opt-in cluster, no location for n2: %q", got)
	}
	if got := Usable(cfg, "ipmi-n1", "n3"); got != "" {
		t.Errorf("opt-in cluster, allowed on n3: %q", got)
	}
	topo, err := TopologyFor(cfg, nil, "n1")
	if err != nil || len(topo.Devices) != 4 || topo.Devices[0].Unusable == "" {
		t.Errorf("TopologyFor n1: %v %+v", err, topo.Devices)
	}
}
