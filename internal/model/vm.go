package model

// VM high availability's words (internal/vmha acts on them; the CLI and
// the API set them): a VM is a primitive of builtin:vm or of
// ocf:heartbeat:VirtualDomain.
const (
	// MetaHALevel is a VM's HA level: HALevelNeverStop or HALevelNone
	// (the default).
	MetaHALevel = "ha-level"
	// MetaVMStopReason says why the cluster stopped a VM for good (set
	// with target-role=Stopped; "vm start" removes it).
	MetaVMStopReason = "vm-stop-reason"
	// MetaVMHASuspended keeps the HA level "vm stop --keep-ha=false"
	// replaced with None; "vm start" restores it.
	MetaVMHASuspended = "vm-ha-suspended"
	// MetaVMDestroy ("true") on a stop of builtin:vm destroys the domain
	// at once, without a graceful shutdown: a host's self-fence under
	// vm-ha-strategy Force sets it (an operation meta-attribute: the
	// executor runs a stop with the start's parameters).
	MetaVMDestroy = "vm-destroy"
	// ParamVMStorage is builtin:vm's storage parameter: VMStorageShared or
	// VMStorageLocal (the default).
	ParamVMStorage = "storage"

	// AttrVMHostCPUs and AttrVMHostMemory are the node attributes
	// builtin:vm publishes from its libvirtd: the host's logical CPUs and
	// memory in MiB (VM HA's capacity).
	AttrVMHostCPUs   = "vm-host-cpus"
	AttrVMHostMemory = "vm-host-memory"
	// AttrVMCPUsPrefix and AttrVMMemoryPrefix, followed by a VM's id,
	// name the node attributes builtin:vm publishes from the VM's domain
	// XML: its virtual CPUs (<vcpu>) and memory in MiB (<memory>), the
	// VM's own needs (see VMNeedsAttrs).
	AttrVMCPUsPrefix   = "vm-cpus-"
	AttrVMMemoryPrefix = "vm-memory-"
	// AttrVMUnknownPrefix, followed by a VM's id, names the node attribute
	// builtin:vm sets while the host's libvirtd does not answer but the
	// VM's qemu process still runs there: its value says why the VM's
	// state is unknown (empty once libvirtd answers again). VM HA shows
	// the VM Unknown; the monitor succeeds, so nothing restarts it.
	AttrVMUnknownPrefix = "vm-unknown-"

	HALevelNeverStop = "NeverStop"
	HALevelNone      = "None"
	VMStorageShared  = "shared"
	VMStorageLocal   = "local"
)

// VMNeedsAttrs returns the names of the node attributes holding the
// needs of VM id read from its domain XML: virtual CPUs and memory in MiB.
func VMNeedsAttrs(id string) (cpus, memory string) {
	return AttrVMCPUsPrefix + id, AttrVMMemoryPrefix + id
}

// IsVM reports whether r is a VM: a primitive of builtin:vm or of
// Pacemaker's ocf:heartbeat:VirtualDomain (IsVMAgent).
func (r *Resource) IsVM() bool {
	return r.Kind == KindPrimitive && IsVMAgent(r.Class, r.Type)
}

// IsVMAgent reports whether an agent (class, type) runs a VM: builtin:vm,
// or ocf:*:VirtualDomain (resource-agents' VirtualDomain, unmodified).
func IsVMAgent(class, typ string) bool {
	return (class == "builtin" && typ == "vm") || (class == "ocf" && typ == VirtualDomainType)
}

// VirtualDomainType is resource-agents' libvirt agent
// (ocf:heartbeat:VirtualDomain).
const VirtualDomainType = "VirtualDomain"

// MetaVMStorage is a VirtualDomain VM's storage (VMStorageShared, the
// default, or VMStorageLocal): VirtualDomain has no storage parameter of
// its own, and Pacemaker recovers it on another node, as for a disk every
// node reaches.
const MetaVMStorage = "vm-storage"

// VMStorage returns a VM's storage: builtin:vm's storage parameter
// (VMStorageLocal unless shared), or a VirtualDomain's meta-attribute
// MetaVMStorage (VMStorageShared unless local).
func (r *Resource) VMStorage() string {
	if r.Class == "ocf" {
		if r.Meta[MetaVMStorage] == VMStorageLocal {
			return VMStorageLocal
		}
		return VMStorageShared
	}
	for _, p := range r.Params {
		if p.Name == ParamVMStorage && p.Value == VMStorageShared {
			return VMStorageShared
		}
	}
	return VMStorageLocal
}
