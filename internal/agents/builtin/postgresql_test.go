package builtin

import (
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/agents"
)

const pgBin = "/usr/lib/postgresql/15/bin"

// pgCluster is an in-memory stand-in for the cluster store: node
// attributes and membership, shared by several Classes on one host.
type pgCluster struct {
	mu     sync.Mutex
	attrs  map[string]map[string]string
	online map[string]bool
	order  []string
}

func (c *pgCluster) Peers() []Peer {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Peer
	for _, n := range c.order {
		out = append(out, Peer{Name: n, Host: "127.0.0.1", Online: c.online[n], Attrs: maps.Clone(c.attrs[n])})
	}
	return out
}

func (c *pgCluster) setOnline(n string, on bool) {
	c.mu.Lock()
	c.online[n] = on
	c.mu.Unlock()
}

type pgNodeAttrs struct {
	c    *pgCluster
	node string
}

func (a pgNodeAttrs) SetNodeAttr(_ context.Context, name, value string) error {
	a.c.mu.Lock()
	defer a.c.mu.Unlock()
	a.c.attrs[a.node][name] = value
	return nil
}

func (a pgNodeAttrs) SetNodeAttrs(_ context.Context, attrs map[string]string) error {
	a.c.mu.Lock()
	defer a.c.mu.Unlock()
	maps.Copy(a.c.attrs[a.node], attrs)
	return nil
}

var _ NodeAttrsSetter = pgNodeAttrs{}

func (c *pgCluster) attr(n, name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attrs[n][name]
}

// pgNode is one "node" of the one-host test: its own Class, pgdata and
// port.
type pgNode struct {
	name   string
	class  *Class
	params map[string]string
}

func (n *pgNode) run(t *testing.T, op string, meta map[string]string) agents.Result {
	t.Helper()
	return n.class.Run(context.Background(), agents.Request{ResourceID: "db:0", Agent: agents.Type{Class: "builtin", Name: "postgresql"},
		Op: op, Params: n.params, Meta: meta, Node: n.name, Timeout: 60 * time.Second})
}

func (n *pgNode) sql(t *testing.T, q string) string {
	t.Helper()
	in, res, ok := n.class.pgSetup(&agents.Request{ResourceID: "db:0", Params: n.params, Node: n.name})
	if !ok {
		t.Fatalf("%s: %s", n.name, res.ExitReason)
	}
	rows, err := in.h.query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %s: %v", n.name, q, err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, strings.Join(r, "|"))
	}
	return strings.Join(out, "\n")
}

// crash SIGKILLs the node's postmaster and its children (their session).
func (n *pgNode) crash(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(n.params["pgdata"], "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	syscall.Kill(-pid, syscall.SIGKILL)
	for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(50 * time.Millisecond)
	}
}

func needPostgres(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("postgresql: real-server test skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("postgresql: needs root (the server runs as the postgres user)")
	}
	if _, err := os.Stat(filepath.Join(pgBin, "postgres")); err != nil {
		t.Skip("postgresql: PostgreSQL 15 is not installed (apt-get install postgresql)")
	}
	if _, _, err := lookupUser("postgres"); err != nil {
		t.Skip("postgresql: no postgres user")
	}
}

func newPGNodes(t *testing.T, count int, sync string) (*pgCluster, []*pgNode) {
	t.Helper()
	base, err := os.MkdirTemp("", "pl-pg-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(base, 0o755)
	cl := &pgCluster{attrs: map[string]map[string]string{}, online: map[string]bool{}}
	var nodes []*pgNode
	for i := range count {
		name := fmt.Sprintf("n%d", i+1)
		cl.attrs[name], cl.online[name] = map[string]string{}, true
		cl.order = append(cl.order, name)
		dir := filepath.Join(base, name)
		c, err := New(Config{RunDir: filepath.Join(dir, "run"), Attrs: pgNodeAttrs{cl, name}, Peers: cl})
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, 0o755)
		os.Chmod(filepath.Join(dir, "run"), 0o755)
		nodes = append(nodes, &pgNode{name: name, class: c, params: map[string]string{
			"pgdata": filepath.Join(dir, "data"), "bindir": pgBin, "port": strconv.Itoa(freePGPort(t)), "synchronous": sync}})
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			n.run(t, "stop", nil)
		}
		if !t.Failed() {
			os.RemoveAll(base)
		} else {
			t.Logf("postgresql: data and logs kept in %s", base)
		}
	})
	return cl, nodes
}

// freePGPort is a TCP port nobody listens on now (on any address: the
// servers listen on all of them), so that two runs never share a port.
func freePGPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// bootstrapPG starts every node empty, promotes the first (initdb) and
// has the others seeded from it by their first monitor.
func bootstrapPG(t *testing.T, nodes []*pgNode) {
	t.Helper()
	for _, n := range nodes {
		expect(t, n.run(t, "start", nil), agents.RCOK, n.name+" start (empty)")
	}
	expect(t, nodes[0].run(t, "promote", nil), agents.RCOK, nodes[0].name+" promote (initdb)")
	for _, n := range nodes[1:] {
		expect(t, n.run(t, "monitor", nil), agents.RCOK, n.name+" monitor (seeds)")
	}
}

// waitSyncN2 runs n1's monitors until n2 streams as the synchronous
// standby, n3 as an asynchronous one, and n1 has published n2 synchronous.
func waitSyncN2(t *testing.T, cl *pgCluster, n1 *pgNode) {
	t.Helper()
	waitFor(t, "two streaming standbys, n2 synchronous", 20*time.Second, func() bool {
		n1.run(t, "monitor", nil)
		return n1.sql(t, "SELECT string_agg(application_name || '=' || sync_state, ',' ORDER BY application_name) FROM pg_stat_replication WHERE state = 'streaming'") == "n2=sync,n3=async" &&
			cl.attr("n1", "pgsql-db-standbys") == "n2=sync,n3=async"
	})
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// Issue 12 on one host, three instances with their own pgdata and port
// and an in-memory cluster store: the first promoted empty node runs
// initdb, the others are seeded by pg_basebackup through their slots and
// stream; with synchronous=on only the synchronous standby is promotable;
// after the primary's server is SIGKILLed, promoting the potential standby
// is refused, the synchronous one is promoted with every acknowledged row,
// the other standby follows it, and the old primary rejoins through
// pg_rewind as a standby.
func TestPostgreSQLFailoverOneHost(t *testing.T) {
	needPostgres(t)
	cl, nodes := newPGNodes(t, 3, "on")
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	for _, n := range nodes {
		expect(t, n.run(t, "start", nil), agents.RCOK, n.name+" start (empty)")
		expect(t, n.run(t, "monitor", nil), agents.RCOK, n.name+" monitor (empty)")
		if s := cl.attr(n.name, "master-db"); s != "1" {
			t.Fatalf("%s: bootstrap score %q, want 1", n.name, s)
		}
	}
	expect(t, n1.run(t, "promote", nil), agents.RCOK, "n1 promote (initdb)")
	expect(t, n1.run(t, "monitor", nil), agents.RCRunningPromoted, "n1 monitor")
	for _, n := range []*pgNode{n2, n3} {
		expect(t, n.run(t, "monitor", nil), agents.RCOK, n.name+" monitor (seeds)")
		if v := n.sql(t, "SELECT pg_is_in_recovery()"); v != "t" {
			t.Fatalf("%s is not a standby: %s", n.name, v)
		}
	}
	waitSyncN2(t, cl, n1)
	if slots := n1.sql(t, "SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots WHERE active"); slots != "pl_n2,pl_n3" {
		t.Errorf("active slots on n1: %q", slots)
	}
	expect(t, n1.run(t, "monitor", nil), agents.RCRunningPromoted, "n1 monitor")
	for _, n := range []*pgNode{n2, n3} {
		expect(t, n.run(t, "monitor", nil), agents.RCOK, n.name+" monitor")
	}
	if s2, s3 := cl.attr("n2", "master-db"), cl.attr("n3", "master-db"); s2 != "1000" || s3 != "-INFINITY" {
		t.Fatalf("scores n2 %s n3 %s, want 1000 and -INFINITY (synchronous=on); n1 published standbys %q",
			s2, s3, cl.attr("n1", "pgsql-db-standbys"))
	}
	if v := cl.attr("n2", "pgsql-db-sync"); v != "sync" {
		t.Errorf("n2 pgsql-db-sync = %q", v)
	}
	n1.sql(t, "CREATE TABLE t (i int PRIMARY KEY)")
	for i := range 200 {
		n1.sql(t, fmt.Sprintf("INSERT INTO t VALUES (%d)", i)) // each acknowledged
	}
	n1.crash(t)
	cl.setOnline("n1", false)
	expect(t, n1.run(t, "monitor", nil), agents.RCNotRunning, "n1 monitor after crash")
	if res := n3.run(t, "promote", nil); res.RC == agents.RCOK {
		t.Fatal("the potential standby n3 was promoted")
	} else {
		t.Logf("n3 promote refused: %s", res.ExitReason)
	}
	start := time.Now()
	res := n2.run(t, "promote", nil)
	expect(t, res, agents.RCOK, "n2 promote")
	t.Logf("promote took %v (%s)", time.Since(start).Round(time.Millisecond), strings.TrimSpace(res.Output))
	expect(t, n2.run(t, "monitor", nil), agents.RCRunningPromoted, "n2 monitor")
	if got := n2.sql(t, "SELECT count(*) FROM t"); got != "200" {
		t.Fatalf("rows on the new primary: %s, want 200", got)
	}
	n2.sql(t, "INSERT INTO t VALUES (1000)")
	expect(t, n3.run(t, "notify", map[string]string{"notify_type": "post", "notify_operation": "promote", "notify_promoted_uname": "n2"}), agents.RCOK, "n3 notify")
	waitFor(t, "n3 streaming from n2", 30*time.Second, func() bool {
		n2.run(t, "monitor", nil)
		n3.run(t, "monitor", nil)
		return n2.sql(t, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'n3' AND state = 'streaming'") == "1"
	})
	// The old primary comes back: its start rewinds it onto n2's timeline.
	cl.setOnline("n1", true)
	expect(t, n1.run(t, "start", nil), agents.RCOK, "n1 start (rejoin)")
	expect(t, n1.run(t, "monitor", nil), agents.RCOK, "n1 monitor as standby")
	waitFor(t, "n1 streaming from n2", 30*time.Second, func() bool {
		n2.run(t, "monitor", nil)
		return n2.sql(t, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'n1' AND state = 'streaming'") == "1"
	})
	waitFor(t, "n1 has the row written after failover", 10*time.Second, func() bool {
		return n1.sql(t, "SELECT count(*) FROM t") == "201"
	})
	if tl := cl.attr("n2", "pgsql-db-timeline"); tl != "2" {
		t.Errorf("n2 timeline %q, want 2", tl)
	}

	// A switchover to the potential standby n3: n2 is demoted (a clean
	// shutdown), n3 is promoted once it has n2's shutdown checkpoint, with
	// every row; n2 and n1 follow n3.
	for i := 2000; i < 2100; i++ {
		n2.sql(t, fmt.Sprintf("INSERT INTO t VALUES (%d)", i))
	}
	start = time.Now()
	dem := n2.run(t, "demote", nil)
	expect(t, dem, agents.RCOK, "n2 demote")
	t.Logf("%s", strings.TrimSpace(dem.Output))
	if v := n2.sql(t, "SELECT pg_is_in_recovery()"); v != "t" {
		t.Fatalf("n2 after demote: in recovery %s", v)
	}
	prom := n3.run(t, "promote", nil)
	expect(t, prom, agents.RCOK, "n3 promote (switchover)")
	t.Logf("%s", strings.TrimSpace(prom.Output))
	t.Logf("switchover: demote + promote took %v", time.Since(start).Round(time.Millisecond))
	if got := n3.sql(t, "SELECT count(*) FROM t"); got != "301" {
		t.Fatalf("rows on n3 after the switchover: %s, want 301", got)
	}
	waitFor(t, "n1 and n2 streaming from n3", 30*time.Second, func() bool {
		for _, n := range nodes {
			n.run(t, "monitor", nil)
		}
		return n3.sql(t, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") == "2"
	})
}

// Bad input gives one clear reason (issue 12: wrong bindir, a pgdata
// owned by another user, a primary with a different system identifier,
// an unreachable primary during seeding), and no data directory that
// holds data is touched.
func TestPostgreSQLBadInput(t *testing.T) {
	needPostgres(t)
	cl, nodes := newPGNodes(t, 3, "off")
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	n1.params["bindir"] = "/nonexistent/bin"
	res := n1.run(t, "start", nil)
	if res.RC != agents.RCNotInstalled || !strings.Contains(res.ExitReason, "bindir /nonexistent/bin") {
		t.Errorf("wrong bindir: rc %v %q", res.RC, res.ExitReason)
	}
	n1.params["bindir"] = pgBin
	os.MkdirAll(n1.params["pgdata"], 0o700) // owned by root, not postgres
	res = n1.run(t, "start", nil)
	if res.RC != agents.RCInsufficientPriv || !strings.Contains(res.ExitReason, "owned by uid 0") {
		t.Errorf("pgdata owned by another user: rc %v %q", res.RC, res.ExitReason)
	}
	os.Remove(n1.params["pgdata"])
	expect(t, n1.run(t, "start", nil), agents.RCOK, "n1 start")
	expect(t, n1.run(t, "promote", nil), agents.RCOK, "n1 promote (initdb)")
	expect(t, n1.run(t, "monitor", nil), agents.RCRunningPromoted, "n1 monitor")

	// n2 holds another database cluster (its own initdb).
	in2, _, _ := n2.class.pgSetup(&agents.Request{ResourceID: "db:0", Params: n2.params, Node: "n2"})
	if err := in2.h.ensureEmptyDir(); err != nil {
		t.Fatal(err)
	}
	if _, err := in2.h.run(context.Background(), "", "initdb", "-D", n2.params["pgdata"], "-U", "postgres"); err != nil {
		t.Fatal(err)
	}
	res = n2.run(t, "start", nil)
	if res.RC != agents.RCInsufficientPriv || !strings.Contains(res.ExitReason, "system identifier") {
		t.Errorf("another system's data: rc %v %q", res.RC, res.ExitReason)
	}
	if _, err := os.Stat(filepath.Join(n2.params["pgdata"], "PG_VERSION")); err != nil {
		t.Errorf("n2's data was touched: %v", err)
	}

	// The primary is unreachable while n3 seeds.
	cl.mu.Lock()
	cl.attrs["n1"]["pgsql-db-port"] = "1"
	cl.mu.Unlock()
	res = n3.run(t, "start", nil)
	if res.RC != agents.RCUnknownError || !strings.Contains(res.ExitReason, "seed from n1") {
		t.Errorf("unreachable primary: rc %v %q", res.RC, res.ExitReason)
	}
	t.Logf("unreachable primary: %s", res.ExitReason)
	if strings.Contains(res.ExitReason, "\n") {
		t.Errorf("exit reason of more than one line: %q", res.ExitReason)
	}
	if ents, _ := os.ReadDir(n3.params["pgdata"]); len(ents) != 0 {
		t.Errorf("n3's pgdata holds %d entries after a failed seed", len(ents))
	}
}
