package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/test/testenv"
)

// Issue 12's faults on the primary's host and its planned switchover,
// with builtin:postgresql as a promotable clone on three namespace hosts
// (synchronous=on, the VIP colocated with the promoted role; the issue's
// exact commands) and a client writing through the VIP every 20 ms.
//
// PL_PG_RUNS (default 1) repeats the fault (or switchover) on the same
// cluster and prints min/median/max; PL_PG_PROFILE=fast starts the agents
// with --profile fast (default: the default timings).

// pgRuns is PL_PG_RUNS.
func pgRuns(t *testing.T) int { return testenv.Count(t, "PL_PG_RUNS", 1) }

// pgProfile is PL_PG_PROFILE: "fast" or "default".
func pgProfile(t *testing.T) string {
	switch v := os.Getenv("PL_PG_PROFILE"); v {
	case "", "default":
		return "default"
	case "fast":
		return v
	default:
		t.Fatalf("PL_PG_PROFILE %q: want fast or default", v)
	}
	return ""
}

// pgCluster is a running database cluster under test.
type pgCluster struct {
	t       *testing.T
	c       *Cluster
	n       *Net
	primary string
	w       *writer
}

// startPG builds the cluster (with a simulated watchdog per host when
// watchdog is set: a host whose agent dies is reset, as a real one with
// /dev/watchdog is), runs the commands, waits for one primary with
// a synchronous standby and the VIP, creates table t and starts the
// writer.
func startPG(t *testing.T, watchdog bool) *pgCluster {
	needPostgres(t)
	profile := pgProfile(t)
	n := NewNet(t, 3)
	privatePGDirs(t, n)
	o := Options{AgentArgs: []string{"--profile", profile}}
	if watchdog {
		o.WatchdogTimeout = time.Second
		if profile == "fast" {
			o.WatchdogTimeout = 300 * time.Millisecond
		}
	}
	c := NewClusterWith(t, n, o)
	if watchdog {
		// A host without its agent is reset by its watchdog: its lease
		// plus the watchdog timeout passed, it is known down.
		c.Must("property", "set", "stonith-enabled=true")
	}
	started := time.Now()
	for _, cmd := range pgCommands {
		c.Must(cmd...)
	}
	pc := &pgCluster{t: t, c: c, n: n}
	pc.primary = pc.waitHealthy(120*time.Second, "")
	t.Logf("profile %s: 1 primary (%s) + 2 streaming standbys, VIP on the primary, %v after the commands", profile, pc.primary,
		time.Since(started).Round(100*time.Millisecond))
	if _, ok := pgSQL(n, pgVIP, "CREATE TABLE t (i int PRIMARY KEY)", 5*time.Second); !ok {
		t.Fatal("CREATE TABLE through the VIP failed")
	}
	pc.w = startWriter(n, pgInFlight)
	t.Cleanup(func() {
		select {
		case <-pc.w.done:
		default:
			pc.w.finish()
		}
	})
	return pc
}

// waitHealthy waits until one server is primary (want, when set) with a
// synchronous streaming standby, the two others are standbys and the VIP
// is on the primary; it returns the primary.
func (pc *pgCluster) waitHealthy(limit time.Duration, want string) string {
	pc.t.Helper()
	var roles map[string]string
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		roles = pgRoles(pc.c)
		p, np := oneOf(roles, "primary")
		_, ns := oneOf(roles, "standby")
		if np != 1 || ns != 2 || (want != "" && p != want) {
			continue
		}
		if v, _ := pgSQL(pc.n, pc.c.Host(p).Addr, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND sync_state = 'sync'", 3*time.Second); v != "1" {
			continue
		}
		if ok, _ := Holds(pc.c.Host(p), pgVIP); ok {
			return p
		}
	}
	if out, err := pc.c.Paceline(pc.c.Net.Client, "status"); err == nil {
		pc.t.Logf("status:\n%s", out)
	}
	pc.t.Fatalf("no primary %s with a synchronous standby and the VIP after %v: %v", want, limit, roles)
	return ""
}

// waitPublishedSync waits until status shows node's instance as the
// synchronous standby (its monitor has published what the primary says;
// until then a switchover to it is refused, its promotion score being
// -INFINITY).
func (pc *pgCluster) waitPublishedSync(node string) {
	pc.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		st, err := pc.c.Status()
		if err != nil {
			continue
		}
		for _, r := range st.Resources {
			for _, in := range r.Instances {
				if r.ID == "db" && in.Node == node && in.Replication != nil && in.Replication.Sync == "sync" {
					return
				}
			}
		}
	}
	pc.t.Fatalf("status does not show %s as the synchronous standby after 30 s", node)
}

// syncStandby is the standby the primary names synchronous.
func (pc *pgCluster) syncStandby() string {
	v, _ := pgSQL(pc.n, pc.c.Host(pc.primary).Addr, "SELECT application_name FROM pg_stat_replication WHERE sync_state = 'sync'", 3*time.Second)
	return v
}

// checkRows fails the test unless every write acknowledged before now is
// in table t on node's server; it returns the row count.
func (pc *pgCluster) checkRows(node string) int {
	pc.t.Helper()
	asked := time.Now()
	rows, ok := pgSQL(pc.n, pc.c.Host(node).Addr, "SELECT i FROM t", 5*time.Second)
	if !ok {
		pc.t.Fatalf("reading t on %s failed", node)
	}
	have, missing, acked := pc.w.missing(rows, asked)
	if missing > 0 {
		pc.t.Errorf("%d of %d acknowledged rows missing on %s (synchronous=on)", missing, acked, node)
	}
	return have
}

// missing compares rows (the values of column i, one per line, read by a
// query sent at asked) with the writes w had acknowledged before asked:
// how many rows, how many of those acknowledged values are missing, of how
// many. (A write acknowledged after asked may have committed after the
// query's snapshot.)
func (w *writer) missing(rows string, asked time.Time) (have, missing, acked int) {
	w.mu.Lock()
	var ack []int
	for i, at := range w.times {
		if at.Before(asked) {
			ack = append(ack, w.acked[i])
		}
	}
	w.mu.Unlock()
	in := map[string]bool{}
	for _, r := range strings.Fields(rows) {
		in[r] = true
	}
	for _, i := range ack {
		if !in[strconv.Itoa(i)] {
			missing++
		}
	}
	return len(in), missing, len(ack)
}

// waitStreaming waits until node's server streams from the primary.
func (pc *pgCluster) waitStreaming(node string, limit time.Duration) (time.Duration, bool) {
	began := time.Now()
	for deadline := began.Add(limit); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		v, _ := pgSQL(pc.n, pc.c.Host(pc.primary).Addr, "SELECT count(*) FROM pg_stat_replication WHERE application_name = '"+node+"' AND state = 'streaming'", 3*time.Second)
		if v == "1" {
			return time.Since(began), true
		}
	}
	return 0, false
}

// stats is min/median/max of ds.
func stats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("min %.2f s, median %.2f s, max %.2f s (%d runs)", s[0].Seconds(), s[len(s)/2].Seconds(), s[len(s)-1].Seconds(), len(s))
}

// TestPostgreSQLFailover: the primary's host crashes (every process
// SIGKILLed, its addresses gone, its link down); the synchronous standby
// is promoted, the VIP follows it, every acknowledged row is on the new
// primary and there is never more than one primary; when the host comes
// back (agent started again, no other command), its old primary is
// rewound and streams from the new one.
func TestPostgreSQLFailover(t *testing.T) { pgFailover(t, "crash") }

// The same with the primary's link cut instead (its processes live on,
// isolated: the agent's lease runs out and it stops what it runs); the
// link restored, the old primary rejoins by itself.
func TestPostgreSQLFailoverLinkCut(t *testing.T) { pgFailover(t, "link") }

// The same with every process of the primary's host SIGKILLed (its link
// and addresses stay): its watchdog, no longer fed, resets the host; the
// host boots again (agent started, nothing else).
func TestPostgreSQLFailoverKill(t *testing.T) { pgFailover(t, "kill") }

// pgFailover runs the failover scenario with fault "crash" (Host.Crash,
// then Restore and the agent started again), "link" (LinkDown, then LinkUp
// and nothing else) or "kill" (every process killed, the watchdog resets
// the host, then Restore and the agent started again), PL_PG_RUNS times.
func pgFailover(t *testing.T, fault string) {
	pc := startPG(t, fault == "kill")
	c, n := pc.c, pc.n
	var unavail, firstAck, rejoin, detect, dispatch, promote, vip []time.Duration
	for run := range pgRuns(t) {
		time.Sleep(3 * time.Second)
		// Steady state: the synchronous standby's own monitor has
		// published it synchronous (its promotion score), as it is a few
		// seconds after the role last moved.
		pc.waitPublishedSync(pc.syncStandby())
		primary := pc.primary
		h := c.Host(primary)
		m := Watch(pgVIP, n.Hosts)
		ps := samplePrimaries(c)
		at := time.Now()
		switch fault {
		case "crash":
			h.Crash()
		case "link":
			h.LinkDown()
		case "kill":
			killNS(h.NS)
		}
		killed := time.Now() // every process of the host is dead (or it is cut off) by now
		first, ok := time.Time{}, false
		for limit := time.Now().Add(60 * time.Second); !ok && time.Now().Before(limit); time.Sleep(100 * time.Millisecond) {
			first, ok = pc.w.firstAfter(killed)
		}
		if !ok {
			m.Stop()
			ps.finish()
			t.Fatalf("no write acknowledged within 60 s of the fault (%s) on %s (roles %v)", fault, primary, pgRoles(c))
		}
		time.Sleep(2 * time.Second)
		m.Stop()
		ps.finish()
		u := first.Sub(pc.w.lastBefore(at))
		unavail, firstAck = append(unavail, u), append(firstAck, first.Sub(at))
		t.Logf("run %d: failover (%s of %s): write unavailability %v (last acknowledged write before the fault to the first acknowledged of those sent after it); first ack %v after the fault",
			run+1, fault, primary, u.Round(10*time.Millisecond), first.Sub(at).Round(10*time.Millisecond))
		if d := m.DualTime(); d > 0 {
			t.Errorf("VIP held by two hosts for %v:\n%s", d, m)
		}
		if ps.most > 1 {
			t.Errorf("%d writable primaries at once (%v) at %v after the fault", ps.most, ps.who, ps.when.Sub(at))
		}
		roles := pgRoles(c)
		newPrimary, np := oneOf(roles, "primary")
		if np != 1 || newPrimary == primary {
			t.Fatalf("after the fault on %s: roles %v", primary, roles)
		}
		if ok, _ := Holds(c.Host(newPrimary), pgVIP); !ok {
			t.Errorf("the VIP is not on the new primary %s", newPrimary)
		}
		rows := pc.checkRows(newPrimary)
		t.Logf("run %d: %d rows on the new primary %s, primaries sampled %d times, never more than %d", run+1, rows, newPrimary, ps.rounds, ps.most)
		t.Logf("run %d: what the cluster did:%s", run+1, pc.roleChanges(at))
		if ph, ok := pc.phasesSince(at); ok {
			detect, dispatch, promote, vip = append(detect, ph.detect), append(dispatch, ph.dispatch), append(promote, ph.promote), append(vip, ph.vip)
			t.Logf("run %d: node declared offline %v after the fault, promote dispatched %v later, ran %v, VIP started %v after it",
				run+1, ph.detect.Round(time.Millisecond), ph.dispatch.Round(time.Millisecond), ph.promote.Round(time.Millisecond), ph.vip.Round(time.Millisecond))
		}
		pc.primary = newPrimary

		// The old primary's host comes back; its agent is started again
		// (a reboot) and nothing else is done.
		back := time.Now()
		switch fault {
		case "crash":
			h.Restore()
			c.StartAgent(h)
		case "link":
			h.LinkUp()
		case "kill":
			// The watchdog reset the host (its addresses are gone); it
			// boots: an empty /run, its address, its agent.
			h.freshRun()
			h.Restore()
			c.StartAgent(h)
		}
		d, ok := pc.waitStreaming(primary, 90*time.Second)
		if !ok {
			if b, err := h.ReadFile(RunDir(primary) + "/pgsql-db.log"); err == nil {
				t.Logf("--- %s's PostgreSQL log ---\n%s", primary, tail(b, 6000))
			}
			t.Fatalf("the old primary %s is not streaming from %s 90 s after its return (roles %v)", primary, newPrimary, pgRoles(c))
		}
		rejoin = append(rejoin, time.Since(back))
		t.Logf("run %d: old primary %s streaming again as a standby %v after its return (%s)", run+1, primary, d.Round(100*time.Millisecond), fault)
		pc.waitHealthy(60*time.Second, newPrimary)
	}
	// Settled: the old primaries are standbys streaming from the last
	// primary, with every acknowledged row.
	pc.w.finish()
	time.Sleep(2 * time.Second)
	roles := pgRoles(c)
	if p, np := oneOf(roles, "primary"); np != 1 || p != pc.primary {
		t.Errorf("roles at the end: %v", roles)
	}
	rows := pc.checkRows(pc.primary)
	for node := range roles {
		// A standby replays what it receives a little later (on a loaded
		// machine, seconds later).
		v := ""
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			if v, _ = pgSQL(n, c.Host(node).Addr, "SELECT count(*) FROM t", 3*time.Second); v == strconv.Itoa(rows) {
				break
			}
		}
		if v != strconv.Itoa(rows) {
			t.Errorf("%s has %q of the %d rows 30 s after the last write (streaming from %s: %q)", node, v, rows, pc.primary,
				func() string {
					s, _ := pgSQL(n, c.Host(pc.primary).Addr, "SELECT string_agg(application_name || '=' || state, ',') FROM pg_stat_replication", 3*time.Second)
					return s
				}())
		}
	}
	t.Logf("%d writes acknowledged in all, none missing", len(pc.w.acked))
	t.Logf("SUMMARY fault=%s profile=%s write unavailability: %s", fault, pgProfile(t), stats(unavail))
	t.Logf("SUMMARY fault=%s profile=%s first acknowledged write after the fault: %s", fault, pgProfile(t), stats(firstAck))
	t.Logf("SUMMARY fault=%s profile=%s old primary streaming again after its return: %s", fault, pgProfile(t), stats(rejoin))
	t.Logf("SUMMARY fault=%s profile=%s phases: detection %s; promote dispatched after %s; promote ran %s; VIP started after %s",
		fault, pgProfile(t), stats(detect), stats(dispatch), stats(promote), stats(vip))
}

// Issue 12 part 2 and 3: `paceline resource switchover db-clone NODE`
// moves the primary to the synchronous standby while the client writes:
// the old primary is demoted, the target promoted once it has every
// commit, the VIP follows; no acknowledged write is lost, the temporary
// constraint is gone, and the old primary streams from the new one. Status
// shows every instance's replication health, and an impossible switchover
// is refused with one line.
func TestPostgreSQLSwitchover(t *testing.T) {
	pc := startPG(t, false)
	c := pc.c
	time.Sleep(3 * time.Second) // every standby's monitor has run since it began to stream
	out := c.Must("status", "--attributes")
	if !strings.Contains(out, "* Replication (db):") {
		t.Errorf("status shows no replication health:\n%s", out)
	}
	t.Logf("status:\n%s", out)
	var st struct {
		Resources []struct {
			ID        string `json:"id"`
			Instances []struct {
				Node        string `json:"node"`
				Role        string `json:"role"`
				Replication *struct {
					Role     string `json:"role"`
					Timeline int    `json:"timeline"`
					Sync     string `json:"sync"`
				} `json:"replication"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal([]byte(c.Must("status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	for _, r := range st.Resources {
		if r.ID != "db" {
			continue
		}
		for _, in := range r.Instances {
			if in.Replication == nil || (in.Node == pc.primary) != (in.Replication.Role == "primary") || in.Replication.Timeline < 1 {
				t.Errorf("status --json: instance %+v (primary %s) replication %+v", in, pc.primary, in.Replication)
			}
		}
	}
	// The asynchronous ("potential") standby cannot be promoted: refused.
	sync := pc.syncStandby()
	for i := range pc.n.Hosts {
		if name := NodeName(i); name != sync && name != pc.primary {
			out, err := c.Paceline(pc.n.Client, "resource", "switchover", "db-clone", name)
			if err == nil || !strings.Contains(err.Error(), "cannot be promoted on "+name) {
				t.Errorf("switchover to the potential standby %s: %v %q", name, err, out)
			} else {
				t.Logf("refused as it should be: %s", lastLine(err.Error()))
			}
		}
	}

	var unavail, took []time.Duration
	for run := range pgRuns(t) {
		time.Sleep(2 * time.Second)
		from, to := pc.primary, pc.syncStandby()
		pc.waitPublishedSync(to)
		m := Watch(pgVIP, pc.n.Hosts)
		ps := samplePrimaries(c)
		began := time.Now()
		t.Logf("run %d: switchover to %s at %s", run+1, to, began.UTC().Format("15:04:05.000"))
		out := c.Must("resource", "switchover", "db-clone", to)
		ended := time.Now()
		time.Sleep(2 * time.Second)
		m.Stop()
		ps.finish()
		gap := pc.w.maxGap(began.Add(-time.Second), ended.Add(time.Second))
		unavail, took = append(unavail, gap), append(took, ended.Sub(began))
		t.Logf("run %d: %s -> %s: %s; write unavailability (longest time without an acknowledged write) %v, command %v",
			run+1, from, to, strings.TrimSpace(out), gap.Round(10*time.Millisecond), ended.Sub(began).Round(10*time.Millisecond))
		if d := m.DualTime(); d > 0 {
			t.Errorf("VIP held by two hosts for %v:\n%s", d, m)
		}
		if ps.most > 1 {
			t.Errorf("%d writable primaries at once (%v)", ps.most, ps.who)
		}
		t.Logf("run %d: what the cluster did:%s", run+1, pc.roleChanges(began))
		roles := pgRoles(c)
		if p, np := oneOf(roles, "primary"); np != 1 || p != to {
			t.Fatalf("after the switchover to %s: roles %v", to, roles)
		}
		if ok, _ := Holds(c.Host(to), pgVIP); !ok {
			t.Errorf("the VIP is not on the new primary %s", to)
		}
		pc.primary = to
		pc.checkRows(to)
		if strings.Contains(c.Must("constraint", "list"), "cli-switchover-") {
			t.Error("the switchover's temporary constraint is still there")
		}
		if _, ok := pc.waitStreaming(from, 60*time.Second); !ok {
			t.Fatalf("the old primary %s does not stream from %s", from, to)
		}
		pc.waitHealthy(60*time.Second, to)
	}
	pc.w.finish()
	rows := pc.checkRows(pc.primary)
	t.Logf("%d writes acknowledged, %d rows on the primary %s, none missing", len(pc.w.acked), rows, pc.primary)
	t.Logf("SUMMARY switchover profile=%s write unavailability: %s", pgProfile(t), stats(unavail))
	t.Logf("SUMMARY switchover profile=%s command duration: %s", pgProfile(t), stats(took))
}

// roleChanges is what every agent logged about the database's role
// changes and the VIP since since.
func (pc *pgCluster) roleChanges(since time.Time) string {
	var keep []string
	for _, a := range pc.c.allAgents() {
		for _, l := range strings.Split(GrepLog(a.ReadLog(), since, "controller:"), "\n") {
			if strings.Contains(l, "_promote_") || strings.Contains(l, "_demote_") || strings.Contains(l, "db-vip_st") ||
				strings.Contains(l, "lease") || strings.Contains(l, "offline") {
				keep = append(keep, l)
			}
		}
	}
	return strings.Join(keep, "\n")
}

// phases is where a failover's time went, read from the agents' logs:
// detection (the fault to the node declared offline), the promote's
// dispatch and run, and the VIP's start after it.
type phases struct{ detect, dispatch, promote, vip time.Duration }

func (pc *pgCluster) phasesSince(at time.Time) (phases, bool) {
	var offline, dispatched, promoted, vipUp time.Time
	for _, a := range pc.c.allAgents() {
		log := a.ReadLog()
		if t, ok := LogTime(log, "-> offline", at); ok && (offline.IsZero() || t.Before(offline)) {
			offline = t
		}
		// "controller: dispatch n2/db_promote_0" (the result's line goes on
		// with " rc=").
		if t, ok := LogTime(log, "_promote_0\"", at); ok && (dispatched.IsZero() || t.Before(dispatched)) {
			dispatched = t
		}
		if t, ok := LogTime(log, "_promote_0 rc=0", at); ok && (promoted.IsZero() || t.Before(promoted)) {
			promoted = t
		}
		if t, ok := LogTime(log, "db-vip_start_0 rc=0", at); ok && (vipUp.IsZero() || t.Before(vipUp)) {
			vipUp = t
		}
	}
	if offline.IsZero() || dispatched.IsZero() || promoted.IsZero() || vipUp.IsZero() {
		return phases{}, false
	}
	return phases{offline.Sub(at), dispatched.Sub(offline), promoted.Sub(dispatched), vipUp.Sub(promoted)}, true
}
