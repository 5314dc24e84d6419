package vmha

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/sched"
)

// ErrNoConfig is returned by Translate without a configuration.
var ErrNoConfig = errors.New("vmha: no configuration")

// The meta-attributes, parameters and values a VM is described by (see
// model's).
const (
	MetaHALevel        = model.MetaHALevel
	MetaStopReason     = model.MetaVMStopReason
	MetaSuspendedLevel = model.MetaVMHASuspended
	ParamStorage       = model.ParamVMStorage
	LevelNeverStop     = model.HALevelNeverStop
	LevelNone          = model.HALevelNone
	StorageShared      = model.VMStorageShared
	StorageLocal       = model.VMStorageLocal
)

// Node attributes builtin:vm publishes from its libvirtd (the host's
// capacity): logical CPUs and memory in MiB.
const (
	AttrHostCPUs   = model.AttrVMHostCPUs
	AttrHostMemory = model.AttrVMHostMemory
)

// IsVM reports whether r is a VM: a primitive of builtin:vm or
// ocf:heartbeat:VirtualDomain.
func IsVM(r *model.Resource) bool { return r.IsVM() }

// IsVMAgent reports whether an agent (class, type) runs a VM
// (model.IsVMAgent).
func IsVMAgent(class, typ string) bool { return model.IsVMAgent(class, typ) }

// VM is one VM as the translation reads it.
type VM struct {
	ID string
	// Level is the configured HA level (LevelNone when unset or invalid).
	Level string
	// Storage is StorageShared or StorageLocal.
	Storage string
}

// VMs lists the configuration's VMs (top-level builtin:vm and
// VirtualDomain primitives) in configuration order.
func VMs(cfg *model.Config) []VM {
	var out []VM
	for i := range cfg.Resources {
		r := &cfg.Resources[i]
		if IsVM(r) {
			out = append(out, describe(r))
		}
	}
	return out
}

func describe(r *model.Resource) VM {
	vm := VM{ID: r.ID, Level: LevelNone, Storage: r.VMStorage()}
	if strings.EqualFold(r.Meta[MetaHALevel], LevelNeverStop) {
		vm.Level = LevelNeverStop
	}
	return vm
}

// Input is what Translate reads.
type Input struct {
	Config *model.Config
	Status *model.Status
	// Now is when failures are evaluated (failure-timeout).
	Now time.Time
}

// Output is the scheduler's input and what the controller records.
type Output struct {
	// Config and Status are what the scheduler plans from: the input's
	// own when nothing was translated, copies otherwise (the input is
	// never modified).
	Config *model.Config
	Status *model.Status
	// Stops are the VMs to record as stopped (target-role=Stopped and
	// MetaStopReason), in configuration order.
	Stops []Stop
	// Notes say what was translated, one line each, for logs and tests.
	Notes []string
}

// Stop is a VM the cluster stops for good, and why.
type Stop struct {
	VM     string
	Reason string
}

// Translate turns the VMs' semantics into the scheduler's input (see the
// package doc).
func Translate(in Input) (Output, error) {
	if in.Config == nil {
		return Output{}, ErrNoConfig
	}
	out := Output{Config: in.Config, Status: in.Status}
	vms := VMs(in.Config)
	if len(vms) == 0 {
		return out, nil
	}
	view, err := sched.CurrentView(sched.Input{Config: in.Config, Status: in.Status, Now: in.Now})
	if err != nil {
		return Output{}, fmt.Errorf("vmha: %w", err)
	}
	t := newTranslation(in, view)
	opts := model.ParseClusterOptions(in.Config.Properties)
	for _, vm := range vms {
		t.vm(vm, opts.VMHA)
	}
	t.maintenance(opts)
	t.capacity(opts)
	return t.out, nil
}

// translation is one Translate call's working state: copy-on-write
// copies of the configuration and status.
type translation struct {
	in     Input
	out    Output
	cfgOwn bool
	stOwn  bool
	// rsc are the top-level primitives' views by id; where lists the
	// nodes each resource (clone instances by their base id) is active on.
	rsc       map[string]sched.ResourceView
	where     map[string][]string
	nodeState map[string]string
}

func newTranslation(in Input, view sched.ClusterView) *translation {
	t := &translation{in: in, out: Output{Config: in.Config, Status: in.Status},
		rsc: map[string]sched.ResourceView{}, where: map[string][]string{}, nodeState: map[string]string{}}
	for _, n := range view.Nodes {
		t.nodeState[n.Name] = n.State
	}
	for _, rv := range view.Resources {
		t.rsc[rv.ID] = rv
	}
	var walk func(rvs []sched.ResourceView)
	walk = func(rvs []sched.ResourceView) {
		for _, rv := range rvs {
			walk(rv.Children)
			t.where[rv.ID] = append(t.where[rv.ID], rv.Nodes...)
		}
	}
	walk(view.Resources)
	return t
}

// lost reports whether a node is unclean: unreachable, maybe still
// running what it ran.
func (t *translation) lost(node string) bool { return strings.HasPrefix(t.nodeState[node], "UNCLEAN") }

func (t *translation) note(format string, args ...any) {
	t.out.Notes = append(t.out.Notes, fmt.Sprintf(format, args...))
}

// config returns the configuration to change, copied on first use.
func (t *translation) config() *model.Config {
	if !t.cfgOwn {
		c := *t.in.Config
		c.Resources = slices.Clone(c.Resources)
		c.Locations = slices.Clone(c.Locations)
		c.Nodes = slices.Clone(c.Nodes)
		c.Properties = maps.Clone(c.Properties)
		if c.Properties == nil {
			c.Properties = map[string]string{}
		}
		t.out.Config, t.cfgOwn = &c, true
	}
	return t.out.Config
}

// status returns the status to change, copied on first use.
func (t *translation) status() *model.Status {
	if !t.stOwn {
		s := model.Status{}
		if t.in.Status != nil {
			s = *t.in.Status
		}
		s.Nodes = slices.Clone(s.Nodes)
		t.out.Status, t.stOwn = &s, true
	}
	return t.out.Status
}

// setMeta sets a meta-attribute of a top-level resource in the copy.
func (t *translation) setMeta(id, name, value string) {
	cfg := t.config()
	for i := range cfg.Resources {
		if cfg.Resources[i].ID == id {
			cfg.Resources[i].Meta = maps.Clone(cfg.Resources[i].Meta)
			if cfg.Resources[i].Meta == nil {
				cfg.Resources[i].Meta = map[string]string{}
			}
			cfg.Resources[i].Meta[name] = value
			return
		}
	}
}

func (t *translation) meta(id string) map[string]string {
	for i := range t.in.Config.Resources {
		if t.in.Config.Resources[i].ID == id {
			return t.in.Config.Resources[i].Meta
		}
	}
	return nil
}

// vm translates one VM.
func (t *translation) vm(vm VM, ha bool) {
	meta := t.meta(vm.ID)
	rv := t.rsc[vm.ID]
	stopped := strings.EqualFold(meta["target-role"], "Stopped")
	if !stopped {
		if why := t.stopReason(vm, rv, ha); why != "" {
			t.setMeta(vm.ID, "target-role", "Stopped")
			t.setMeta(vm.ID, MetaStopReason, why)
			t.out.Stops = append(t.out.Stops, Stop{VM: vm.ID, Reason: why})
			t.note("%s: stopped for good: %s", vm.ID, why)
		}
	}
	if !t.stickinessSet(meta) {
		t.setMeta(vm.ID, "resource-stickiness", Stickiness)
		t.note("%s: resource-stickiness=%s", vm.ID, Stickiness)
	}
	switch vm.Storage {
	case StorageShared:
		if _, set := meta["allow-migrate"]; !set {
			t.setMeta(vm.ID, "allow-migrate", "true")
			t.note("%s: shared storage: allow-migrate=true", vm.ID)
		}
	case StorageLocal:
		t.pinLocal(vm, rv)
	}
}

// Stickiness is a VM's resource-stickiness unless the VM or the
// resource defaults set one: a running VM stays where it runs when another
// host fails, joins or comes back (a balance of equal scores would
// otherwise restart or migrate healthy VMs); a move (INFINITY), a
// standby, a maintenance or a ban still moves it.
const Stickiness = "1000"

// stickinessSet reports whether the VM's meta-attributes or the resource
// defaults (the map or any default set) set its stickiness.
func (t *translation) stickinessSet(meta map[string]string) bool {
	has := func(m map[string]string) bool {
		_, a := m["resource-stickiness"]
		_, b := m["stickiness"]
		return a || b
	}
	if has(meta) || has(t.in.Config.RscDefaults) {
		return true
	}
	for _, set := range t.in.Config.RscDefaultSets {
		for _, nv := range set.Values {
			if nv.Name == "resource-stickiness" || nv.Name == "stickiness" {
				return true
			}
		}
	}
	return false
}

// stopReason says why a VM that should run is stopped for good, or "".
func (t *translation) stopReason(vm VM, rv sched.ResourceView, ha bool) string {
	none := "ha-level None"
	if !ha {
		vm.Level, none = LevelNone, "vm-ha=false"
	}
	gone := t.lostRuns(vm.ID)
	for _, n := range append(slices.Clone(rv.Nodes), gone...) {
		if !t.lost(n) && !slices.Contains(gone, n) {
			continue
		}
		switch {
		case vm.Level == LevelNone:
			return fmt.Sprintf("host %s lost (%s)", n, none)
		case vm.Storage == StorageLocal:
			return fmt.Sprintf("host %s lost (local storage: the VM can run nowhere else)", n)
		}
	}
	if rv.Failed && vm.Level == LevelNone {
		if len(rv.Nodes) > 0 {
			return fmt.Sprintf("stopped by itself on %s (%s)", rv.Nodes[0], none)
		}
		return "failed (" + none + ")"
	}
	return ""
}

// lostRuns lists the nodes out of the cluster whose operation history
// says the VM may still run there (mayRun). With stonith-enabled=false
// the scheduler takes a lost node for cleanly offline at once and no
// longer counts the VM active there; the VM's rules still apply to it (a
// local-storage or None VM is stopped for good, not started elsewhere).
func (t *translation) lostRuns(id string) []string {
	if t.in.Status == nil {
		return nil
	}
	var out []string
	for _, ns := range t.in.Status.Nodes {
		if ns.InCluster == "true" {
			continue
		}
		for _, rh := range ns.Resources {
			if rh.ID == id && mayRun(rh) {
				out = append(out, ns.Name)
			}
		}
	}
	return out
}

// pinLocal keeps a running local-storage VM on its host: one location
// whose rule bans every other node (#uname ne HOST), however many hosts
// the cluster has.
func (t *translation) pinLocal(vm VM, rv sched.ResourceView) {
	if len(rv.Nodes) == 0 {
		return
	}
	host := rv.Nodes[0]
	cfg := t.config()
	cfg.Locations = append(cfg.Locations, model.Location{ID: "vmha-local-" + vm.ID, Resource: vm.ID,
		Rules: []model.Rule{{ID: "vmha-local-" + vm.ID + "-rule", Score: -model.Infinity, HasScore: true,
			Expressions: []model.Expr{{Attribute: "#uname", Operation: "ne", Value: host}}}}})
	t.note("%s: local storage on %s: banned from every other node", vm.ID, host)
}
