package vmha_test

import (
	"testing"

	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/vmha"
)

// Permissive holds a lost host only while its history says a VM may still
// run there; Force and vm-ha=false never hold it (the strategy).
func TestHoldsLostHost(t *testing.T) {
	started := []model.ResourceHistory{{ID: "vm1", Class: "builtin", Type: "vm", Ops: []model.OpRecord{
		{Operation: "start", CallID: 3}, {Operation: "monitor", Interval: 10000, CallID: 4}}}}
	stopped := []model.ResourceHistory{{ID: "vm1", Class: "builtin", Type: "vm", Ops: []model.OpRecord{
		{Operation: "start", CallID: 3}, {Operation: "stop", CallID: 5}}}}
	probedOff := []model.ResourceHistory{{ID: "vm1", Class: "builtin", Type: "vm", Ops: []model.OpRecord{
		{Operation: "monitor", CallID: 1, RC: 7, TargetRC: 7}}}}
	webOnly := []model.ResourceHistory{{ID: "web", Class: "builtin", Type: "dummy", Ops: []model.OpRecord{{Operation: "start", CallID: 1}}}}
	perm := model.ParseClusterOptions(nil)
	force := model.ParseClusterOptions(map[string]string{"vm-ha-strategy": "Force"})
	off := model.ParseClusterOptions(map[string]string{"vm-ha": "false"})
	for _, c := range []struct {
		name string
		opts model.ClusterOptions
		h    []model.ResourceHistory
		want bool
	}{
		{"permissive, a VM started", perm, started, true},
		{"permissive, the VM stopped", perm, stopped, false},
		{"permissive, a probe found it off", perm, probedOff, false},
		{"permissive, no VM", perm, webOnly, false},
		{"force, a VM started", force, started, false},
		{"vm-ha off, a VM started", off, started, false},
	} {
		if got := vmha.HoldsLostHost(c.opts, c.h); got != c.want {
			t.Errorf("%s: HoldsLostHost = %v, want %v", c.name, got, c.want)
		}
	}
	if a := vmha.SelfFenceAction(perm); a != vmha.SelfFenceKeep {
		t.Errorf("Permissive self-fence: %v, want keep", a)
	}
	if a := vmha.SelfFenceAction(force); a != vmha.SelfFenceDestroy {
		t.Errorf("Force self-fence: %v, want destroy", a)
	}
	if a := vmha.SelfFenceAction(off); a != vmha.SelfFenceStop {
		t.Errorf("vm-ha=false self-fence: %v, want stop", a)
	}
}
