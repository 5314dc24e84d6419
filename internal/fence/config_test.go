package fence

import (
	"errors"
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
