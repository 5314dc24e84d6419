package model

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// FencingLevel is one level of the fencing topology (Pacemaker's
// fencing-level; `paceline fence level add NODE LEVEL DEVICE[,DEVICE]`):
// to fence Target, the fencer tries its levels by ascending Index and a
// level succeeds only when every one of its Devices does.
type FencingLevel struct {
	// Target is the node the level fences.
	Target string `json:"target" yaml:"target"`
	// Index orders the target's levels: 1 first, up to MaxFencingLevel.
	Index int `json:"index" yaml:"index"`
	// Devices are the IDs of stonith-class primitives, run in order.
	Devices []string `json:"devices" yaml:"devices"`
}

// MaxFencingLevel is the highest level index (Pacemaker allows 1 to 9).
const MaxFencingLevel = 9

// Problems ValidateFencingLevels reports, wrapped in a *FieldError.
var (
	ErrUnknownFenceDevice = errors.New("unknown fence device")
	ErrUnknownNode        = errors.New("not a node")
)

// String returns the level as `fence level list` shows it:
// "NODE LEVEL DEVICE[,DEVICE]".
func (l FencingLevel) String() string {
	return fmt.Sprintf("%s %d %s", l.Target, l.Index, strings.Join(l.Devices, ","))
}

// FenceDevices returns the stonith-class primitives of c, at any depth,
// in configuration order.
func (c *Config) FenceDevices() []*Resource {
	var out []*Resource
	var walk func(rs []Resource)
	walk = func(rs []Resource) {
		for i := range rs {
			r := &rs[i]
			if r.Kind == KindPrimitive && r.Class == "stonith" {
				out = append(out, r)
			}
			walk(r.Children)
		}
	}
	walk(c.Resources)
	return out
}

// ValidateFencingLevels checks levels against c: each names a configured
// node as its target (Pacemaker's target patterns and attributes are not
// supported), an index from 1 to MaxFencingLevel that no other level of
// the same target has, and at least one device, each a stonith-class
// primitive of c named once in the level. All problems are returned at
// once, each a *FieldError on object "fencing-level" with ID
// "TARGET/INDEX".
func (c *Config) ValidateFencingLevels(levels []FencingLevel) error {
	v := &validator{}
	nodes := map[string]bool{}
	for _, n := range c.Nodes {
		nodes[n.Name] = true
	}
	devices := map[string]bool{}
	for _, r := range c.FenceDevices() {
		devices[r.ID] = true
	}
	seen := map[string]bool{}
	for _, l := range levels {
		id := fmt.Sprintf("%s/%d", l.Target, l.Index)
		if l.Target == "" {
			v.add("fencing-level", id, "target", errors.New("empty target"))
		} else if !nodes[l.Target] {
			v.add("fencing-level", id, "target", fmt.Errorf("%w: %q", ErrUnknownNode, l.Target))
		}
		if l.Index < 1 || l.Index > MaxFencingLevel {
			v.add("fencing-level", id, "index", fmt.Errorf("%w %d: want 1 to %d", ErrInvalidValue, l.Index, MaxFencingLevel))
		}
		if seen[id] {
			v.add("fencing-level", id, "index", fmt.Errorf("%w: level %d of %s is defined twice", ErrDuplicateID, l.Index, l.Target))
		}
		seen[id] = true
		if len(l.Devices) == 0 {
			v.add("fencing-level", id, "devices", errors.New("no device"))
		}
		inLevel := map[string]bool{}
		for i, d := range l.Devices {
			field := fmt.Sprintf("devices[%d]", i)
			switch {
			case !devices[d]:
				v.add("fencing-level", id, field, fmt.Errorf("%w %q", ErrUnknownFenceDevice, d))
			case inLevel[d]:
				v.add("fencing-level", id, field, fmt.Errorf("%w: %q is named twice", ErrInvalidValue, d))
			}
			inLevel[d] = true
		}
	}
	return errors.Join(v.errs...)
}

// UnfenceDigestsAttr is the node attribute the cluster sets when it
// unfenced a node: the definitions of the unfencing devices then
// (UnfencingDigests). A node whose value differs from the configuration's
// is unfenced again (Pacemaker's #digests-all).
const UnfenceDigestsAttr = "#unfence-digests"

// UnfencingDigests summarises the definitions of c's devices that
// provide unfencing (meta provides=unfencing): "ID:AGENT:DIGEST," for
// each, by ID, the digest over all its parameters (ParamDigest). A
// changed parameter, device added or removed changes it.
func (c *Config) UnfencingDigests() string {
	var out []string
	for _, r := range c.FenceDevices() {
		if r.Meta["provides"] != "unfencing" {
			continue
		}
		params := map[string]string{}
		for _, nv := range r.Params {
			params[nv.Name] = nv.Value
		}
		out = append(out, r.ID+":"+r.Type+":"+ParamDigest(params)+",")
	}
	sort.Strings(out)
	return strings.Join(out, "")
}
