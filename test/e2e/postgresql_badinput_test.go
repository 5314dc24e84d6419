package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Issue 12's bad input, seen from the cluster (the agent's own reasons
// are tested in internal/agents/builtin's TestPostgreSQLBadInput): each
// mistake is one clear line in status's failed actions, no data directory
// that holds data is deleted or changed, and there is never more than
// one writable primary.
//
//  1. a wrong bindir: the resource fails everywhere with one line naming
//     it, and no server runs; fixed with `resource update` and cleanup;
//  2. next to a primary on n1, a pgdata owned by another user (n3): one
//     line naming the owner, the directory left as it was;
//  3. the primary unreachable while n3 seeds (its port blocked from n3):
//     one line naming the seed, n3's pgdata left empty; once reachable
//     and cleaned up, n3 streams;
//  4. a data directory of another database cluster (n2: its own initdb,
//     another system identifier): one line naming it, n2's data
//     untouched, nothing started over it, n1 still the primary and n3
//     its standby (the failure bans n2 only).
func TestPostgreSQLBadInputInCluster(t *testing.T) {
	needPostgres(t)
	n := NewNet(t, 3)
	privatePGDirs(t, n)
	c := NewClusterWith(t, n, compatAgentOptions(n))
	h1, h2, h3 := n.Hosts[0], n.Hosts[1], n.Hosts[2]
	const pgdata = "/var/lib/postgresql/15/pl"

	// 1. A wrong bindir.
	bad := append([]string(nil), pgCommands[0]...)
	for i, w := range bad {
		if strings.HasPrefix(w, "bindir=") {
			bad[i] = "bindir=/usr/lib/postgresql/15/nobin"
		}
	}
	c.Must(bad...)
	fa := waitFailed(t, c, "db", 3, nil)
	for _, f := range fa {
		if !strings.Contains(f.ExitReason, "/usr/lib/postgresql/15/nobin") {
			t.Errorf("wrong bindir: %s on %s: %q does not name the bindir", f.Operation, f.Node, f.ExitReason)
		}
	}
	t.Logf("wrong bindir: %s on %s: %s", fa[0].Operation, fa[0].Node, fa[0].ExitReason)
	for _, h := range n.Hosts {
		if hasPostgres(h) {
			t.Errorf("a server runs on %s with a wrong bindir", h.Name)
		}
	}

	// n1 alone first (n2 and n3 banned), so that it initialises the
	// database; then the bans go one by one.
	c.Must("constraint", "add", "location", "not-n2", "db-clone", "n2", "-INFINITY")
	c.Must("constraint", "add", "location", "not-n3", "db-clone", "n3", "-INFINITY")
	c.Must("resource", "update", "db", "bindir="+pgBinDir)
	c.Must("resource", "cleanup", "db")
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		if roles := pgRoles(c); roles["n1"] == "primary" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("n1 is not primary 90 s after the fix: %v", roles)
		}
	}
	ps := samplePrimaries(c)

	// 2. n3's pgdata is owned by root.
	if _, err := h3.Exec("install", "-d", "-m", "0700", "-o", "root", "-g", "root", pgdata); err != nil {
		t.Fatal(err)
	}
	c.Must("constraint", "remove", "not-n3")
	// (Its probe finds it already: rc 4, which bans db from n3 only.)
	fa = waitFailed(t, c, "db", 1, func(f failedAction) bool { return f.Node == "n3" && strings.Contains(f.ExitReason, "owned by") })
	if !strings.Contains(fa[0].ExitReason, "owned by uid 0") {
		t.Errorf("n3's %s failed with %q, want it to name the owner", fa[0].Operation, fa[0].ExitReason)
	}
	t.Logf("pgdata owned by root: %s on n3: %s", fa[0].Operation, fa[0].ExitReason)
	if out, err := h3.Exec("stat", "-c", "%u %a", pgdata); err != nil || strings.TrimSpace(out) != "0 700" {
		t.Errorf("n3's pgdata after the failure: %q %v (want it left as it was)", out, err)
	}

	// 3. n3 fixed (its pgdata gone), but the primary's port is
	// unreachable from it while it seeds.
	if _, err := h3.Exec("rm", "-rf", pgdata); err != nil {
		t.Fatal(err)
	}
	n.nft(h3, "add table inet "+nftTable)
	n.nft(h3, "add chain inet "+nftTable+" output { type filter hook output priority 0 ; policy accept ; }")
	n.nft(h3, "add rule inet "+nftTable+" output ip daddr "+h1.Addr+" tcp dport 5432 drop")
	c.Must("resource", "cleanup", "db", "--node", "n3")
	fa = waitFailed(t, c, "db", 1, func(f failedAction) bool { return f.Node == "n3" && strings.Contains(f.ExitReason, "seed") })
	t.Logf("unreachable primary: %s on n3: %s", fa[0].Operation, fa[0].ExitReason)
	if out, _ := h3.Exec("find", pgdata, "-mindepth", "1", "-maxdepth", "1"); strings.TrimSpace(out) != "" {
		t.Errorf("n3's pgdata holds files after the failed seed:\n%s", out)
	}
	n.Heal()
	c.Must("resource", "cleanup", "db", "--node", "n3")
	pc := &pgCluster{t: t, c: c, n: n, primary: "n1"}
	if d, ok := pc.waitStreaming("n3", 120*time.Second); !ok {
		t.Errorf("n3 does not stream from n1 once the primary is reachable (roles %v)", pgRoles(c))
	} else {
		t.Logf("n3 seeded and streaming %v after the cleanup", d.Round(100*time.Millisecond))
	}

	// 4. n2 holds another database cluster (its own initdb).
	if _, err := asPostgres(h2, "initdb", "-D", pgdata, "-U", "postgres"); err != nil {
		t.Fatalf("initdb of another cluster on h2: %v", err)
	}
	sysid := systemID(t, h2, pgdata)
	c.Must("constraint", "remove", "not-n2")
	fa = waitFailed(t, c, "db", 1, func(f failedAction) bool { return f.Node == "n2" && f.Operation == "start" })
	if !strings.Contains(fa[0].ExitReason, "system identifier") {
		t.Errorf("n2's start failed with %q, want it to name the system identifier", fa[0].ExitReason)
	}
	t.Logf("another cluster's data: %s on n2: %s", fa[0].Operation, fa[0].ExitReason)
	time.Sleep(3 * time.Second)
	if got := systemID(t, h2, pgdata); got != sysid {
		t.Errorf("n2's data changed: system identifier %s, was %s", got, sysid)
	}
	roles := pgRoles(c)
	if roles["n2"] != "" {
		t.Errorf("a server runs on n2 over another cluster's data: roles %v", roles)
	}
	if roles["n1"] != "primary" || roles["n3"] != "standby" {
		// A node-local failure (rc 4) bans n2 only; rc 6 would have been
		// fatal for the clone on every node, the healthy primary included.
		t.Errorf("one bad node changed the others: roles %v, want n1 primary, n3 standby", roles)
	}
	ps.finish()
	if ps.most > 1 {
		t.Errorf("%d writable primaries at once (%v)", ps.most, ps.who)
	}
	t.Logf("primaries sampled %d times, never more than %d", ps.rounds, ps.most)
}

// failedAction is the part of status --json's failed_actions read here.
type failedAction struct {
	Resource, Operation, Node string
	ExitReason                string `json:"exit_reason"`
}

// waitFailed waits until status lists at least want failed actions of
// rsc that keep says to (all when nil), on distinct nodes, each with an
// exit reason of one line, and returns them.
func waitFailed(t *testing.T, c *Cluster, rsc string, want int, keep func(failedAction) bool) []failedAction {
	t.Helper()
	var got []failedAction
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		out, err := c.Paceline(c.Net.Client, "status", "--json")
		if err != nil {
			continue
		}
		var st struct {
			FailedActions []failedAction `json:"failed_actions"`
		}
		if json.Unmarshal([]byte(out), &st) != nil {
			continue
		}
		got = got[:0]
		seen := map[string]bool{}
		for _, f := range st.FailedActions {
			if f.Resource == rsc && f.ExitReason != "" && !seen[f.Node] && (keep == nil || keep(f)) {
				seen[f.Node] = true
				got = append(got, f)
			}
		}
		if len(got) >= want {
			for _, f := range got {
				if strings.Contains(f.ExitReason, "\n") {
					t.Errorf("%s on %s: exit reason of more than one line: %q", f.Operation, f.Node, f.ExitReason)
				}
			}
			return got
		}
	}
	t.Fatalf("status lists %d failed actions of %s with a reason, want %d: %+v", len(got), rsc, want, got)
	return nil
}

// hasPostgres reports whether a postgres server process runs on h.
func hasPostgres(h *Host) bool {
	for _, pid := range h.NSPids() {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(b)) == "postgres" {
			return true
		}
	}
	return false
}

// systemID is the database system identifier of the data at pgdata on h.
func systemID(t *testing.T, h *Host, pgdata string) string {
	t.Helper()
	out, err := asPostgres(h, "pg_controldata", pgdata)
	if err != nil {
		t.Fatalf("pg_controldata on %s: %v", h.Name, err)
	}
	m := regexp.MustCompile(`Database system identifier:\s+(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("pg_controldata on %s: no system identifier in %q", h.Name, out)
	}
	return m[1]
}
