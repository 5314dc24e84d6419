package builtin

import (
	"context"
	"strconv"

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
