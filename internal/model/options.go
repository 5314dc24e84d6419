package model

import (
	"strconv"
	"strings"
	"time"
)

// ClusterOptions are the cluster properties that change what the
// scheduler, the controller and the node runtime do, parsed once from a
// configuration's properties (ParseClusterOptions): every reader sees
// the same value for the same text. An absent or invalid value takes the
// default, as Pacemaker's option validation does.
type ClusterOptions struct {
	// SymmetricCluster: resources may run anywhere unless a constraint
	// says otherwise (symmetric-cluster, default true).
	SymmetricCluster bool
	// StonithEnabled: lost nodes must be fenced before their resources
	// are recovered (stonith-enabled, default true).
	StonithEnabled bool
	// HaveWatchdog: the cluster's nodes self-fence with a watchdog
	// (have-watchdog, maintained by the cluster, default false).
	HaveWatchdog bool
	// NoQuorumPolicy is what a partition without quorum does: stop
	// (default), freeze, ignore, demote or suicide (no-quorum-policy).
	NoQuorumPolicy string
	// StopOrphanResources and StopOrphanActions: a resource or recurring
	// operation no longer configured is stopped or cancelled (default
	// true).
	StopOrphanResources, StopOrphanActions bool
	// StartFailureIsFatal: a failed start bans the node at once
	// (start-failure-is-fatal, default true).
	StartFailureIsFatal bool
	// MaintenanceMode: nothing is started, stopped or monitored
	// (maintenance-mode, default false).
	MaintenanceMode bool
	// StopAllResources (stop-all-resources, default false).
	StopAllResources bool
	// StartupFencing: nodes never seen are fenced (startup-fencing,
	// default true).
	StartupFencing bool
	// EnableStartupProbes (enable-startup-probes, default true).
	EnableStartupProbes bool
	// PlacementStrategy is default, utilization, minimal or balanced
	// (placement-strategy).
	PlacementStrategy string
	// StonithAction is reboot (default) or off (stonith-action; the
	// deprecated poweroff means off).
	StonithAction string
	// StonithTimeout bounds one fence action of a device that sets no
	// pcmk_<action>_timeout (stonith-timeout, default 60s).
	StonithTimeout time.Duration
	// StonithMaxAttempts is how many fence operations may fail in a row
	// for one target before the fencer stops trying it
	// (stonith-max-attempts, or its newer name fencing-max-attempts;
	// default 10).
	StonithMaxAttempts int
	// PriorityFencingDelay is added before fencing the node that runs the
	// more important resources when a partition's nodes race to fence
	// each other (priority-fencing-delay, default 0: none).
	PriorityFencingDelay time.Duration
	// TwoNode: the cluster was created as two servers without a witness
	// (two-node, set by `paceline init --two-node`; default false): a
	// third voter cannot join (docs/two-node.md).
	TwoNode bool
	// ShutdownLock keeps the resources of a cleanly stopped node on it
	// (shutdown-lock, default false), for at most ShutdownLockLimit when
	// set (shutdown-lock-limit, 0: no limit).
	ShutdownLock      bool
	ShutdownLockLimit time.Duration
	// ClusterRecheckInterval is how often the controller plans again
	// although nothing changed (cluster-recheck-interval, default 15min;
	// 0 disables it).
	ClusterRecheckInterval time.Duration
	// VMHA turns VM high availability on for every VM (vm-ha, default
	// true): a NeverStop VM is restarted, a VM of a lost host recovered or
	// stopped by its storage (internal/vmha).
	VMHA bool
	// VMHAStrategy is Permissive (default: a VM of an unreachable host is
	// recovered only once the host is confirmed down, and the host keeps
	// its VMs when it loses its lease) or Force (recovered after the lease;
	// the host destroys its VMs when it loses it) (vm-ha-strategy).
	VMHAStrategy string
	// BatchLimit is how many operations the controller keeps in flight at
	// once, cluster-wide (batch-limit; 0, the default, is
	// DefaultBatchLimit). Fencing is never held back.
	BatchLimit int
}

// DefaultBatchLimit is the batch-limit of a cluster that sets none (or 0):
// enough to start a small cluster's resources at once, few enough that a
// large one's thousands of first probes do not starve the leader.
const DefaultBatchLimit = 64

// The values of ClusterOptions.VMHAStrategy.
const (
	VMHAPermissive = "Permissive"
	VMHAForce      = "Force"
)

// ParseClusterOptions reads the cluster options from properties (a
// configuration's Properties, or the scheduler's rule-evaluated merge of
// its property sets).
func ParseClusterOptions(props map[string]string) ClusterOptions {
	b := func(name string, def bool) bool {
		switch strings.ToLower(strings.TrimSpace(props[name])) {
		case "true", "on", "yes", "y", "1":
			return true
		case "false", "off", "no", "n", "0":
			return false
		}
		return def
	}
	sel := func(name, def string, values ...string) string {
		v := strings.ToLower(strings.TrimSpace(props[name]))
		for _, ok := range values {
			if v == ok {
				return v
			}
		}
		return def
	}
	dur := func(name string, def time.Duration) time.Duration {
		if d, ok := ParseTimeSpec(props[name]); ok && strings.TrimSpace(props[name]) != "" {
			return d
		}
		return def
	}
	count := func(def int, names ...string) int {
		for _, name := range names {
			if n, err := strconv.Atoi(strings.TrimSpace(props[name])); err == nil && n > 0 {
				return n
			}
		}
		return def
	}
	o := ClusterOptions{
		SymmetricCluster:       b("symmetric-cluster", true),
		StonithEnabled:         b("stonith-enabled", true),
		HaveWatchdog:           b("have-watchdog", false),
		NoQuorumPolicy:         sel("no-quorum-policy", "stop", "stop", "freeze", "ignore", "demote", "suicide"),
		StopOrphanResources:    b("stop-orphan-resources", true),
		StopOrphanActions:      b("stop-orphan-actions", true),
		StartFailureIsFatal:    b("start-failure-is-fatal", true),
		MaintenanceMode:        b("maintenance-mode", false),
		StopAllResources:       b("stop-all-resources", false),
		StartupFencing:         b("startup-fencing", true),
		EnableStartupProbes:    b("enable-startup-probes", true),
		PlacementStrategy:      sel("placement-strategy", "default", "default", "utilization", "minimal", "balanced"),
		StonithAction:          sel("stonith-action", "reboot", "reboot", "off", "poweroff"),
		StonithTimeout:         dur("stonith-timeout", 60*time.Second),
		StonithMaxAttempts:     count(10, "stonith-max-attempts", "fencing-max-attempts"),
		PriorityFencingDelay:   dur("priority-fencing-delay", 0),
		TwoNode:                b("two-node", false),
		ShutdownLock:           b("shutdown-lock", false),
		ShutdownLockLimit:      dur("shutdown-lock-limit", 0),
		ClusterRecheckInterval: dur("cluster-recheck-interval", 15*time.Minute),
		VMHA:                   b("vm-ha", true),
		VMHAStrategy:           VMHAPermissive,
		BatchLimit:             count(DefaultBatchLimit, "batch-limit"),
	}
	if strings.EqualFold(strings.TrimSpace(props["vm-ha-strategy"]), VMHAForce) {
		o.VMHAStrategy = VMHAForce
	}
	if o.StonithAction == "poweroff" {
		o.StonithAction = "off"
	}
	if o.NoQuorumPolicy == "suicide" && !o.StonithEnabled {
		o.NoQuorumPolicy = "stop"
	}
	return o
}
