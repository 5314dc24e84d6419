package builtin

import (
	"fmt"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/agents"
)

// The synchronous role moves from one standby to another only through the
// cluster (issue 12, a write lost in CI): when the synchronous standby n2
// goes away, commits wait until the primary has published that n2 is no
// longer synchronous; only then does it wait for n3 instead, and n3 is
// published synchronous once it has everything. Promoting n3 after the
// primary's crash then keeps every acknowledged row, and n2 (which lacks
// the rows n3 acknowledged) is not promotable. Before, the server was given
// the list FIRST 1 (n2, n3) and moved the role to n3 by itself while the
// cluster still named n2 synchronous.
func TestPostgreSQLSyncMovesOnlyThroughTheCluster(t *testing.T) {
	needPostgres(t)
	cl, nodes := newPGNodes(t, 3, "on")
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	bootstrapPG(t, nodes)
	waitSyncN2(t, cl, n1)
	n1.sql(t, "CREATE TABLE t (i int PRIMARY KEY)")
	for i := range 50 {
		n1.sql(t, fmt.Sprintf("INSERT INTO t VALUES (%d)", i))
	}

	n2.crash(t)
	acked := make(chan string, 1)
	go func() { acked <- n1.sql(t, "INSERT INTO t VALUES (100) RETURNING i") }()
	select {
	case v := <-acked:
		t.Fatalf("a commit was acknowledged (%s) while the cluster still named the gone n2 synchronous (published %q)", v, cl.attr("n1", "pgsql-db-standbys"))
	case <-time.After(time.Second):
	}
	// n1's monitor: n2 published not synchronous, then the server waits
	// for n3, which releases the commit.
	expect(t, n1.run(t, "monitor", nil), agents.RCRunningPromoted, "n1 monitor")
	if v := cl.attr("n1", "pgsql-db-standbys"); v != "n3=async" && v != "n3=potential" {
		t.Fatalf("n1 published standbys %q after n2 went away, want n3 not yet synchronous", v)
	}
	select {
	case <-acked:
	case <-time.After(10 * time.Second):
		t.Fatal("the commit is still waiting after the primary moved the synchronous role to n3")
	}
	waitFor(t, "n3 published synchronous", 20*time.Second, func() bool {
		n1.run(t, "monitor", nil)
		return cl.attr("n1", "pgsql-db-standbys") == "n3=sync"
	})
	for i := 101; i < 150; i++ {
		n1.sql(t, fmt.Sprintf("INSERT INTO t VALUES (%d)", i))
	}

	n1.crash(t)
	cl.setOnline("n1", false)
	cl.setOnline("n2", false)
	expect(t, n3.run(t, "monitor", nil), agents.RCOK, "n3 monitor")
	if s := cl.attr("n3", "master-db"); s != "1000" {
		t.Errorf("n3 score %q, want 1000 (the synchronous standby)", s)
	}
	if err := checkPromote("n2", RoleStandby, SyncOn, 0, 0, []peerView{{Name: "n1", Role: "primary", Timeline: 1, Standbys: cl.attr("n1", "pgsql-db-standbys")}}); err == nil {
		t.Error("n2 is promotable after n3 acknowledged commits it lacks")
	}
	expect(t, n3.run(t, "promote", nil), agents.RCOK, "n3 promote")
	if got := n3.sql(t, "SELECT count(*) FROM t"); got != "100" {
		t.Fatalf("rows on n3: %s, want 100 (50 + 1 + 49 acknowledged)", got)
	}
}
