package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Issue 12, part 4: PAF's ocf:heartbeat:pgsqlms (Debian's
// resource-agents-paf, unmodified) as a promotable clone on three
// namespace hosts, PostgreSQL 15 streaming replication set up the way
// PAF's quick start does it (one primary, two standbys cloned with
// pg_basebackup, primary_conninfo through the VIP with
// application_name=NODE, standby.signal), every instance stopped before
// the cluster takes it over; a VIP colocated with the promoted instance
// and ordered after the promotion (the constraint commands).

const (
	pafAgent = "/usr/lib/ocf/resource.d/heartbeat/pgsqlms"
	// pafPGData is every host's data directory and pafSocketDir its unix
	// socket directory (PAF's pghost), both in the host's private
	// /var/lib/postgresql/15 (privatePGDirs).
	pafPGData    = "/var/lib/postgresql/15/paf"
	pafSocketDir = "/var/lib/postgresql/15"
)

// pafCommands create the clone and the VIP with the constraints.
// PAF needs notify=true; the op timeouts are PAF's documented ones.
var pafCommands = [][]string{
	{"resource", "create", "db", "ocf:heartbeat:pgsqlms", "bindir=" + pgBinDir, "pgdata=" + pafPGData, "pghost=" + pafSocketDir,
		"--promotable", "notify=true",
		"--op", "start", "timeout=60s", "--op", "stop", "timeout=60s", "--op", "promote", "timeout=30s",
		"--op", "demote", "timeout=120s", "--op", "notify", "timeout=60s",
		"--op", "monitor", "interval=3s", "timeout=10s", "role=Promoted",
		"--op", "monitor", "interval=4s", "timeout=10s", "role=Unpromoted"},
	pgCommands[1], pgCommands[2], pgCommands[3],
}

// needPAF skips without PostgreSQL 15 or PAF.
func needPAF(t *testing.T) {
	t.Helper()
	needPostgres(t)
	if _, err := os.Stat(pafAgent); err != nil {
		t.Skip("e2e: PAF is not installed (apt-get install resource-agents-paf)")
	}
}

// asPostgres runs a PostgreSQL program of bindir as the postgres user on h.
func asPostgres(h *Host, prog string, args ...string) (string, error) {
	return h.Exec(append([]string{"runuser", "-u", "postgres", "--", filepath.Join(pgBinDir, prog)}, args...)...)
}

// pafConf is the postgresql.conf every instance shares (PAF's quick
// start, plus synchronous commit to any one standby so that no
// acknowledged write can be lost on failover).
const pafConf = `
listen_addresses = '*'
port = 5432
unix_socket_directories = '` + pafSocketDir + `'
wal_level = replica
max_wal_senders = 10
wal_keep_size = '256MB'
hot_standby = on
hot_standby_feedback = on
wal_receiver_timeout = '5s'
wal_retrieve_retry_interval = '1s'
synchronous_standby_names = 'ANY 1 (n1, n2, n3)'
shared_buffers = '16MB'
max_connections = 100
logging_collector = on
log_directory = 'log'
`

// pafHBA is host h's pg_hba.conf: trust on the test network, but no
// replication connection from the VIP or from h itself (PAF's quick
// start: an instance must never stream from itself).
func pafHBA(h *Host) string {
	return fmt.Sprintf(`local all all trust
host replication all %s/32 reject
host replication all %s/32 reject
host all all %s0/24 trust
host replication all %s0/24 trust
`, pgVIP, h.Addr, subnet, subnet)
}

// writeAs writes (or, with appendTo, appends) text to path on h as user.
func writeAs(h *Host, user, path, text string, appendTo bool) error {
	op := ">"
	if appendTo {
		op = ">>"
	}
	_, err := h.Exec("runuser", "-u", user, "--", "sh", "-c", `printf '%s' "$1" `+op+` "$2"`, "sh", text, path)
	return err
}

// pafStandbyConf gives node's instance its primary_conninfo (through the
// VIP, application_name=NODE, as PAF requires) and its pg_hba.conf.
func pafStandbyConf(t *testing.T, h *Host, node string) {
	t.Helper()
	conf := fmt.Sprintf("\nprimary_conninfo = 'host=%s port=5432 user=postgres application_name=%s'\n", pgVIP, node)
	if err := writeAs(h, "postgres", pafPGData+"/postgresql.conf", conf, true); err != nil {
		t.Fatalf("configuring %s: %v", h.Name, err)
	}
	if err := writeAs(h, "postgres", pafPGData+"/pg_hba.conf", pafHBA(h), false); err != nil {
		t.Fatalf("configuring %s: %v", h.Name, err)
	}
}

// pafSeed clones node's instance from the primary at addr with
// pg_basebackup (an empty data directory first) and makes it a standby.
func pafSeed(t *testing.T, h *Host, node, from string) {
	t.Helper()
	if _, err := h.Exec("rm", "-rf", pafPGData); err != nil {
		t.Fatal(err)
	}
	if _, err := asPostgres(h, "pg_basebackup", "-h", from, "-p", "5432", "-U", "postgres", "-D", pafPGData, "-X", "stream", "-c", "fast"); err != nil {
		t.Fatalf("pg_basebackup on %s from %s: %v", h.Name, from, err)
	}
	// The primary's own standby settings and logs are not the clone's.
	h.Exec("rm", "-rf", pafPGData+"/log", pafPGData+"/postmaster.opts")
	pafStandbyConf(t, h, node)
	if _, err := h.Exec("runuser", "-u", "postgres", "--", "touch", pafPGData+"/standby.signal"); err != nil {
		t.Fatal(err)
	}
}

// pafSetup builds the replicated database by hand on hosts h1 (primary),
// h2 and h3 (standbys), as an operator following PAF's quick start does,
// checks that both standbys stream, and stops every instance.
func pafSetup(t *testing.T, n *Net) {
	t.Helper()
	h1 := n.Hosts[0]
	if _, err := asPostgres(h1, "initdb", "-D", pafPGData, "-A", "trust", "-U", "postgres"); err != nil {
		t.Fatalf("initdb: %v", err)
	}
	if err := writeAs(h1, "postgres", pafPGData+"/postgresql.conf", pafConf, true); err != nil {
		t.Fatal(err)
	}
	pafStandbyConf(t, h1, "n1") // the primary_conninfo it uses once demoted
	// During set-up the VIP is added by hand on the primary (the quick
	// start's "ip addr add"), so the standbys' primary_conninfo works.
	n.must("ip", "-n", h1.NS, "addr", "add", pgVIP+"/24", "dev", h1.Link)
	if _, err := asPostgres(h1, "pg_ctl", "-D", pafPGData, "-l", pafSocketDir+"/setup-h1.log", "-w", "start"); err != nil {
		t.Fatalf("starting the primary: %v", err)
	}
	for i, h := range n.Hosts[1:] {
		pafSeed(t, h, NodeName(i+1), h1.Addr)
		if _, err := asPostgres(h, "pg_ctl", "-D", pafPGData, "-l", pafSocketDir+"/setup-"+h.Name+".log", "-w", "start"); err != nil {
			t.Fatalf("starting the standby on %s: %v", h.Name, err)
		}
	}
	v := ""
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && v != "2"; time.Sleep(200 * time.Millisecond) {
		v, _ = pgLocal(h1, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", 3*time.Second)
	}
	if v != "2" {
		t.Fatalf("set-up: %q standbys streaming from h1, want 2", v)
	}
	for _, h := range []*Host{n.Hosts[2], n.Hosts[1], h1} {
		if _, err := asPostgres(h, "pg_ctl", "-D", pafPGData, "-w", "-m", "fast", "stop"); err != nil {
			t.Fatalf("stopping the instance on %s: %v", h.Name, err)
		}
	}
	n.must("ip", "-n", h1.NS, "addr", "del", pgVIP+"/24", "dev", h1.Link)
}

// pafHealthy waits until one instance is a primary (not old) holding the
// VIP and the two others stream from it; it returns the primary.
func pafHealthy(t *testing.T, c *Cluster, limit time.Duration, not string) string {
	t.Helper()
	var roles map[string]string
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		roles = pgRoles(c)
		p, np := oneOf(roles, "primary")
		if _, ns := oneOf(roles, "standby"); np != 1 || ns != 2 || p == not {
			continue
		}
		if v, _ := pgSQL(c.Net, c.Host(p).Addr, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", 3*time.Second); v != "2" {
			continue
		}
		if ok, _ := Holds(c.Host(p), pgVIP); ok {
			return p
		}
	}
	t.Fatalf("no primary with two streaming standbys and the VIP after %v: %v", limit, roles)
	return ""
}

// compatAgentOptions are the agents' options of the Debian-agent tests:
// with PL_PG_PROFILE set, that profile; otherwise the default profile
// with leases tolerant of a loaded machine (heartbeat 500 ms, TTL 5 s,
// through the agents' environment), since on 2 cores shared with other
// test runs (load 15 to 20) the default 1.5 s leases lapsed, and every
// node stopped its instances, more often than the faults under test.
func compatAgentOptions(n *Net) Options {
	if os.Getenv("PL_PG_PROFILE") != "" {
		return Options{AgentArgs: []string{"--profile", pgProfile(n.t)}}
	}
	for _, h := range n.Hosts {
		h.Env = append(h.Env, "PACELINE_HEARTBEAT=500ms", "PACELINE_LEASE_TTL=5s")
	}
	return Options{}
}

// compatTimings names the lease timings compatAgentOptions chose.
func compatTimings() string {
	if os.Getenv("PL_PG_PROFILE") != "" {
		return "profile " + os.Getenv("PL_PG_PROFILE")
	}
	return "heartbeat 500ms, lease TTL 5s"
}

// promotedIn reports whether status shows rsc's instance on node Promoted.
func promotedIn(c *Cluster, rsc, node string) bool {
	st, err := c.Status()
	if err != nil {
		return false
	}
	for _, r := range st.Resources {
		for _, in := range r.Instances {
			if r.ID == rsc && in.Node == node && in.Role == "Promoted" {
				return true
			}
		}
	}
	return false
}

// TestPAFPromotableClone: PAF's pgsqlms, unmodified, under Paceline. The
// cluster promotes the instance that was the primary (PAF's master score
// 1 for a cleanly shut down primary), the VIP follows it, and a client
// writes through the VIP every 20 ms. Then, PL_PG_RUNS times (default 1),
// the primary's host crashes (Host.Crash: every process SIGKILLed, its
// addresses gone, its link down, as a watchdog reset leaves it), a
// standby is promoted (PAF's pre-promote election of the most advanced
// one), the VIP follows; no
// acknowledged write is missing, never two writable primaries, the VIP
// never on two hosts. PAF cannot bring a crashed primary back by itself
// (its documentation's procedure is an operator's rebuild), so the test
// rebuilds the old primary's data directory with pg_basebackup from the
// new primary, starts the host's agent again and runs `paceline resource
// cleanup db`, as the operator would, until the three instances stream
// again.
func TestPAFPromotableClone(t *testing.T) {
	needPAF(t)
	runs := pgRuns(t) // PL_PG_RUNS, default 1: 3 or more for the figures
	n := NewNet(t, 3)
	privatePGDirs(t, n)
	pafSetup(t, n)
	// No simulated watchdog: with one, a leader change on this loaded
	// machine (2 cores, load 10 and more) let every lease lapse and the
	// watchdogs reset the surviving hosts too. The crash below is what a
	// watchdog reset does to the primary's host.
	c := NewClusterWith(t, n, compatAgentOptions(n))
	began := time.Now()
	for _, cmd := range pafCommands {
		c.Must(cmd...)
	}
	primary := pafHealthy(t, c, 120*time.Second, "")
	if primary != "n1" {
		t.Errorf("PAF promoted %s; the cleanly shut down primary was n1", primary)
	}
	// Status names the promoted instance (polled by hand: WaitStatus
	// takes a clone's three instances for one resource on three nodes).
	for deadline := time.Now().Add(30 * time.Second); !promotedIn(c, "db", primary); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("status does not show db Promoted on %s", primary)
		}
	}
	t.Logf("PAF: primary %s, two streaming standbys, VIP on the primary %v after the commands", primary, time.Since(began).Round(100*time.Millisecond))
	if _, ok := pgSQL(n, pgVIP, "CREATE TABLE t (i int PRIMARY KEY)", 5*time.Second); !ok {
		t.Fatal("CREATE TABLE through the VIP failed")
	}
	pc := &pgCluster{t: t, c: c, n: n, primary: primary, w: startWriter(n, pafInFlight)}
	t.Cleanup(func() {
		select {
		case <-pc.w.done:
		default:
			pc.w.finish()
		}
	})

	var unavail []time.Duration
	for run := range runs {
		time.Sleep(3 * time.Second)
		old := pc.primary
		h := c.Host(old)
		m := Watch(pgVIP, n.Hosts)
		ps := samplePrimaries(c)
		at := time.Now()
		h.Crash()
		killed := time.Now()
		first, ok := time.Time{}, false
		for limit := time.Now().Add(90 * time.Second); !ok && time.Now().Before(limit); time.Sleep(100 * time.Millisecond) {
			first, ok = pc.w.firstAfter(killed)
		}
		time.Sleep(2 * time.Second)
		m.Stop()
		ps.finish()
		if !ok {
			t.Fatalf("run %d: no write acknowledged within 90 s of the crash of %s (roles %v)", run+1, old, pgRoles(c))
		}
		u := first.Sub(pc.w.lastBefore(at))
		unavail = append(unavail, u)
		if d := m.DualTime(); d > 0 {
			t.Errorf("run %d: VIP held by two hosts for %v:\n%s", run+1, d, m)
		}
		if ps.most > 1 {
			t.Errorf("run %d: %d writable primaries at once (%v)", run+1, ps.most, ps.who)
		}
		roles := pgRoles(c)
		np, count := oneOf(roles, "primary")
		if count != 1 || np == old {
			t.Fatalf("run %d: after the crash of %s: roles %v", run+1, old, roles)
		}
		if ok, _ := Holds(c.Host(np), pgVIP); !ok {
			t.Errorf("run %d: the VIP is not on the new primary %s", run+1, np)
		}
		rows := pc.checkRows(np)
		t.Logf("run %d: crash of %s: %s promoted; write unavailability %v (last acknowledged write before the crash to the first acknowledged of those sent after it); %d rows, primaries sampled %d times, never more than %d",
			run+1, old, np, u.Round(10*time.Millisecond), rows, ps.rounds, ps.most)
		t.Logf("run %d: last write acknowledged %v before the crash, first after it %v after; what the cluster did:%s", run+1,
			at.Sub(pc.w.lastBefore(at)).Round(10*time.Millisecond), first.Sub(at).Round(10*time.Millisecond), pc.roleChanges(at))
		if ph, ok := pc.phasesSince(at); ok {
			t.Logf("run %d: node declared offline %v after the crash, promote dispatched %v later (pre-promote notifications), ran %v, VIP started %v after it (post-promote notifications)",
				run+1, ph.detect.Round(time.Millisecond), ph.dispatch.Round(time.Millisecond), ph.promote.Round(time.Millisecond), ph.vip.Round(time.Millisecond))
		}
		pc.primary = np

		// The operator's rebuild of the old primary (the host booted
		// again: its link and address, its agent).
		h.Restore()
		pafSeed(t, h, old, c.Host(np).Addr)
		c.StartAgent(h)
		c.Must("resource", "cleanup", "db")
		back := time.Now()
		// Usually the rebuilt instance streams from np; on a loaded
		// machine a lease lapse may have restarted the clone and PAF
		// elected another primary: one primary, two standbys either way.
		pc.primary = pafHealthy(t, c, 180*time.Second, "")
		t.Logf("run %d: rebuilt %s: primary %s with two streaming standbys %v after the agent's start", run+1, old, pc.primary,
			time.Since(back).Round(100*time.Millisecond))
	}
	pc.w.finish()
	rows := pc.checkRows(pc.primary)
	t.Logf("%d writes acknowledged, %d rows on the final primary %s, none missing", len(pc.w.acked), rows, pc.primary)
	t.Logf("SUMMARY pgsqlms crash (%s) write unavailability: %s", compatTimings(), stats(unavail))
}
