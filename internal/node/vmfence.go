package node

import (
	"github.com/paceline/paceline/internal/executor"
	"github.com/paceline/paceline/internal/store"
	"github.com/paceline/paceline/internal/vmha"
)

// vmSelfFence adapts the stops of a self-fence to the VM HA strategy
// (vmha.SelfFenceAction): under Permissive this host keeps its VMs running
// (the leader waits for a fence or an operator before it starts them
// elsewhere), under Force it destroys them at once (the leader recovers
// them right after the lease, no time for a graceful shutdown). Other
// resources are stopped as always.
func (r *Runtime) vmSelfFence(stops []executor.Op) []executor.Op {
	var action vmha.SelfFence
	r.cfg.Node.Read(func(s *store.Store) { action = vmha.SelfFenceAction(s.Options()) })
	if action == vmha.SelfFenceStop {
		return stops
	}
	out := stops[:0]
	for _, op := range stops {
		if !vmha.IsVMAgent(op.Agent.Class, op.Agent.Name) {
			out = append(out, op)
			continue
		}
		if action == vmha.SelfFenceKeep {
			r.cfg.Logf("node: %s keeps VM %s running (vm-ha-strategy Permissive)", r.cfg.Name, op.Resource)
			continue
		}
		op.Meta = vmha.DestroyMeta(op.Meta)
		r.cfg.Logf("node: %s destroys VM %s (vm-ha-strategy Force)", r.cfg.Name, op.Resource)
		out = append(out, op)
	}
	return out
}
