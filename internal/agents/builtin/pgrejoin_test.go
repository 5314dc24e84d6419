package builtin

import (
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/agents"
)

// An old primary whose node saw no primary when it started (the whole
// cluster starting, or a copy of the cluster's state that had not caught
// up) runs as a standby with nobody to follow. Once another node is the
// primary on a newer timeline, its monitor fails with ErrRejoin rather
// than leave it stuck not streaming (its WAL forked off), and the restart
// that the failure brings rewinds it: it streams again with every row of
// the new primary and without the one only it had.
func TestPostgreSQLOldPrimaryStartedAloneRejoins(t *testing.T) {
	needPostgres(t)
	cl, nodes := newPGNodes(t, 2, "off")
	n1, n2 := nodes[0], nodes[1]
	bootstrapPG(t, nodes)
	waitFor(t, "n2 streaming", 20*time.Second, func() bool {
		n1.run(t, "monitor", nil)
		return n1.sql(t, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") == "1"
	})
	expect(t, n2.run(t, "monitor", nil), agents.RCOK, "n2 monitor")
	n1.sql(t, "CREATE TABLE t (i int PRIMARY KEY)")
	n1.sql(t, "INSERT INTO t VALUES (1)")
	// n2 stops following; n1 then writes a row only it has (asynchronous:
	// a write the failover may lose) and crashes.
	expect(t, n2.run(t, "stop", nil), agents.RCOK, "n2 stop")
	n1.sql(t, "INSERT INTO t VALUES (2)")
	n1.crash(t)
	cl.setOnline("n1", false)
	expect(t, n2.run(t, "start", nil), agents.RCOK, "n2 start")
	expect(t, n2.run(t, "promote", nil), agents.RCOK, "n2 promote")
	expect(t, n2.run(t, "monitor", nil), agents.RCRunningPromoted, "n2 monitor")
	n2.sql(t, "INSERT INTO t VALUES (3)")

	// n1 comes back seeing no primary (n2 offline in its copy).
	cl.setOnline("n2", false)
	expect(t, n1.run(t, "start", nil), agents.RCOK, "n1 start with no primary")
	if v := n1.sql(t, "SELECT pg_is_in_recovery()"); v != "t" {
		t.Fatalf("n1 started as %q, want a standby", v)
	}
	cl.setOnline("n1", true)
	cl.setOnline("n2", true)
	res := n1.run(t, "monitor", nil)
	if res.RC == agents.RCOK || !strings.Contains(res.ExitReason, "rewound") {
		t.Fatalf("n1 monitor with n2 primary: rc %d %q, want a failure asking for a rewind", res.RC, res.ExitReason)
	}
	if !strings.Contains(res.ExitReason, "n2") {
		t.Errorf("reason %q does not name the primary", res.ExitReason)
	}
	// The cluster's recovery of a failed monitor: stop, start.
	expect(t, n1.run(t, "stop", nil), agents.RCOK, "n1 stop")
	expect(t, n1.run(t, "start", nil), agents.RCOK, "n1 start (rewinds)")
	expect(t, n1.run(t, "monitor", nil), agents.RCOK, "n1 monitor after the rewind")
	waitFor(t, "n1 streaming from n2", 30*time.Second, func() bool {
		n2.run(t, "monitor", nil)
		return n2.sql(t, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'n1' AND state = 'streaming'") == "1"
	})
	waitFor(t, "n1 has n2's rows and not its own lost one", 10*time.Second, func() bool {
		return n1.sql(t, "SELECT string_agg(i::text, ',' ORDER BY i) FROM t") == "1,3"
	})
}
