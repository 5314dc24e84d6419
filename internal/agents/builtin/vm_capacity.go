package builtin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// vmCapacity publishes this host's capacity as its libvirtd reports it
// (logical CPUs, memory in MiB) as the node attributes
// model.AttrVMHostCPUs and model.AttrVMHostMemory, once per agent process
// (VM HA places VMs by it). Failures are ignored: the next operation
// tries again.
func (c *Class) vmCapacity(ctx context.Context, p *vmParams) {
	if c.cfg.Attrs == nil {
		return
	}
	c.mu.Lock()
	_, haveCPUs := c.published[model.AttrVMHostCPUs]
	_, haveMem := c.published[model.AttrVMHostMemory]
	c.mu.Unlock()
	if haveCPUs && haveMem {
		return
	}
	s, res := p.connect(ctx)
	if res != nil {
		return
	}
	defer s.close()
	_, memKiB, cpus, _, _, _, _, _, err := s.lv.NodeGetInfo()
	if err != nil || cpus <= 0 {
		return
	}
	c.publish(ctx, map[string]string{model.AttrVMHostCPUs: strconv.Itoa(int(cpus)),
		model.AttrVMHostMemory: strconv.FormatUint(memKiB/1024, 10)})
}

// vmNeeds publishes what the VM needs, read from its domain XML: its
// virtual CPUs and its memory in MiB, as the node attributes
// model.VMNeedsAttrs(id) (VM HA places the VM by them against the hosts'
// capacity). Nothing is published when the XML cannot be read or lacks
// either (the start or validate-all reports a bad file).
func (c *Class) vmNeeds(ctx context.Context, id string, p *vmParams) {
	if c.cfg.Attrs == nil || id == "" || p.xmlPath == "" {
		return
	}
	_, d, res := p.parseXML()
	if res != nil {
		return
	}
	cpus, mem, err := d.needs()
	if err != nil {
		return
	}
	cpuAttr, memAttr := model.VMNeedsAttrs(id)
	c.publish(ctx, map[string]string{cpuAttr: strconv.Itoa(cpus), memAttr: strconv.FormatUint(mem, 10)})
}

// errNoNeeds is returned by needs when the XML lacks <vcpu> or <memory>.
var errNoNeeds = errors.New("builtin: domain xml has no <vcpu> or <memory>")

// memoryUnits are libvirt's memory units in bytes (formatdomain: "unit").
var memoryUnits = map[string]uint64{
	"b": 1, "bytes": 1, "kb": 1000, "k": 1 << 10, "kib": 1 << 10, "mb": 1000 * 1000, "m": 1 << 20, "mib": 1 << 20,
	"gb": 1000 * 1000 * 1000, "g": 1 << 30, "gib": 1 << 30, "tb": 1000 * 1000 * 1000 * 1000, "t": 1 << 40, "tib": 1 << 40,
}

// needs returns the domain's virtual CPUs and its memory in MiB (rounded
// up), as libvirt reads <vcpu> and <memory unit=...> (KiB by default).
func (d *domainXML) needs() (cpus int, memMiB uint64, err error) {
	if strings.TrimSpace(d.VCPU) == "" || strings.TrimSpace(d.Memory.Value) == "" {
		return 0, 0, errNoNeeds
	}
	cpus, err = strconv.Atoi(strings.TrimSpace(d.VCPU))
	if err != nil || cpus <= 0 {
		return 0, 0, fmt.Errorf("builtin: <vcpu> %q is not a positive number", d.VCPU)
	}
	unit := strings.ToLower(strings.TrimSpace(d.Memory.Unit))
	if unit == "" {
		unit = "kib"
	}
	scale, ok := memoryUnits[unit]
	if !ok {
		return 0, 0, fmt.Errorf("builtin: <memory unit=%q> is not a libvirt unit", d.Memory.Unit)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(d.Memory.Value), 10, 64)
	if err != nil || v == 0 || v > math.MaxUint64/scale {
		return 0, 0, fmt.Errorf("builtin: <memory> %q is not a positive number", d.Memory.Value)
	}
	bytes := v * scale
	return cpus, (bytes + 1<<20 - 1) >> 20, nil
}
