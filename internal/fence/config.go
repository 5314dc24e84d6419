package fence

import (
	"errors"
	"fmt"
	"slices"
	"strings"

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

// TopologyFor is TopologyFromConfig for the fencer of node: a device that
// node may not run (Usable) stays in the topology, so levels naming it
// still validate, but is marked Unusable: the fencer then never runs it
// from there (another node may).
func TopologyFor(cfg *model.Config, levels []model.FencingLevel, node string) (Topology, error) {
	t, err := TopologyFromConfig(cfg, levels)
	for _, d := range t.Devices {
		d.Unusable = Usable(cfg, d.ID, node)
	}
	return t, err
}

// Usable says whether node may run fence device id, as Pacemaker's fencer
// decides which devices a node registers: any configured device whose
// host list covers the target, from any node, whether or not the device
// resource is started there, unless the device is disabled
// (target-role=Stopped on it or a group or clone holding it) or banned
// from node (a location constraint of it, or of its group or clone,
// naming node with a negative score; with symmetric-cluster=false, no
// location constraint naming node with a positive score). Rule-based
// locations are not evaluated. It returns "" when node may run it, else
// why, in a few words. It is pure.
func Usable(cfg *model.Config, id, node string) string {
	ids := []string{id}
	for p := model.ParentOf(cfg.Resources, id); p != nil; p = model.ParentOf(cfg.Resources, p.ID) {
		ids = append(ids, p.ID)
	}
	for _, x := range ids {
		if r := model.FindResource(cfg.Resources, x); r != nil && strings.EqualFold(r.Meta["target-role"], "stopped") {
			if x == id {
				return fmt.Sprintf("device %s is disabled (target-role=Stopped)", id)
			}
			return fmt.Sprintf("device %s is disabled (target-role=Stopped on %s)", id, x)
		}
	}
	allowed := model.ParseClusterOptions(cfg.Properties).SymmetricCluster
	for _, l := range cfg.Locations {
		if l.Node != node || len(l.Rules) > 0 || !slices.Contains(ids, l.Resource) {
			continue
		}
		if l.Score < 0 {
			return fmt.Sprintf("device %s is banned from %s (location %s, score %s)", id, node, l.ID, l.Score)
		}
		if l.Score > 0 {
			allowed = true
		}
	}
	if !allowed {
		return fmt.Sprintf("device %s may not run on %s (symmetric-cluster=false and no location allows it)", id, node)
	}
	return ""
}
