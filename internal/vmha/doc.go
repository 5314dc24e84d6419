// Package vmha is VM high availability as ZStack's users know it (an HA
// level per VM, a global switch, shared or local storage, a Permissive or
// Force strategy for lost hosts, maintenance that evacuates a host,
// explicit stops, capacity), translated into the scheduler's input the
// way Pacemaker would express it. It is pure: values in, values out; no
// clock, disk, network or goroutines.
//
// A VM is a top-level primitive of builtin:vm. Its HA level is the meta
// attribute ha-level (NeverStop or None, default None); its storage the
// parameter storage (shared or local, default local). The cluster
// properties are vm-ha (default true; false treats every VM as None) and
// vm-ha-strategy (Permissive, the default, or Force), read through
// model.ClusterOptions.
//
// Translate rewrites a copy of the configuration and status before the
// scheduler sees them:
//
//   - a None VM that failed (its monitor found it stopped: a crash, a
//     killed qemu, a shutdown from inside) gets target-role=Stopped, and
//     so does a None VM or a local-storage VM whose host is lost
//     (unclean): Output.Stops lists them, with why, for the controller to
//     record in the configuration (meta target-role and vm-stop-reason),
//     so that the VM stays stopped once the failure is cleaned up or the
//     host is back. A NeverStop VM is recovered as Pacemaker recovers any
//     failed resource: in place after a monitor failure, elsewhere after
//     its host was fenced;
//   - a local-storage VM that runs may run only on its host (location
//     -INFINITY on every other node): it is never restarted elsewhere and
//     never migrated;
//   - a shared-storage VM may live-migrate (allow-migrate=true unless set):
//     a move, a standby or a maintenance migrates it;
//   - a node in maintenance whose running resources are all VMs (a VM
//     host) is evacuated: for the scheduler it is in standby instead, so
//     its shared VMs live-migrate away and its local VMs stop (they may
//     run nowhere else). A node that also runs other resources keeps
//     Pacemaker's maintenance (everything there left alone);
//   - capacity: a node's utilization cpu and memory, when not configured,
//     is the host's as its libvirtd reports it (node attributes
//     vm-host-cpus and vm-host-memory that builtin:vm publishes); a VM's
//     utilization cpu and memory, when not configured, is what its domain
//     XML asks (<vcpu>, <memory>: the node attributes vm-cpus-ID and
//     vm-memory-ID that builtin:vm publishes when it probes or monitors
//     the VM). With placement-strategy=default and a VM with utilization
//     the strategy becomes utilization: a VM is not started (nor
//     restarted after its host was lost) where it does not fit, and
//     status says so.
//
// The strategy acts outside the scheduler: under Permissive the
// controller keeps a lost host that may run VMs unclean until it is
// fenced or confirmed down (HoldsLostHost), and the host keeps its VMs
// when it loses its lease; under Force the host destroys its VMs when it
// loses its lease (SelfFence) and the controller recovers them after the
// lease, as any resource.
//
// States derives what status shows for each VM: Starting, Running,
// Stopping, Stopped, Migrating, Unknown (its host is unreachable) or
// Recovering, with the host and the reason.
//
// Example:
//
//	out, err := vmha.Translate(vmha.Input{Config: cfg, Status: st, Now: now})
//	for _, s := range out.Stops { /* record s.VM stopped, s.Reason */ }
//	res, err := sched.Schedule(sched.Input{Config: out.Config, Status: out.Status, Now: now})
package vmha
