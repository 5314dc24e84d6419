package model

import "maps"

// PlanningProperties returns the cluster properties the scheduler plans
// with: props itself, or, with stonith enabled, a copy with have-watchdog
// set, because an agent that cannot renew its lease stops its resources
// (self-fencing on lease expiry is watchdog fencing, Pacemaker's
// have-watchdog): the scheduler may rely on it, and the fence actions it
// plans complete when the node turns offline. The controller plans with
// them, and so does every explanation of its plan (VM states).
func PlanningProperties(props map[string]string) map[string]string {
	if !ParseClusterOptions(props).StonithEnabled {
		return props
	}
	out := maps.Clone(props)
	if out == nil {
		out = map[string]string{}
	}
	out["have-watchdog"] = "true"
	return out
}
