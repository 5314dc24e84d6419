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
	"syscall"
	"testing"
	"time"
)

// Issue 12, part 4: Debian's ocf:heartbeat:mysql (resource-agents,
// unmodified) with MariaDB (mariadb-server) replication as a promotable
// clone on three namespace hosts, a VIP colocated with the promoted
// instance and ordered after the promotion (the constraint
// commands), as the OpenStack HA guide runs MySQL under Pacemaker. The
// agent itself points the replicas at the promoted instance (CHANGE
// MASTER TO the address and binlog position it publishes with
// crm_attribute --type crm_config on promotion).

const (
	mysqlAgent = "/usr/lib/ocf/resource.d/heartbeat/mysql"
	// mysqlDir is every host's private MariaDB directory (a bind mount
	// in its mount namespace): my.cnf, the data directory, the log.
	mysqlDir    = "/var/lib/mysql"
	mysqlSocket = "/run/mysqld/mysqld.sock"
	mysqlUser   = "repl"
	mysqlPass   = "pl-e2e-repl"
)

// mysqlCommands create the clone and the VIP with the issue's
// constraints. The agent needs notify=true for its replicas to follow a
// new master.
var mysqlCommands = [][]string{
	{"resource", "create", "db", "ocf:heartbeat:mysql", "binary=/usr/bin/mysqld_safe", "config=" + mysqlDir + "/my.cnf",
		"datadir=" + mysqlDir + "/data", "pid=/run/mysqld/mysqld.pid", "socket=" + mysqlSocket, "log=" + mysqlDir + "/error.log",
		"user=mysql", "group=mysql", "replication_user=" + mysqlUser, "replication_passwd=" + mysqlPass,
		"--promotable", "notify=true",
		"--op", "start", "timeout=120s", "--op", "stop", "timeout=120s", "--op", "promote", "timeout=120s",
		"--op", "demote", "timeout=120s", "--op", "notify", "timeout=90s",
		"--op", "monitor", "interval=3s", "timeout=30s", "role=Promoted",
		"--op", "monitor", "interval=4s", "timeout=30s", "role=Unpromoted"},
	pgCommands[1], pgCommands[2], pgCommands[3],
}

// mysqlConf is host i's my.cnf: its own server id, binary log on. The
// init file creates the replication account on every start without
// writing it to the binary log (each server has its own).
func mysqlConf(i int) string {
	return fmt.Sprintf(`[mysqld]
user = mysql
server-id = %d
bind-address = 0.0.0.0
port = 3306
log-bin = mysql-bin
relay-log = relay-bin
log-slave-updates = 1
skip-name-resolve = 1
innodb_buffer_pool_size = 16M
performance_schema = 0
init-file = %s/init.sql

[client]
socket = %s
`, i+1, mysqlDir, mysqlSocket)
}

const mysqlInit = `SET sql_log_bin = 0;
CREATE USER IF NOT EXISTS '` + mysqlUser + `'@'%' IDENTIFIED BY '` + mysqlPass + `';
GRANT ALL ON *.* TO '` + mysqlUser + `'@'%' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS '` + mysqlUser + `'@'localhost' IDENTIFIED BY '` + mysqlPass + `';
GRANT ALL ON *.* TO '` + mysqlUser + `'@'localhost' WITH GRANT OPTION;
`

// needMySQL skips without MariaDB or the agent.
func needMySQL(t *testing.T) {
	t.Helper()
	for _, p := range []string{mysqlAgent, "/usr/bin/mysqld_safe", "/usr/bin/mariadb-install-db", "/usr/bin/mysql"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("e2e: %s is missing (apt-get install mariadb-server resource-agents)", p)
		}
	}
	if _, err := user.Lookup("mysql"); err != nil {
		t.Skip("e2e: no mysql user (apt-get install mariadb-server)")
	}
}

// mysqlSetup gives every host its own /var/lib/mysql (owned by mysql)
// with my.cnf, the init file and an initialised data directory.
func mysqlSetup(t *testing.T, n *Net) {
	t.Helper()
	u, _ := user.Lookup("mysql")
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.MkdirAll(mysqlDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, h := range n.Hosts {
		dir := filepath.Join(n.dir, "mysql", h.Name)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		os.Chown(dir, uid, gid)
		n.must("nsenter", "--mount="+h.mnt, "--", "mount", "--bind", dir, mysqlDir)
		if err := writeAs(h, "mysql", mysqlDir+"/my.cnf", mysqlConf(i), false); err != nil {
			t.Fatal(err)
		}
		if err := writeAs(h, "mysql", mysqlDir+"/init.sql", mysqlInit, false); err != nil {
			t.Fatal(err)
		}
		// Up to two minutes: on a loaded machine it takes longer than
		// Exec's 20 s.
		argv := h.in("mariadb-install-db", "--defaults-file="+mysqlDir+"/my.cnf", "--user=mysql",
			"--datadir="+mysqlDir+"/data", "--skip-test-db", "--auth-root-authentication-method=socket")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = h.Env
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = time.Second
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("mariadb-install-db on %s: %v: %s", h.Name, err, tail(out, 2000))
		}
	}
}

// mysqlSQL runs one statement with the mysql client as the replication
// account against addr from the client namespace (or, with h, inside
// host h); ok is false when it failed (not acknowledged).
func mysqlSQL(n *Net, h *Host, addr, sql string, limit time.Duration) (string, bool) {
	return mysqlRun(n, h, addr, sql, limit, "-N")
}

// mysqlRun is mysqlSQL with the client's output options (-N: values only;
// none: a header line of column names first), tab-separated.
func mysqlRun(n *Net, h *Host, addr, sql string, limit time.Duration, opts ...string) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	argv := append([]string{"mysql", "--no-defaults", "-B", "--connect-timeout=1", "-h", addr, "-P", "3306",
		"-u", mysqlUser, "-p" + mysqlPass}, opts...)
	argv = append(argv, "-e", sql)
	if h != nil {
		argv = h.in(argv...)
	} else {
		argv = append([]string{"nsenter", "--net=/run/netns/" + n.Client.NS, "--"}, argv...)
	}
	out, err := run(ctx, []string{"PATH=/usr/bin:/bin", "LANG=C"}, argv...)
	return strings.TrimSpace(out), err == nil
}

// mysqlRoles asks every host's server, from inside the host: node name
// to "master" (writable), "replica" (read-only, both replication threads
// running), "read-only" or "" (not reachable).
func mysqlRoles(c *Cluster) map[string]string {
	out := map[string]string{}
	for i, h := range c.Net.Hosts {
		v, ok := mysqlSQL(c.Net, h, h.Addr, "SELECT @@read_only", 3*time.Second)
		switch {
		case !ok:
			out[NodeName(i)] = ""
		case v == "0":
			out[NodeName(i)] = "master"
		default:
			out[NodeName(i)] = "read-only"
			if replicating(c.Net, h) {
				out[NodeName(i)] = "replica"
			}
		}
	}
	return out
}

// replicating reports whether h's server runs both replication threads
// (SHOW SLAVE STATUS: Slave_IO_Running and Slave_SQL_Running Yes).
func replicating(n *Net, h *Host) bool {
	out, ok := mysqlRun(n, h, h.Addr, "SHOW SLAVE STATUS", 3*time.Second)
	lines := strings.Split(out, "\n")
	if !ok || len(lines) < 2 {
		return false
	}
	names, values := strings.Split(lines[0], "\t"), strings.Split(lines[1], "\t")
	yes := 0
	for i, name := range names {
		if (name == "Slave_IO_Running" || name == "Slave_SQL_Running") && i < len(values) && values[i] == "Yes" {
			yes++
		}
	}
	return yes == 2
}

// mysqlHealthy waits until one server (not not) is the writable master
// holding the VIP and the two others replicate; it returns the master.
func mysqlHealthy(t *testing.T, c *Cluster, limit time.Duration, not string) string {
	t.Helper()
	m, roles, ok := mysqlMaster(c, limit, 2, not)
	if !ok {
		t.Fatalf("no writable master with two replicas and the VIP after %v: %v", limit, roles)
	}
	return m
}

// mysqlMaster waits up to limit for one writable server other than not,
// holding the VIP, with replicas others replicating; it returns the
// master, or the roles last seen and false.
func mysqlMaster(c *Cluster, limit time.Duration, replicas int, not string) (string, map[string]string, bool) {
	var roles map[string]string
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		roles = mysqlRoles(c)
		m, nm := oneOf(roles, "master")
		if _, nr := oneOf(roles, "replica"); nm != 1 || nr != replicas || m == not {
			continue
		}
		if ok, _ := Holds(c.Host(m), pgVIP); ok {
			return m, roles, true
		}
	}
	return "", roles, false
}

// TestMySQLPromotableClone: ocf:heartbeat:mysql, unmodified, under
// Paceline with MariaDB. One instance is promoted (writable), the two
// others replicate from it (Slave_IO_Running and Slave_SQL_Running: Yes,
// what ZStack's status shows), the VIP is on the master, and a client
// writes through the VIP every 20 ms. Then, PL_PG_RUNS times (default 1),
// the master's host crashes (Host.Crash): a replica is promoted, the
// other replica follows it, the VIP follows it; never two writable
// masters, the VIP never on two hosts. The agent replicates
// asynchronously, so rows acknowledged just before the crash may be
// missing: the count is reported, not asserted. The crashed host comes
// back with its agent and the old master replicates from the new one, no
// command needed.
func TestMySQLPromotableClone(t *testing.T) {
	needMySQL(t)
	runs := pgRuns(t) // PL_PG_RUNS, default 1: 3 or more for the figures
	n := NewNet(t, 3)
	mysqlSetup(t, n)
	c := NewClusterWith(t, n, compatAgentOptions(n))
	// The address each node publishes as the master's (the agent falls
	// back to `uname -n`, which every namespace host shares).
	for i, h := range n.Hosts {
		if _, err := helper(c, NodeName(i), "crm_attribute", "-N", NodeName(i), "-l", "forever", "-n", "db_mysql_master_IP", "-v", h.Addr); err != nil {
			t.Fatal(err)
		}
	}
	began := time.Now()
	for _, cmd := range mysqlCommands {
		c.Must(cmd...)
	}
	master := mysqlHealthy(t, c, 180*time.Second, "")
	for deadline := time.Now().Add(30 * time.Second); !promotedIn(c, "db", master); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("status does not show db Promoted on %s", master)
		}
	}
	t.Logf("mysql: master %s, two replicas, VIP on the master %v after the commands", master, time.Since(began).Round(100*time.Millisecond))
	if _, ok := mysqlSQL(n, nil, pgVIP, "CREATE DATABASE pl; CREATE TABLE pl.t (i int PRIMARY KEY)", 5*time.Second); !ok {
		t.Fatal("CREATE TABLE through the VIP failed")
	}
	w := startWriterWith(1, func(i int) bool {
		_, ok := mysqlSQL(n, nil, pgVIP, fmt.Sprintf("INSERT INTO pl.t VALUES (%d)", i), 2*time.Second)
		return ok
	})
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			w.finish()
		}
	})

	var unavail []time.Duration
	for run := range runs {
		time.Sleep(3 * time.Second)
		old := master
		h := c.Host(old)
		m := Watch(pgVIP, n.Hosts)
		most := 0
		stopSampling := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				select {
				case <-stopSampling:
					return
				case <-time.After(100 * time.Millisecond):
				}
				_, nm := oneOf(mysqlRoles(c), "master")
				most = max(most, nm)
			}
		}()
		at := time.Now()
		h.Crash()
		first, ok := time.Time{}, false
		for limit := time.Now().Add(90 * time.Second); !ok && time.Now().Before(limit); time.Sleep(100 * time.Millisecond) {
			first, ok = w.firstAfter(at)
		}
		time.Sleep(2 * time.Second)
		m.Stop()
		close(stopSampling)
		<-sampled
		if !ok {
			t.Fatalf("run %d: no write acknowledged within 90 s of the crash of %s (roles %v)", run+1, old, mysqlRoles(c))
		}
		u := first.Sub(w.lastBefore(at))
		unavail = append(unavail, u)
		if d := m.DualTime(); d > 0 {
			t.Errorf("run %d: VIP held by two hosts for %v:\n%s", run+1, d, m)
		}
		if most > 1 {
			t.Errorf("run %d: %d writable masters at once", run+1, most)
		}
		nm := mysqlHealthyOf(t, c, old)
		pc := &pgCluster{t: t, c: c, n: n, primary: nm}
		t.Logf("run %d: crash of %s: %s promoted, the other replica follows it; write unavailability %v (last acknowledged write before the crash to the first acknowledged of those sent after it); %s",
			run+1, old, nm, u.Round(10*time.Millisecond), mysqlMissing(n, w, nm))
		if ph, ok := pc.phasesSince(at); ok {
			t.Logf("run %d: node declared offline %v after the crash, promote dispatched %v later, ran %v, VIP started %v after it",
				run+1, ph.detect.Round(time.Millisecond), ph.dispatch.Round(time.Millisecond), ph.promote.Round(time.Millisecond), ph.vip.Round(time.Millisecond))
		}
		master = nm

		// The host boots again (its link and address, its agent): the
		// agent starts the old master as a replica of the new one, from
		// the binlog position published at the promotion (rows it had
		// and the new master lacks stay on it: the agent does not
		// rewind).
		h.Restore()
		c.StartAgent(h)
		mysqlHealthy(t, c, 120*time.Second, "")
	}
	w.finish()
	t.Logf("%d writes acknowledged; final master %s: %s", len(w.acked), master, mysqlMissing(n, w, master))
	t.Logf("SUMMARY mysql crash (%s) write unavailability: %s", compatTimings(), stats(unavail))
}

// mysqlHealthyOf waits for the master after a crash of old: one writable
// server other than old holding the VIP, the third server replicating.
func mysqlHealthyOf(t *testing.T, c *Cluster, old string) string {
	t.Helper()
	m, roles, ok := mysqlMaster(c, 60*time.Second, 1, old)
	if !ok {
		t.Fatalf("after the crash of %s: no new master with a replica and the VIP: %v", old, roles)
	}
	return m
}

// mysqlMissing says how many acknowledged writes the master at node lacks.
func mysqlMissing(n *Net, w *writer, node string) string {
	asked := time.Now()
	rows, ok := mysqlSQL(n, nil, subnet+strconv.Itoa(11+nodeIndex(node)), "SELECT i FROM pl.t", 5*time.Second)
	if !ok {
		return "rows not readable"
	}
	have, missing, acked := w.missing(rows, asked)
	return fmt.Sprintf("%d rows, %d of %d acknowledged writes missing (asynchronous replication)", have, missing, acked)
}

// nodeIndex is the 0-based host index of node nI.
func nodeIndex(node string) int {
	i, _ := strconv.Atoi(strings.TrimPrefix(node, "n"))
	return i - 1
}
