package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/paceline/paceline/internal/store"
)

// docs/two-node.md, the gate: two servers, no witness, stonith-enabled:
// `resource create` of anything but a fence device or a ping resource
// answers the line status shows, exits 1 and creates nothing, until each
// node has a fence device.
func TestTwoNodeGateOneLine(t *testing.T) {
	c := newTestCluster(t)
	ok(t, "property", "set", "stonith-enabled=true")
	line := "two-node cluster: n1 and n2 have no fence device: add one for each"
	epoch := c.backend.Config().Epoch
	fails(t, ExitError, line, "resource", "create", "vip", "builtin:vip", "ip=192.0.2.10", "cidr=24")
	if cfg := c.backend.Config(); cfg.Epoch != epoch || len(cfg.Resources) != 0 {
		t.Fatalf("a refused create changed the configuration: epoch %d -> %d, %d resources", epoch, cfg.Epoch, len(cfg.Resources))
	}
	if out := ok(t, "status"); !strings.Contains(out, line) {
		t.Errorf("status does not say what to add:\n%s", out)
	}
	if st := statusJSON(t); !strings.HasPrefix(st.Gate, line) {
		t.Errorf("status --json gate %q", st.Gate)
	}
	// What the gate lets run.
	ok(t, "resource", "create", "gw", "builtin:ping", "host_list=192.0.2.1", "--clone")
	ok(t, "resource", "create", "fence-n1", "stonith:fence_ipmilan", "ip=192.0.2.101", "username=admin", "password=secret", "pcmk_host_list=n1")
	fails(t, ExitError, "two-node cluster: n2 has no fence device: add one (paceline resource create fence-n2 stonith:fence_ipmilan",
		"resource", "create", "vip", "builtin:vip", "ip=192.0.2.10", "cidr=24")
	ok(t, "resource", "create", "fence-n2", "stonith:fence_ipmilan", "ip=192.0.2.102", "username=admin", "password=secret", "pcmk_host_list=n2")
	ok(t, "resource", "create", "vip", "builtin:vip", "ip=192.0.2.10", "cidr=24")
	if st := statusJSON(t); st.Gate != "" {
		t.Errorf("gate %q with a device for each node", st.Gate)
	}
	if out := ok(t, "status"); strings.Contains(out, "two-node cluster") {
		t.Errorf("status still says the cluster is gated:\n%s", out)
	}
}

// Status shows a two-node cluster as such (docs/two-node.md), and
// whether it was declared with `paceline init --two-node` (the two-node
// property).
func TestStatusShowsTwoNode(t *testing.T) {
	newTestCluster(t)
	st := statusJSON(t)
	if st.TwoNode == nil || strings.Join(st.TwoNode.Servers, ",") != "n1,n2" || st.TwoNode.Declared {
		t.Fatalf("status --json two_node: %+v", st.TwoNode)
	}
	if out := ok(t, "status"); !strings.Contains(out, "Two-node cluster: n1 and n2 (no witness)") {
		t.Errorf("status:\n%s", out)
	}
	ok(t, "property", "set", "two-node=true")
	if st := statusJSON(t); st.TwoNode == nil || !st.TwoNode.Declared {
		t.Fatalf("status --json two_node after two-node=true: %+v", st.TwoNode)
	}
	if out := ok(t, "status"); !strings.Contains(out, "Two-node cluster: n1 and n2 (no witness, paceline init --two-node)") {
		t.Errorf("status:\n%s", out)
	}
}

// two-node=true on a cluster with a witness is refused in one line, exit
// 1, nothing changed.
func TestTwoNodePropertyRefusedWithAWitness(t *testing.T) {
	c := newTestCluster(t)
	if res, err := c.backend.Propose(context.Background(), store.NewNodeJoin("w", store.RoleWitness, "127.0.0.1:7109")); err != nil || res.Err != nil {
		t.Fatal(err, res.Err)
	}
	epoch := c.backend.Config().Epoch
	fails(t, ExitError, "two-node cluster: two-node=true: w is a witness, and a two-node cluster has none", "property", "set", "two-node=true")
	if cfg := c.backend.Config(); cfg.Epoch != epoch || cfg.Properties["two-node"] != "" {
		t.Errorf("a refused property set changed the configuration: epoch %d -> %d, two-node=%q", epoch, cfg.Epoch, cfg.Properties["two-node"])
	}
}
