package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/store"
)

// dbCluster is n1..n3 online with db-clone (promotable) promoted on n1 and
// unpromoted on n2, n3, and the replication attributes builtin:postgresql
// publishes: n2 the synchronous standby, n3 an asynchronous one 4 KiB
// behind.
func dbCluster(t *testing.T) *testCluster {
	t.Helper()
	c := newTestCluster(t)
	for _, cmd := range []store.Command{
		store.NewNodeJoin("n3", store.RoleServer, "127.0.0.1:7103"),
		store.NewNodeState("n2", store.StateOnline, store.Lease{}),
		store.NewNodeState("n3", store.StateOnline, store.Lease{}),
		store.NewNodeAttrSet("n1", map[string]string{"master-db": "1001", "pgsql-db-role": "primary", "pgsql-db-timeline": "3",
			"pgsql-db-lsn": "0/3000148", "pgsql-db-lag": "0", "pgsql-db-sync": "primary"}),
		store.NewNodeAttrSet("n2", map[string]string{"master-db": "1000", "pgsql-db-role": "standby", "pgsql-db-timeline": "3",
			"pgsql-db-lsn": "0/3000148", "pgsql-db-lag": "0", "pgsql-db-sync": "sync"}),
		store.NewNodeAttrSet("n3", map[string]string{"master-db": "-INFINITY", "pgsql-db-role": "standby", "pgsql-db-timeline": "3",
			"pgsql-db-lsn": "0/2FFF148", "pgsql-db-lag": "4096", "pgsql-db-sync": "async"}),
	} {
		if res, _ := c.backend.Propose(context.Background(), cmd); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	ok(t, "property", "set", "stonith-enabled=false")
	ok(t, "resource", "create", "db", "builtin:dummy", "--promotable")
	recordOp(t, c, "n1", "db", "start", 1, 0, 0, 0)
	recordOp(t, c, "n1", "db", "promote", 2, 0, 0, 0)
	recordOp(t, c, "n2", "db", "start", 1, 0, 0, 0)
	recordOp(t, c, "n3", "db", "start", 1, 0, 0, 0)
	return c
}

// Status shows the database as patronictl list does: per instance the
// node, its cluster role, the database role, timeline, LSN, lag and sync
// state; status --json carries them in each instance's "replication".
func TestStatusShowsReplicationHealth(t *testing.T) {
	dbCluster(t)
	out := ok(t, "status")
	for _, want := range []string{
		"* Clone Set: db-clone [db] (promotable):\n    * Promoted: [ n1 ]\n    * Unpromoted: [ n2 n3 ]\n    * Replication (db):\n",
		"      NODE  STATE       ROLE     TIMELINE  LSN        LAG     SYNC\n",
		"      n1    Promoted    primary  3         0/3000148  0 B     primary\n",
		"      n2    Unpromoted  standby  3         0/3000148  0 B     sync\n",
		"      n3    Unpromoted  standby  3         0/2FFF148  4096 B  async\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status does not show %q:\n%s", want, out)
		}
	}
	st := statusJSON(t)
	for _, rs := range st.Resources {
		if rs.ID != "db" {
			continue
		}
		if len(rs.Instances) != 3 || rs.Instances[0].Node != "n1" || rs.Instances[0].Role != api.RolePromoted {
			t.Fatalf("instances %+v", rs.Instances)
		}
		if r := rs.Instances[2].Replication; r == nil || *r != (api.Replication{Role: "standby", Timeline: 3, LSN: "0/2FFF148", LagBytes: 4096, Sync: "async"}) {
			t.Errorf("n3's replication %+v", r)
		}
	}
}

// Impossible switchovers: one line on stderr naming what is wrong, exit
// 1, and the configuration epoch unchanged.
func TestSwitchoverRefusalsOneLine(t *testing.T) {
	c := dbCluster(t)
	before := c.backend.Config().Epoch
	fails(t, 1, "paceline: switch over 'db-clone': conflict: db-clone cannot be promoted on n3: its promotion score for db is -INFINITY (sync state async, lag 4096 bytes)",
		"resource", "switchover", "db-clone", "n3")
	fails(t, 1, "db-clone is already promoted on n1", "resource", "switchover", "db-clone", "n1")
	fails(t, 1, `node "n7" is not a cluster member`, "resource", "switchover", "db", "n7")
	fails(t, 2, "wants ID [NODE], got 3 argument(s)", "resource", "switchover", "db", "n2", "n3")
	fails(t, 2, "--wait 0s: want a positive duration", "resource", "switchover", "db", "n2", "--wait", "0s")
	if after := c.backend.Config().Epoch; after != before {
		t.Errorf("epoch %d -> %d after refused switchovers", before, after)
	}
}

// A switchover's constraint left behind (its node died during it) makes
// the next one refuse, saying how to remove it; resource clear does.
func TestSwitchoverLeftOverConstraint(t *testing.T) {
	c := dbCluster(t)
	t.Setenv(api.EnvToken, c.operator)
	ok(t, "constraint", "add", "location", "cli-switchover-db-clone", "db-clone", "n2", "INFINITY", "--role", "Promoted")
	fails(t, 1, "a switchover of db-clone is in progress (constraint cli-switchover-db-clone exists; 'paceline resource clear db-clone' removes one left over)",
		"resource", "switchover", "db-clone", "n2")
	ok(t, "resource", "clear", "db-clone")
	if cfg := c.backend.Config(); len(cfg.Locations) != 0 {
		t.Errorf("locations after clear: %+v", cfg.Locations)
	}
}
