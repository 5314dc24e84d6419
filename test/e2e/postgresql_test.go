package e2e

import (
	"context"
	"fmt"
	"net"
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

// pgLocal runs one statement with psql inside host h's namespace against
// its own server (reachable while the host is cut off from the others).
func pgLocal(h *Host, sql string, limit time.Duration) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	out, err := run(ctx, []string{"PATH=/usr/bin:/bin", "PGCONNECT_TIMEOUT=1", "LANG=C"}, h.in(filepath.Join(pgBinDir, "psql"),
		"-X", "-A", "-t", "-q", "-h", h.Addr, "-p", "5432", "-U", "postgres", "-d", "postgres", "-c", sql)...)
	return strings.TrimSpace(out), err == nil
}

// primarySampler asks every host's server, from inside the host, whether
// it is a writable primary, over and over until stopped, and remembers the
// most primaries seen in one round.
type primarySampler struct {
	most   int
	when   time.Time
	who    []string
	rounds int
	stop   chan struct{}
	done   chan struct{}
}

// isPrimary fails on a server in recovery (a standby).
const isPrimary = `DO $$BEGIN IF pg_is_in_recovery() THEN RAISE EXCEPTION 'in recovery'; END IF; END$$`

func samplePrimaries(c *Cluster) *primarySampler {
	s := &primarySampler{stop: make(chan struct{}), done: make(chan struct{})}
	// One pooled connection per host, from inside it (pgwire.go): a psql
	// per host and round cost more CPU than the cluster under test.
	pools := make([]*pgPool, len(c.Net.Hosts))
	for i, h := range c.Net.Hosts {
		pools[i] = &pgPool{ns: h.NS, addr: net.JoinHostPort(h.Addr, "5432")}
	}
	go func() {
		defer close(s.done)
		defer func() {
			for _, p := range pools {
				p.close()
			}
		}()
		for {
			select {
			case <-s.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			var who []string
			for i, p := range pools {
				if p.exec(isPrimary, time.Second) == nil {
					who = append(who, NodeName(i))
				}
			}
			s.rounds++
			if len(who) > s.most {
				s.most, s.when, s.who = len(who), time.Now(), who
			}
		}
	}()
	return s
}

func (s *primarySampler) finish() { close(s.stop); <-s.done }

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
// inserts were acknowledged and when. Each insert is sent on its tick
// whether or not earlier ones have returned (as an application's many
// clients do): an insert stuck on a lost primary until its timeout does
// not hold back the ones after it, so the unavailability measured is the
// cluster's, not one client's timeout.
type writer struct {
	mu     sync.Mutex
	acked  []int
	times  []time.Time // when each acknowledged insert returned, in that order
	starts []time.Time // when it was sent
	stop   chan struct{}
	done   chan struct{}
	// cleanup, when set, runs once the writer has stopped.
	cleanup func()
}

// startWriter writes to the PostgreSQL server behind the VIP from the
// client host, over pooled connections (pgwire.go), with at most inFlight
// inserts outstanding (as an application's connection pool bounds them).
// Every insert stuck on a lost host holds its place until its 2 s timeout:
// pgInFlight (2 s of ticks) never runs out of places, so the first insert
// sent after the failover measures it; pafInFlight does, for PAF's
// instances, whose commits wait for a synchronous standby after a
// failover (ANY 1): inserts the client gave up on still hold a connection
// on the server, and 100 of them with the writer's own took all of them
// (PAF's monitor was refused).
func startWriter(n *Net, inFlight int) *writer {
	pool := &pgPool{ns: n.Client.NS, addr: net.JoinHostPort(pgVIP, "5432")}
	w := startWriterWith(inFlight, func(i int) bool {
		return pool.exec(fmt.Sprintf("INSERT INTO t VALUES (%d)", i), 2*time.Second) == nil
	})
	w.cleanup = pool.close
	return w
}

// The writer's bounds on inserts outstanding (startWriter).
const (
	pgInFlight  = 100
	pafInFlight = 20
)

// startWriterWith is startWriter with another database's insert: insert
// writes row i through the VIP and reports whether it was acknowledged;
// at most inFlight are outstanding at once (1: one after the other, for
// a client that starts a process per insert, whose starts at 50 a second
// would take the CPU the cluster under test needs).
func startWriterWith(inFlight int, insert func(i int) bool) *writer {
	w := &writer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		var wg sync.WaitGroup
		defer wg.Wait()
		slots := make(chan struct{}, inFlight)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			select {
			case slots <- struct{}{}:
			case <-w.stop:
				return
			}
			wg.Add(1)
			go func(i int, sent time.Time) {
				defer func() { <-slots; wg.Done() }()
				if insert(i) {
					w.mu.Lock()
					w.acked, w.times, w.starts = append(w.acked, i), append(w.times, time.Now()), append(w.starts, sent)
					w.mu.Unlock()
				}
			}(i, time.Now())
		}
	}()
	return w
}

func (w *writer) finish() {
	close(w.stop)
	<-w.done
	if w.cleanup != nil {
		w.cleanup()
	}
}

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

// maxGap is the longest time in [from, to] without an acknowledged write
// (from the window's start to the first acknowledgement, between two, and
// from the last to its end).
func (w *writer) maxGap(from, to time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	prev, gap := from, time.Duration(0)
	for _, at := range w.times {
		if at.Before(from) || at.After(to) {
			continue
		}
		gap = max(gap, at.Sub(prev))
		prev = at
	}
	return max(gap, to.Sub(prev))
}
