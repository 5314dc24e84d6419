package model

import (
	"testing"
	"time"
)

// Every reader of a cluster option sees the same value for the same text:
// absent and invalid values take Pacemaker's default (an invalid
// stonith-enabled is true, not false), aliases are resolved.
func TestParseClusterOptions(t *testing.T) {
	d := ParseClusterOptions(nil)
	if !d.StonithEnabled || !d.SymmetricCluster || !d.StartFailureIsFatal || d.MaintenanceMode ||
		d.NoQuorumPolicy != "stop" || d.StonithAction != "reboot" || d.PlacementStrategy != "default" ||
		d.ClusterRecheckInterval != 15*time.Minute || !d.EnableStartupProbes {
		t.Errorf("defaults: %+v", d)
	}
	o := ParseClusterOptions(map[string]string{
		"stonith-enabled": "garbage", "maintenance-mode": "on", "no-quorum-policy": "Freeze",
		"stonith-action": "poweroff", "cluster-recheck-interval": "2min", "start-failure-is-fatal": "no",
		"placement-strategy": "sometimes", "shutdown-lock": "true", "shutdown-lock-limit": "PT30M",
	})
	want := d
	want.MaintenanceMode, want.NoQuorumPolicy, want.StonithAction = true, "freeze", "off"
	want.ClusterRecheckInterval, want.StartFailureIsFatal = 2*time.Minute, false
	want.ShutdownLock, want.ShutdownLockLimit = true, 30*time.Minute
	if o != want {
		t.Errorf("got  %+v\nwant %+v", o, want)
	}
	if o := ParseClusterOptions(map[string]string{"no-quorum-policy": "suicide", "stonith-enabled": "false"}); o.NoQuorumPolicy != "stop" {
		t.Errorf("suicide without stonith: %q, want stop", o.NoQuorumPolicy)
	}
	if d.StonithTimeout != time.Minute || d.StonithMaxAttempts != 10 || d.PriorityFencingDelay != 0 {
		t.Errorf("fencing defaults: %+v", d)
	}
	f := ParseClusterOptions(map[string]string{"stonith-timeout": "30s", "fencing-max-attempts": "3", "priority-fencing-delay": "15s"})
	if f.StonithTimeout != 30*time.Second || f.StonithMaxAttempts != 3 || f.PriorityFencingDelay != 15*time.Second {
		t.Errorf("fencing options: %+v", f)
	}
	if f := ParseClusterOptions(map[string]string{"stonith-max-attempts": "0", "stonith-timeout": "soon"}); f.StonithMaxAttempts != 10 || f.StonithTimeout != time.Minute {
		t.Errorf("invalid fencing options: %+v, want the defaults", f)
	}
	if o := ParseClusterOptions(map[string]string{"cluster-recheck-interval": "0"}); o.ClusterRecheckInterval != 0 {
		t.Errorf("cluster-recheck-interval=0: %v, want disabled", o.ClusterRecheckInterval)
	}
	if !d.VMHA || d.VMHAStrategy != VMHAPermissive {
		t.Errorf("VM HA defaults: vm-ha %v, strategy %q; want true, Permissive", d.VMHA, d.VMHAStrategy)
	}
	if v := ParseClusterOptions(map[string]string{"vm-ha": "false", "vm-ha-strategy": "force"}); v.VMHA || v.VMHAStrategy != VMHAForce {
		t.Errorf("vm-ha=false vm-ha-strategy=force: %v %q", v.VMHA, v.VMHAStrategy)
	}
	if v := ParseClusterOptions(map[string]string{"vm-ha-strategy": "sometimes"}); v.VMHAStrategy != VMHAPermissive {
		t.Errorf("invalid vm-ha-strategy: %q, want Permissive", v.VMHAStrategy)
	}
	if err := CheckProperty("vm-ha-strategy", "Force"); err != nil {
		t.Errorf("vm-ha-strategy=Force: %v", err)
	}
	if err := CheckProperty("vm-ha-strategy", "Always"); err == nil {
		t.Error("vm-ha-strategy=Always accepted")
	}
	if err := CheckProperty("vm-ha", "maybe"); err == nil {
		t.Error("vm-ha=maybe accepted")
	}
}
