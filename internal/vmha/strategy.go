package vmha

import "github.com/paceline/paceline/internal/model"

// HoldsLostHost reports whether a host whose lease ran out must stay
// unclean until it is fenced or confirmed down, rather than be taken as
// stopped once its lease and self-fence deadline passed: under vm-ha with
// the Permissive strategy a host that may still run a VM keeps it running
// (SelfFence), so only a fence device or an operator can say it stopped.
// history is the host's operation history (a VM's entries name
// builtin:vm).
func HoldsLostHost(opts model.ClusterOptions, history []model.ResourceHistory) bool {
	if !opts.VMHA || opts.VMHAStrategy != model.VMHAPermissive {
		return false
	}
	for _, rh := range history {
		if IsVMAgent(rh.Class, rh.Type) && mayRun(rh) {
			return true
		}
	}
	return false
}

// mayRun reports whether an operation history leaves the resource maybe
// active: its last one-shot operation is a start, a migration to here, a
// probe that found it running, or one whose result is not in.
func mayRun(rh model.ResourceHistory) bool {
	var last *model.OpRecord
	for i := range rh.Ops {
		op := &rh.Ops[i]
		if op.Interval != 0 {
			continue
		}
		if last == nil || op.CallID > last.CallID {
			last = op
		}
	}
	if last == nil {
		return false
	}
	if last.OpStatus == -1 { // pending
		return true
	}
	switch last.Operation {
	case "start", "migrate_from", "promote", "demote":
		return last.RC == 0 && last.OpStatus == 0
	case "monitor":
		return last.RC == 0 || last.RC == 8
	case "migrate_to":
		return last.RC != 0 // a failed migration leaves it here
	case "stop":
		return last.RC != 0 || last.OpStatus != 0
	}
	return false
}

// SelfFence is what a host does with a VM when it loses its lease.
type SelfFence int

const (
	// SelfFenceStop stops it as any resource (vm-ha off: VMs are ordinary
	// resources, stopped gracefully).
	SelfFenceStop SelfFence = iota
	// SelfFenceKeep leaves it running (Permissive: the cluster waits for
	// a fence or an operator before it starts the VM elsewhere).
	SelfFenceKeep
	// SelfFenceDestroy destroys it at once, without a graceful shutdown
	// (Force: the cluster recovers it right after the lease).
	SelfFenceDestroy
)

func (s SelfFence) String() string {
	switch s {
	case SelfFenceKeep:
		return "keep"
	case SelfFenceDestroy:
		return "destroy"
	}
	return "stop"
}

// SelfFenceAction is what a host does with its VMs when it loses its
// lease, by the cluster options.
func SelfFenceAction(opts model.ClusterOptions) SelfFence {
	switch {
	case !opts.VMHA:
		return SelfFenceStop
	case opts.VMHAStrategy == model.VMHAForce:
		return SelfFenceDestroy
	}
	return SelfFenceKeep
}

// DestroyMeta returns a stop's meta-attributes that make builtin:vm
// destroy the domain at once (no graceful shutdown): meta with
// model.MetaVMDestroy=true, copied.
func DestroyMeta(meta map[string]string) map[string]string {
	out := make(map[string]string, len(meta)+1)
	for k, v := range meta {
		out[k] = v
	}
	out[model.MetaVMDestroy] = "true"
	return out
}
