package vmha

import (
	"maps"
	"slices"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// maintenance evacuates VM hosts in maintenance: for the scheduler such a
// node is in standby (see the package doc).
func (t *translation) maintenance(opts model.ClusterOptions) {
	if opts.MaintenanceMode {
		return // the whole cluster is left alone, VMs too
	}
	isVM := map[string]bool{}
	for _, vm := range VMs(t.in.Config) {
		isVM[vm.ID] = true
	}
	// A fence device is no service of the host's: it moves away with the
	// standby as anything else, and the host is still a VM host.
	isFence := map[string]bool{}
	for _, r := range t.in.Config.Resources {
		if r.Class == "stonith" {
			isFence[r.ID] = true
		}
	}
	for _, n := range t.in.Config.Nodes {
		if !t.nodeAttrTrue(n, "maintenance") {
			continue
		}
		var vms, others []string
		for id, nodes := range t.where {
			if !slices.Contains(nodes, n.Name) {
				continue
			}
			if isVM[id] {
				vms = append(vms, id)
			} else if !t.hasChildren(id) && !isFence[id] {
				others = append(others, id)
			}
		}
		if len(vms) == 0 {
			continue
		}
		slices.Sort(vms)
		slices.Sort(others)
		if len(others) > 0 {
			t.note("%s: in maintenance with other resources (%s): its VMs are left alone", n.Name, strings.Join(others, " "))
			continue
		}
		t.setNodeAttrs(n.Name, map[string]string{"maintenance": "false", "standby": "true"})
		t.note("%s: VM host in maintenance: evacuated as in standby (%s)", n.Name, strings.Join(vms, " "))
	}
}

// hasChildren reports whether a view id is a group, clone or bundle (its
// leaves are counted instead).
func (t *translation) hasChildren(id string) bool {
	rv, ok := t.rsc[id]
	return ok && len(rv.Children) > 0
}

// nodeAttrTrue reads a node attribute as the scheduler does: the status'
// transient value over the configuration's.
func (t *translation) nodeAttrTrue(n model.Node, name string) bool {
	v := n.Attributes[name]
	if t.in.Status != nil {
		for _, ns := range t.in.Status.Nodes {
			if ns.Name == n.Name {
				if sv, ok := ns.Attributes[name]; ok {
					v = sv
				}
			}
		}
	}
	switch strings.ToLower(v) {
	case "true", "on", "yes", "y", "1":
		return true
	}
	return false
}

// nodeAttr returns a status attribute of a node.
func (t *translation) nodeAttr(node, name string) string {
	if t.in.Status == nil {
		return ""
	}
	for _, ns := range t.in.Status.Nodes {
		if ns.Name == node {
			return ns.Attributes[name]
		}
	}
	return ""
}

// setNodeAttrs overrides transient attributes of a node in the status
// copy.
func (t *translation) setNodeAttrs(node string, attrs map[string]string) {
	st := t.status()
	for i := range st.Nodes {
		if st.Nodes[i].Name == node {
			st.Nodes[i].Attributes = maps.Clone(st.Nodes[i].Attributes)
			if st.Nodes[i].Attributes == nil {
				st.Nodes[i].Attributes = map[string]string{}
			}
			maps.Copy(st.Nodes[i].Attributes, attrs)
			return
		}
	}
	st.Nodes = append(st.Nodes, model.NodeStatus{Name: node, Attributes: maps.Clone(attrs)})
}

// capacity gives each VM its needs from its domain XML (unless its
// utilization is configured) and VM hosts their libvirt capacity, and
// turns utilization placement on when a VM has needs.
func (t *translation) capacity(opts model.ClusterOptions) {
	needs := false
	for _, vm := range VMs(t.in.Config) {
		for i := range t.in.Config.Resources {
			r := &t.in.Config.Resources[i]
			if r.ID != vm.ID {
				continue
			}
			if t.xmlNeeds(i) {
				needs = true
			}
			if len(t.out.Config.Resources[i].Utilization) > 0 {
				needs = true
			}
		}
	}
	if !needs {
		return
	}
	if opts.PlacementStrategy == "default" {
		t.config().Properties["placement-strategy"] = "utilization"
		t.note("placement-strategy: utilization (VMs declare their needs)")
	}
	for i, n := range t.in.Config.Nodes {
		add := map[string]string{}
		for key, attr := range map[string]string{"cpu": AttrHostCPUs, "memory": AttrHostMemory} {
			if _, set := n.Utilization[key]; set {
				continue
			}
			if v := t.nodeAttr(n.Name, attr); v != "" {
				add[key] = v
			}
		}
		if len(add) == 0 {
			continue
		}
		cfg := t.config()
		u := maps.Clone(cfg.Nodes[i].Utilization)
		if u == nil {
			u = map[string]string{}
		}
		maps.Copy(u, add)
		cfg.Nodes[i].Utilization = u
		t.note("%s: capacity from libvirt: cpu=%s memory=%s", n.Name, u["cpu"], u["memory"])
	}
}

// xmlNeeds sets the utilization cpu and memory of the VM at index i of
// the configuration's resources, where not configured, to what its domain
// XML asks (the node attributes model.VMNeedsAttrs that builtin:vm
// publishes; the first node in configuration order that has them). It
// reports whether it set any.
func (t *translation) xmlNeeds(i int) bool {
	r := &t.in.Config.Resources[i]
	cpuAttr, memAttr := model.VMNeedsAttrs(r.ID)
	add := map[string]string{}
	for key, attr := range map[string]string{"cpu": cpuAttr, "memory": memAttr} {
		if _, set := r.Utilization[key]; set {
			continue
		}
		for _, n := range t.in.Config.Nodes {
			if v := t.nodeAttr(n.Name, attr); v != "" {
				add[key] = v
				break
			}
		}
	}
	if len(add) == 0 {
		return false
	}
	cfg := t.config()
	u := maps.Clone(cfg.Resources[i].Utilization)
	if u == nil {
		u = map[string]string{}
	}
	maps.Copy(u, add)
	cfg.Resources[i].Utilization = u
	t.note("%s: needs from its domain XML: cpu=%s memory=%s", r.ID, u["cpu"], u["memory"])
	return true
}
