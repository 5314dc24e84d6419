package cib

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// bundle reads a <bundle>: one of <docker>, <podman> or <rkt>, an optional
// <network> with port mappings, optional <storage>, and at most one
// <primitive> managed inside the containers.
func (p *parser) bundle(n *node, r *model.Resource) error {
	r.Kind = model.KindBundle
	b := &model.Bundle{}
	var rt *node
	for _, name := range []string{"docker", "rkt", "podman"} {
		if rt = n.child(name); rt != nil {
			b.Runtime = name
			break
		}
	}
	if rt == nil {
		return fmt.Errorf("bundle '%s': no <docker>, <podman> or <rkt> element", r.ID)
	}
	var err error
	pm := rt.get("promoted-max")
	if pm == "" {
		pm = rt.get("masters")
	}
	if b.PromotedMax, err = bundleInt(r.ID, "promoted-max", pm); err != nil {
		return err
	}
	if b.Replicas, err = bundleInt(r.ID, "replicas", rt.get("replicas")); err != nil {
		return err
	}
	if b.ReplicasPerHost, err = bundleInt(r.ID, "replicas-per-host", rt.get("replicas-per-host")); err != nil {
		return err
	}
	b.Image = rt.get("image")
	b.Network = rt.get("network")
	b.Options = rt.get("options")
	b.RunCommand = rt.get("run-command")
	if net := n.child("network"); net != nil {
		b.IPRangeStart = net.get("ip-range-start")
		b.HostNetmask = net.get("host-netmask")
		b.HostInterface = net.get("host-interface")
		b.ControlPort = net.get("control-port")
		for _, c := range net.children {
			if c.name != "port-mapping" {
				continue
			}
			b.Ports = append(b.Ports, model.BundlePort{
				ID: c.get("id"), Port: c.get("port"), InternalPort: c.get("internal-port"), Range: c.get("range"),
			})
		}
	}
	if st := n.child("storage"); st != nil {
		for _, c := range st.children {
			if c.name != "storage-mapping" {
				continue
			}
			b.Storage = append(b.Storage, model.BundleMount{
				ID: c.get("id"), SourceDir: c.get("source-dir"), SourceDirRoot: c.get("source-dir-root"),
				TargetDir: c.get("target-dir"), Options: c.get("options"),
			})
		}
	}
	r.Bundle = b
	for _, c := range n.children {
		if c.name != "primitive" {
			continue
		}
		if len(r.Children) > 0 {
			return fmt.Errorf("bundle '%s': more than one primitive inside", r.ID)
		}
		child, err := p.resource(c, "bundle")
		if err != nil {
			return err
		}
		r.Children = append(r.Children, child)
	}
	return nil
}

// bundleInt reads a non-negative count ("" is 0).
func bundleInt(id, name, v string) (int, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	i, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("bundle '%s': %s %q is not a number", id, name, v)
	}
	if i < 0 {
		i = 0
	}
	return i, nil
}
