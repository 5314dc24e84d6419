package cluster

import (
	"os"
	"regexp"
	"testing"
	"time"
)

// TestStandbyLiveMigratesOCFDummy: `node standby` of the node running an
// ocf:heartbeat:Dummy with meta allow-migrate=true runs migrate_to on it
// and migrate_from on the target, as `resource show` reports from the
// operation history (never a stop there and a start elsewhere).
func TestStandbyLiveMigratesOCFDummy(t *testing.T) {
	if _, err := os.Stat("/usr/lib/ocf/resource.d/heartbeat/Dummy"); err != nil {
		t.Skip("resource-agents is not installed (no ocf:heartbeat:Dummy); apt-get install resource-agents")
	}
	if os.Geteuid() != 0 {
		t.Skip("OCF agents run only from root-owned directories by root")
	}
	h, _ := startCluster(t)
	h.must("resource", "create", "mig", "ocf:heartbeat:Dummy", "--meta", "allow-migrate=true", "--op", "monitor", "interval=1s")
	st := h.waitStatus("mig Started", 30*time.Second, func(st *status) bool {
		role, nodes := resource(st, "mig")
		return role == "Started" && len(nodes) == 1
	})
	_, nodes := resource(st, "mig")
	from := nodes[0]
	h.must("node", "standby", from)
	st = h.waitStatus("mig migrated off "+from, 30*time.Second, func(st *status) bool {
		role, nodes := resource(st, "mig")
		return role == "Started" && len(nodes) == 1 && nodes[0] != from
	})
	_, nodes = resource(st, "mig")
	to := nodes[0]
	out := h.must("resource", "show", "mig")
	t.Logf("resource show mig:\n%s", out)
	for _, want := range []string{
		`(?m)^  \S+ \S+  ` + from + `  mig_migrate_to_0 call \d+: exit 0 \(ok\), complete ` + from + ` -> ` + to + `$`,
		`(?m)^  \S+ \S+  ` + to + `  mig_migrate_from_0 call \d+: exit 0 \(ok\), complete ` + from + ` -> ` + to + `$`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("resource show mig does not match %s:\n%s", want, out)
		}
	}
	if regexp.MustCompile(`  ` + to + `  mig_start_0`).MatchString(out) {
		t.Errorf("mig was started on %s instead of migrated there:\n%s", to, out)
	}
}
