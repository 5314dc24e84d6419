package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	pgBinDir = "/usr/lib/postgresql/15/bin"
	pgVIP    = "10.77.0.100"
)

// pgCommands are issue 12's exact commands (a contract), run from the
// client namespace.
var pgCommands = [][]string{
	{"resource", "create", "db", "builtin:postgresql", "pgdata=/var/lib/postgresql/15/pl",
		"bindir=" + pgBinDir, "port=5432", "synchronous=on", "--promotable",
		"--op", "monitor", "interval=1s", "role=Promoted", "--op", "monitor", "interval=2s", "role=Unpromoted"},
	{"resource", "create", "db-vip", "builtin:vip", "ip=" + pgVIP, "cidr=24", "--op", "monitor", "interval=1s"},
	{"constraint", "add", "colocation", "vip-with-primary", "db-vip", "db-clone", "INFINITY", "--with-role", "Promoted"},
	{"constraint", "add", "order", "primary-then-vip", "db-clone", "db-vip", "--first-action", "promote"},
}

// needPostgres skips without Debian's PostgreSQL 15.
func needPostgres(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pgBinDir, "postgres")); err != nil {
		t.Skip("e2e: PostgreSQL 15 is not installed (apt-get install postgresql)")
	}
	if _, err := user.Lookup("postgres"); err != nil {
		t.Skip("e2e: no postgres user (apt-get install postgresql)")
	}
}

// privatePGDirs gives every host its own /var/lib/postgresql/15 (a bind
// mount in its mount namespace of a directory owned by postgres), so the
// same pgdata parameter names a different directory on each host, and a
// crash keeps it as a disk would.
func privatePGDirs(t *testing.T, n *Net) {
	u, _ := user.Lookup("postgres")
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.MkdirAll("/var/lib/postgresql/15", 0o755); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(n.dir, "pg")
	for _, h := range n.Hosts {
		dir := filepath.Join(base, h.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chown(dir, uid, gid)
		n.must("nsenter", "--mount="+h.mnt, "--", "mount", "--bind", dir, "/var/lib/postgresql/15")
	}
}

// pgSQL runs one statement with psql from the client namespace against
// addr (trust authentication, which bootstrap configures without a
// password); ok is false when it failed (not acknowledged).
func pgSQL(n *Net, addr, sql string, limit time.Duration) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", "--net=/run/netns/"+n.Client.NS, "--",
		filepath.Join(pgBinDir, "psql"), "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
		"-h", addr, "-p", "5432", "-U", "postgres", "-d", "postgres", "-c", sql)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "PGCONNECT_TIMEOUT=1", "LANG=C"}
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err == nil
}

// pgRoles asks every host's server whether it is in recovery: node name
// to "primary", "standby" or "" (not reachable).
func pgRoles(c *Cluster) map[string]string {
	out := map[string]string{}
	for i, h := range c.Net.Hosts {
		v, ok := pgSQL(c.Net, h.Addr, "SELECT pg_is_in_recovery()", 3*time.Second)
		switch {
		case !ok:
			out[NodeName(i)] = ""
		case v == "f":
			out[NodeName(i)] = "primary"
		default:
			out[NodeName(i)] = "standby"
		}
	}
	return out
}

// writer inserts 0, 1, 2 ... through the VIP every 20 ms and records which
// inserts were acknowledged and when.
type writer struct {
	mu     sync.Mutex
	acked  []int
	times  []time.Time // when each acknowledged insert returned
	starts []time.Time // when it was sent
	stop   chan struct{}
	done   chan struct{}
}

func startWriter(n *Net) *writer {
	w := &writer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			sent := time.Now()
			if _, ok := pgSQL(n, pgVIP, fmt.Sprintf("INSERT INTO t VALUES (%d)", i), 2*time.Second); ok {
				w.mu.Lock()
				w.acked, w.times, w.starts = append(w.acked, i), append(w.times, time.Now()), append(w.starts, sent)
				w.mu.Unlock()
			}
		}
	}()
	return w
}

func (w *writer) finish() { close(w.stop); <-w.done }

// firstAfter is when the first insert sent after since was acknowledged
// (one sent before and acknowledged after a crash was committed before it).
func (w *writer) firstAfter(since time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, at := range w.starts {
		if at.After(since) {
			return w.times[i], true
		}
	}
	return time.Time{}, false
}

func (w *writer) lastBefore(at time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	var last time.Time
	for _, t := range w.times {
		if t.Before(at) {
			last = t
		}
	}
	return last
}

// Issue 12: builtin:postgresql as a promotable clone on three namespace
// hosts with synchronous=on and the VIP colocated with the promoted role:
// one primary and two streaming standbys (asked of the servers
// themselves); a client writes through the VIP every 20 ms; the primary's
// host crashes (every process SIGKILLed); the synchronous standby is
// promoted, the VIP follows it, every acknowledged row is on the new
// primary and there is never more than one primary; when the host comes
// back (agent started again, no other command), its old primary is
// rewound and streams from the new one.
func TestPostgreSQLFailover(t *testing.T) { pgFailover(t, "crash") }

// The same with the primary's link cut instead (its processes live on,
// isolated: the agent's lease runs out and it stops what it runs); the
// link restored, the old primary rejoins by itself.
func TestPostgreSQLFailoverLinkCut(t *testing.T) { pgFailover(t, "link") }

// pgFailover runs the failover scenario with fault "crash" (Host.Crash,
// then Restore and the agent started again) or "link" (LinkDown, then
// LinkUp and nothing else).
func pgFailover(t *testing.T, fault string) {
	needPostgres(t)
	n := NewNet(t, 3)
	privatePGDirs(t, n)
	c := NewCluster(t, n)
	started := time.Now()
	for _, cmd := range pgCommands {
		c.Must(cmd...)
	}

	var primary string
	var roles map[string]string
	deadline := time.Now().Add(120 * time.Second)
	for ; time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		roles = pgRoles(c)
		p, np := oneOf(roles, "primary")
		_, ns := oneOf(roles, "standby")
		if np == 1 && ns == 2 {
			if v, _ := pgSQL(n, c.Host(p).Addr, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND sync_state = 'sync'", 3*time.Second); v == "1" {
				if ok, _ := Holds(c.Host(p), pgVIP); ok {
					primary = p
					break
				}
			}
		}
	}
	if primary == "" {
		t.Fatalf("no primary with a synchronous standby and the VIP after 120 s: %v", roles)
	}
	t.Logf("1 primary (%s) + 2 streaming standbys, VIP on the primary, %v after the commands", primary, time.Since(started).Round(100*time.Millisecond))
	if _, ok := pgSQL(n, pgVIP, "CREATE TABLE t (i int PRIMARY KEY)", 5*time.Second); !ok {
		t.Fatal("CREATE TABLE through the VIP failed")
	}
	w := startWriter(n)
	time.Sleep(3 * time.Second)
	m := Watch(pgVIP, n.Hosts)
	crashed := time.Now()
	if fault == "crash" {
		c.Host(primary).Crash()
	} else {
		c.Host(primary).LinkDown()
	}
	killed := time.Now() // every process of the host is dead by now
	first, ok := time.Time{}, false
	for limit := time.Now().Add(60 * time.Second); !ok && time.Now().Before(limit); time.Sleep(100 * time.Millisecond) {
		first, ok = w.firstAfter(killed)
	}
	if !ok {
		w.finish()
		m.Stop()
		t.Fatalf("no write acknowledged within 60 s of the crash of %s (roles %v)", primary, pgRoles(c))
	}
	time.Sleep(2 * time.Second)
	w.finish()
	m.Stop()
	t.Logf("failover (%s): write unavailability %v (last acknowledged write before the fault to the first acknowledged of those sent after it); first ack %v after the fault",
		fault, first.Sub(w.lastBefore(crashed)).Round(10*time.Millisecond), first.Sub(crashed).Round(10*time.Millisecond))
	if d := m.DualTime(); d > 0 {
		t.Errorf("VIP held by two hosts for %v", d)
	}
	roles = pgRoles(c)
	newPrimary, np := oneOf(roles, "primary")
	if np != 1 || newPrimary == primary {
		t.Fatalf("after the crash of %s: roles %v", primary, roles)
	}
	if ok, _ := Holds(c.Host(newPrimary), pgVIP); !ok {
		t.Errorf("the VIP is not on the new primary %s", newPrimary)
	}
	rows, ok := pgSQL(n, c.Host(newPrimary).Addr, "SELECT i FROM t", 5*time.Second)
	if !ok {
		t.Fatal("reading t on the new primary failed")
	}
	have := map[string]bool{}
	for _, r := range strings.Fields(rows) {
		have[r] = true
	}
	missing := 0
	for _, i := range w.acked {
		if !have[strconv.Itoa(i)] {
			missing++
		}
	}
	t.Logf("%d writes acknowledged, %d rows on the new primary %s, %d acknowledged rows missing", len(w.acked), len(have), newPrimary, missing)
	if missing > 0 {
		t.Errorf("%d acknowledged rows missing on the new primary (synchronous=on)", missing)
	}

	// The old primary's host comes back; its agent is started again and
	// nothing else is done.
	h := c.Host(primary)
	back := time.Now()
	if fault == "crash" {
		h.Restore()
		c.StartAgent(h)
	} else {
		h.LinkUp()
	}
	rejoined := false
	for limit := time.Now().Add(90 * time.Second); time.Now().Before(limit); time.Sleep(500 * time.Millisecond) {
		v, _ := pgSQL(n, c.Host(newPrimary).Addr, "SELECT count(*) FROM pg_stat_replication WHERE application_name = '"+primary+"' AND state = 'streaming'", 3*time.Second)
		if v == "1" {
			rejoined = true
			break
		}
	}
	if !rejoined {
		t.Fatalf("the old primary %s is not streaming from %s 90 s after its return (roles %v)", primary, newPrimary, pgRoles(c))
	}
	t.Logf("old primary %s streaming again as a standby %v after its return (%s)", primary, time.Since(back).Round(100*time.Millisecond), fault)
	for name, a := range c.Agents {
		if name != primary {
			var keep []string
			for _, l := range strings.Split(GrepLog(a.ReadLog(), crashed, "controller:", "node:"), "\n") {
				if !strings.Contains(l, "_monitor_") || strings.Contains(l, "failed=true") {
					keep = append(keep, l)
				}
			}
			t.Logf("%s since the crash:%s", name, strings.Join(keep, "\n"))
		}
	}
	roles = pgRoles(c)
	if p, np := oneOf(roles, "primary"); np != 1 || p != newPrimary {
		t.Errorf("roles after the rejoin: %v", roles)
	}
	t.Logf("%s:%s", primary, GrepLog(c.Agents[primary].ReadLog(), crashed, "node:", "controller:"))
	// Settled: 10 s later the old primary is still a standby streaming
	// from the new one, and it has every acknowledged row.
	time.Sleep(10 * time.Second)
	roles = pgRoles(c)
	if p, np := oneOf(roles, "primary"); np != 1 || p != newPrimary || roles[primary] != "standby" {
		t.Errorf("roles 10 s after the rejoin: %v", roles)
	}
	if v, _ := pgSQL(n, h.Addr, "SELECT count(*) FROM t WHERE i <= "+strconv.Itoa(w.acked[len(w.acked)-1]), 3*time.Second); v != strconv.Itoa(len(have)) {
		t.Errorf("the rejoined standby %s has %q of the %d rows", primary, v, len(have))
	}
}
