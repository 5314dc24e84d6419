package fence

import (
	"errors"

	"github.com/paceline/paceline/internal/model"
)

// TopologyFromConfig builds the fencer's topology from the cluster
// configuration: a Device for every stonith-class primitive (its
// parameters, secret ones included: they reach the agent on stdin only;
// per-node rule parameters are not applied), the levels (checked by
// Topology.Validate with Config.ValidateFencingLevels), the member nodes as the possible targets,
// and the fencing options of the properties
// (model.ParseClusterOptions). Every problem is reported at
// once.
func TopologyFromConfig(cfg *model.Config, levels []model.FencingLevel) (Topology, error) {
	var errs []error
	t := Topology{}
	for _, r := range cfg.FenceDevices() {
		d, err := deviceOf(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		t.Devices = append(t.Devices, d)
	}
	for _, n := range cfg.Nodes {
		if n.Type == "" || n.Type == model.NodeMember || n.Type == model.NodeRemote {
			t.Nodes = append(t.Nodes, n.Name)
		}
	}
	for _, l := range levels {
		t.Levels = append(t.Levels, Level{Target: l.Target, Index: l.Index, Devices: append([]string(nil), l.Devices...)})
	}
	t.Options = OptionsFrom(model.ParseClusterOptions(cfg.Properties))
	if len(errs) == 0 {
		if err := t.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return t, errors.Join(errs...)
}

// deviceOf parses a stonith resource of the configuration as a Device.
func deviceOf(r *model.Resource) (*Device, error) {
	params := map[string]string{}
	for _, nv := range r.Params {
		params[nv.Name] = nv.Value
	}
	return ParseDevice(r.ID, r.Type, params)
}
