package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The Patroni side of `make bench-db` (BENCH_PATRONI=1; a benchmark, not
// a test: it runs only with PL_BENCH_PATRONI=1). The same three namespace
// hosts, private /var/lib/postgresql/15 and client writing through the
// VIP every 20 ms as TestPostgreSQLFailover*, with Debian's etcd-server (a
// member per host, v2 API), patroni (synchronous_mode on, pg_rewind) and
// vip-manager (the VIP on the host holding Patroni's leader key). Faults
// on the primary's host: kill (every process SIGKILLed; nothing removes
// the VIP from the dead host, as on a real host without a reset), link
// (its link cut), crash (Host.Crash). PL_PATRONI_TUNED=1 uses ttl 10,
// loop_wait 1, retry_timeout 4 instead of Patroni's defaults (30, 10,
// 10); PL_PG_RUNS trials per fault (default 1); PL_PATRONI_FAULTS lists
// the faults (default "kill link crash").

// patroniConf is host i's patroni.yml.
func patroniConf(n *Net, i int, tuned bool) string {
	h := n.Hosts[i]
	var etcd []string
	for _, o := range n.Hosts {
		etcd = append(etcd, o.Addr+":2379")
	}
	ttl, loop, retry := 30, 10, 10
	if tuned {
		ttl, loop, retry = 10, 1, 4
	}
	return fmt.Sprintf(`scope: pl
name: %s
restapi:
  listen: %s:8008
  connect_address: %s:8008
etcd:
  hosts: %s
bootstrap:
  dcs:
    ttl: %d
    loop_wait: %d
    retry_timeout: %d
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_wal_senders: 10
        max_replication_slots: 10
  initdb:
  - encoding: UTF8
postgresql:
  listen: 0.0.0.0:5432
  connect_address: %s:5432
  data_dir: /var/lib/postgresql/15/patroni
  bin_dir: %s
  pgpass: /var/lib/postgresql/15/pgpass
  authentication:
    superuser:
      username: postgres
      password: pl-e2e
    replication:
      username: replicator
      password: pl-e2e
    rewind:
      username: postgres
      password: pl-e2e
  parameters:
    unix_socket_directories: /var/lib/postgresql/15
  pg_hba:
  - local all all trust
  - host all all 127.0.0.1/32 trust
  - host all all %s0/24 trust
  - host replication all %s0/24 trust
`, NodeName(i), h.Addr, h.Addr, strings.Join(etcd, ","), ttl, loop, retry, h.Addr, pgBinDir, subnet, subnet)
}

// patroniHost starts etcd, patroni and vip-manager on host i.
func patroniHost(t *testing.T, n *Net, i int, tuned bool, started int) {
	h := n.Hosts[i]
	name := NodeName(i)
	var members []string
	for j, o := range n.Hosts {
		members = append(members, fmt.Sprintf("%s=http://%s:2380", NodeName(j), o.Addr))
	}
	data := filepath.Join(n.dir, "etcd-"+name)
	h.Start(fmt.Sprintf("%s-etcd-%d", name, started), "etcd", "--name", name, "--data-dir", data, "--enable-v2=true",
		"--listen-client-urls", "http://"+h.Addr+":2379", "--advertise-client-urls", "http://"+h.Addr+":2379",
		"--listen-peer-urls", "http://"+h.Addr+":2380", "--initial-advertise-peer-urls", "http://"+h.Addr+":2380",
		"--initial-cluster", strings.Join(members, ","), "--initial-cluster-state", "new", "--initial-cluster-token", "pl-e2e")
	conf := "/var/lib/postgresql/15/patroni.yml"
	if err := writeAs(h, "postgres", conf, patroniConf(n, i, tuned), false); err != nil {
		t.Fatal(err)
	}
	h.Start(fmt.Sprintf("%s-patroni-%d", name, started), "runuser", "-u", "postgres", "--", "patroni", conf)
	h.Start(fmt.Sprintf("%s-vip-manager-%d", name, started), "vip-manager", "--ip", pgVIP, "--netmask", "24", "--interface", hostLink,
		"--trigger-key", "/service/pl/leader", "--trigger-value", name, "--dcs-type", "etcd",
		"--dcs-endpoints", "http://"+h.Addr+":2379", "--interval", "100")
}

// TestPatroniFailoverBench measures Patroni's write unavailability.
func TestPatroniFailoverBench(t *testing.T) {
	if os.Getenv("PL_BENCH_PATRONI") != "1" {
		t.Skip("the Patroni benchmark runs with PL_BENCH_PATRONI=1 (make bench-db BENCH_PATRONI=1)")
	}
	needPostgres(t)
	for _, p := range []string{"patroni", "etcd", "vip-manager"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s is missing (apt-get install patroni etcd-server vip-manager)", p)
		}
	}
	tuned := os.Getenv("PL_PATRONI_TUNED") == "1"
	setting := "patroni defaults (ttl 30, loop_wait 10)"
	if tuned {
		setting = "patroni tuned (ttl 10, loop_wait 1)"
	}
	faults := strings.Fields(os.Getenv("PL_PATRONI_FAULTS"))
	if len(faults) == 0 {
		faults = []string{"kill", "link", "crash"}
	}
	n := NewNet(t, 3)
	privatePGDirs(t, n)
	for i := range n.Hosts {
		patroniHost(t, n, i, tuned, 1)
	}
	starts := 1
	c := &Cluster{t: t, Net: n} // only for the host helpers of pgRoles & co.
	pc := &pgCluster{t: t, c: c, n: n}
	pc.primary = patroniHealthy(t, pc, 180*time.Second, "")
	if out, ok := pgSQL(n, pgVIP, "CREATE TABLE t (i int PRIMARY KEY)", 15*time.Second); !ok {
		_, err := n.Client.Exec(filepath.Join(pgBinDir, "psql"), "-X", "-h", pgVIP, "-U", "postgres", "-d", "postgres", "-c", "SELECT 1")
		t.Fatalf("CREATE TABLE through the VIP failed: %q (roles %v; psql: %v)", out, pgRoles(c), err)
	}
	pc.w = startWriter(n, pgInFlight)
	defer pc.w.finish()
	for _, fault := range faults {
		var unavail []time.Duration
		for run := range pgRuns(t) {
			time.Sleep(3 * time.Second)
			old := pc.primary
			hi := nodeIndex(old)
			h := n.Hosts[hi]
			m := Watch(pgVIP, n.Hosts)
			at := time.Now()
			switch fault {
			case "kill":
				killNS(h.NS)
			case "link":
				h.LinkDown()
			case "crash":
				h.Crash()
			}
			first, ok := time.Time{}, false
			for limit := time.Now().Add(120 * time.Second); !ok && time.Now().Before(limit); time.Sleep(100 * time.Millisecond) {
				first, ok = pc.w.firstAfter(at)
			}
			m.Stop()
			if !ok {
				t.Fatalf("%s %s run %d: no write acknowledged within 120 s (roles %v)", setting, fault, run+1, pgRoles(c))
			}
			u := first.Sub(pc.w.lastBefore(at))
			unavail = append(unavail, u)
			roles := pgRoles(c)
			np, _ := oneOf(roles, "primary")
			fmt.Printf("PATRONI %s fault=%s run %d: %s -> %s, write unavailability %.2f s, VIP on two hosts for %v\n",
				setting, fault, run+1, old, np, u.Seconds(), m.DualTime().Round(time.Millisecond))
			pc.primary = np
			// The host comes back.
			switch fault {
			case "kill", "crash":
				if fault == "kill" {
					// Its VIP is still there (nothing removed it): a
					// reboot would drop it.
					h.freshRun()
					n.must("ip", "-n", h.NS, "addr", "flush", "dev", h.Link)
				}
				h.Restore()
				starts++
				patroniHost(t, n, hi, tuned, starts)
			case "link":
				h.LinkUp()
			}
			if d, ok := pc.waitStreaming(old, 120*time.Second); ok {
				fmt.Printf("PATRONI %s fault=%s run %d: old primary %s streaming again %.1f s after its return\n", setting, fault, run+1, old, d.Seconds())
			} else {
				t.Errorf("%s %s run %d: the old primary %s does not stream again within 120 s (roles %v)", setting, fault, run+1, old, pgRoles(c))
			}
			patroniHealthy(t, pc, 120*time.Second, "")
		}
		fmt.Printf("SUMMARY %s fault=%s write unavailability: %s\n", setting, fault, stats(unavail))
	}
	pc.checkRows(pc.primary)
}

// patroniHealthy waits for one primary with two streaming standbys, one
// of them synchronous, and the VIP on it.
func patroniHealthy(t *testing.T, pc *pgCluster, limit time.Duration, not string) string {
	t.Helper()
	var roles map[string]string
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		roles = pgRoles(pc.c)
		p, np := oneOf(roles, "primary")
		if _, ns := oneOf(roles, "standby"); np != 1 || ns != 2 || p == not {
			continue
		}
		if v, _ := pgSQL(pc.n, pc.n.Hosts[nodeIndex(p)].Addr, "SELECT count(*) FILTER (WHERE state = 'streaming') || ',' || count(*) FILTER (WHERE sync_state = 'sync') FROM pg_stat_replication", 3*time.Second); v != "2,1" {
			continue
		}
		if ok, _ := Holds(pc.n.Hosts[nodeIndex(p)], pgVIP); ok {
			return p
		}
	}
	t.Fatalf("patroni: no primary with two streaming standbys and the VIP after %v: %v", limit, roles)
	return ""
}
