// Package fence decides and carries out fencing: which fence device, at
// which level, fences a target next (pure), and the Fencer that runs the
// fence agents through the stonith class and records every attempt.
//
// # The model
//
// A fence device (Device, from a stonith-class resource's parameters by
// ParseDevice) is a fence agent with its parameters plus Pacemaker's
// pcmk_* attributes: which targets it can fence (pcmk_host_list,
// pcmk_host_map and pcmk_host_check with Pacemaker's defaults: static-list
// when a list or map is set, else dynamic-list when the agent supports
// list, else status, else none), the parameter that carries the target's
// port (pcmk_host_argument: port, else plug, else none, from the agent's
// meta-data), delays (pcmk_delay_base, per target or general, plus a
// random part below pcmk_delay_max), and per action its agent action,
// timeout and retries (pcmk_<action>_action/_timeout/_retries). The
// cluster's options (Options: stonith-action, stonith-timeout,
// stonith-max-attempts a.k.a. fencing-max-attempts, priority-fencing-delay)
// come from the properties through model.ParseClusterOptions and OptionsFrom.
//
// The topology is a list of Levels per target. Stages orders what is
// tried for a target: its levels by index, or without levels every device
// that can fence it, one after another. Next is the pure core: from the
// stages, the action and the Outcomes so far it returns the next Step
// (device and action) or the Verdict: a stage succeeds when every one of
// its devices confirmed; a failed device fails its stage and the next
// stage is tried; when none is left, fencing failed. A reboot through a
// level of several devices is off on each, then on on each.
//
// # The shell
//
// Fencer.Fence runs one operation: it validates the request, resolves the
// capable devices (running list or status for dynamic host checks), then
// loops on Next, running each step through the Runner (the stonith class)
// with the device's port, delay, timeout and retries. A fence is confirmed
// only when the agent says so (exit code 0 for off/reboot, after which
// fence agents have checked the power state). Every agent run is one Entry
// in the bounded History (target, action, device, level, origin, result,
// start and end). stonith-max-attempts failed operations in a row stop
// further attempts on a target until Reset.
//
// The caller owns when to fence: the leader's controller plans it, and
// the node runtime (internal/node, fence.go) runs each operation through
// Fence with the devices and levels of the replicated configuration
// (TopologyFor: any configured device, started anywhere or not, except
// one that is disabled or banned from the node, Usable; another node may
// run it), writes every attempt to the replicated fence
// history and marks a target a device confirmed as fenced. Fencer.Submit
// runs an operation without blocking the caller's loop.
//
// Example:
//
//	cls, _ := stonith.New(stonith.DefaultConfig())
//	f, _ := fence.New(fence.Config{Runner: cls})
//	ipmi, _ := fence.ParseDevice("ipmi-n2", "fence_ipmilan", map[string]string{
//		"ip": "10.0.9.2", "username": "admin", "password": "secret", "lanplus": "1",
//		"pcmk_host_list": "n2"})
//	_ = f.SetTopology(fence.Topology{Devices: []*fence.Device{ipmi},
//		Nodes: []string{"n1", "n2"}, Options: fence.DefaultOptions()})
//	res, err := f.Fence(ctx, fence.Request{Target: "n2", Action: "off", Origin: "n1"})
package fence
