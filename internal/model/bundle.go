package model

import (
	"errors"
	"fmt"
)

// Bundle is the container part of a bundle resource: Replicas copies of a
// container image, each optionally with its own IP address and, when the
// bundle holds a primitive, a Pacemaker Remote connection into the
// container through which the primitive is managed.
type Bundle struct {
	// Runtime is the container technology: docker, podman or rkt.
	Runtime string `json:"runtime" yaml:"runtime"`
	Image   string `json:"image,omitempty" yaml:"image,omitempty"`
	// Replicas is the number of containers (0: promoted-max if set, else 1).
	Replicas int `json:"replicas,omitempty" yaml:"replicas,omitempty"`
	// ReplicasPerHost caps containers per node (0: 1).
	ReplicasPerHost int `json:"replicas_per_host,omitempty" yaml:"replicas_per_host,omitempty"`
	// PromotedMax makes the inner primitive promotable with at most this
	// many promoted replicas (0: not promotable).
	PromotedMax int `json:"promoted_max,omitempty" yaml:"promoted_max,omitempty"`
	// Network is the container network mode; Options extra runtime
	// options; RunCommand the command run inside the container.
	Network    string `json:"network,omitempty" yaml:"network,omitempty"`
	Options    string `json:"options,omitempty" yaml:"options,omitempty"`
	RunCommand string `json:"run_command,omitempty" yaml:"run_command,omitempty"`
	// IPRangeStart gives each replica an address, counting up from this
	// one; HostNetmask and HostInterface configure those addresses.
	IPRangeStart  string `json:"ip_range_start,omitempty" yaml:"ip_range_start,omitempty"`
	HostNetmask   string `json:"host_netmask,omitempty" yaml:"host_netmask,omitempty"`
	HostInterface string `json:"host_interface,omitempty" yaml:"host_interface,omitempty"`
	// ControlPort is the Pacemaker Remote port inside the containers
	// (empty: 3121).
	ControlPort string        `json:"control_port,omitempty" yaml:"control_port,omitempty"`
	Ports       []BundlePort  `json:"ports,omitempty" yaml:"ports,omitempty"`
	Storage     []BundleMount `json:"storage,omitempty" yaml:"storage,omitempty"`
}

// BundlePort maps a host port (or range) into the containers.
type BundlePort struct {
	ID           string `json:"id,omitempty" yaml:"id,omitempty"`
	Port         string `json:"port,omitempty" yaml:"port,omitempty"`
	InternalPort string `json:"internal_port,omitempty" yaml:"internal_port,omitempty"`
	Range        string `json:"range,omitempty" yaml:"range,omitempty"`
}

// BundleMount maps a host directory into the containers.
type BundleMount struct {
	ID        string `json:"id,omitempty" yaml:"id,omitempty"`
	SourceDir string `json:"source_dir,omitempty" yaml:"source_dir,omitempty"`
	// SourceDirRoot is used instead of SourceDir for per-replica
	// subdirectories.
	SourceDirRoot string `json:"source_dir_root,omitempty" yaml:"source_dir_root,omitempty"`
	TargetDir     string `json:"target_dir" yaml:"target_dir"`
	Options       string `json:"options,omitempty" yaml:"options,omitempty"`
}

// bundle checks a bundle: top level, a known runtime, at most one
// primitive inside.
func (v *validator) bundle(r *Resource, parent Kind) {
	id := r.ID
	if parent != "" {
		v.add("resource", id, "kind", fmt.Errorf("a bundle cannot be inside a %s", parent))
	}
	if r.Bundle == nil {
		v.add("resource", id, "bundle", errors.New("bundle without a container"))
		return
	}
	switch r.Bundle.Runtime {
	case "docker", "podman", "rkt":
	default:
		v.add("resource", id, "bundle.runtime", fmt.Errorf("%w %q", ErrInvalidValue, r.Bundle.Runtime))
	}
	if len(r.Children) > 1 {
		v.add("resource", id, "children", fmt.Errorf("bundle has %d children, want at most 1", len(r.Children)))
	}
	for _, ch := range r.Children {
		if ch.Kind != KindPrimitive {
			v.add("resource", id, "children", fmt.Errorf("%q is a %s, not a primitive", ch.ID, ch.Kind))
		}
	}
}
