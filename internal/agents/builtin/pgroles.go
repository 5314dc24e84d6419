package builtin

// builtin:postgresql's monitor, promote, demote and notify: the role
// changes and the upkeep of a running primary or standby.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paceline/paceline/internal/agents"
)

// monitor reports the role (8 primary, 0 standby or waiting empty, 7
// stopped) and keeps the instance in shape: a primary its slots and
// synchronous_standby_names, a standby its primary_conninfo; both publish
// their replication state and promotion score.
func (in *pgInstance) monitor(ctx context.Context) agents.Result {
	if !in.h.running(ctx) {
		if in.isEmptyStarted() {
			if primary, found := currentPrimary(in.peers()); found {
				// Started while no node was primary: seed now that one is.
				if err := in.seed(ctx, primary); err != nil {
					return fail("seed from %s: %v", primary.Name, err)
				}
				if res := in.start(ctx); res.RC != agents.RCOK {
					return res
				}
				return ok()
			}
			in.publishScore(ctx, RoleEmpty, "", 0, 0)
			return ok()
		}
		return rc(agents.RCNotRunning, "")
	}
	recovery, err := in.h.value(ctx, "SELECT pg_is_in_recovery()")
	if err != nil {
		return fail("query: %v", err)
	}
	if recovery == "f" {
		if err := in.primaryUpkeep(ctx, true); err != nil {
			return rc(agents.RCFailedPromoted, "primary upkeep: %v", err)
		}
		return rc(agents.RCRunningPromoted, "")
	}
	if err := in.standbyUpkeep(ctx, ""); err != nil {
		return fail("standby upkeep: %v", err)
	}
	return ok()
}

// primaryUpkeep keeps a slot for every other member, sets
// synchronous_standby_names from the streaming standbys and publishes the
// primary's state. Who stops being synchronous is published before the
// setting changes, so a standby is never promoted as synchronous after the
// primary stopped waiting for it.
//
// With checkpoint (monitors, not promote: it would hold up what is ordered
// after the promotion), a primary whose control file still names the
// timeline before its promotion is checkpointed.
func (in *pgInstance) primaryUpkeep(ctx context.Context, checkpoint bool) error {
	_, err := in.primaryUpkeepAfter(ctx, checkpoint, "")
	return err
}

// primaryUpkeepAfter is primaryUpkeep run in the same psql as first, a
// statement of one value (promote's pg_promote), whose value it returns.
func (in *pgInstance) primaryUpkeepAfter(ctx context.Context, checkpoint bool, first string) (string, error) {
	peers := in.peers()
	// One psql for the slots, the standbys' states and the primary's own
	// position (every program started costs more than the queries).
	sql := "SELECT " + slotsSQL(peers) + ", " +
		"(SELECT coalesce(string_agg(application_name || ' ' || state || ' ' || sync_state || ' ' || coalesce(flush_lsn::text, '0/0'), ','), '') FROM pg_stat_replication), " +
		"pg_current_wal_lsn(), ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int, " +
		"(SELECT timeline_id FROM pg_control_checkpoint()), (SELECT system_identifier FROM pg_control_system())"
	want := 1
	if first != "" {
		sql, want = first+";\n"+sql, 2
	}
	row, err := in.h.query(ctx, sql)
	if err != nil {
		return "", err
	}
	if len(row) != want || len(row[want-1]) != 6 {
		return "", fmt.Errorf("%w: primary state: %d rows", ErrPGRun, len(row))
	}
	firstValue := ""
	if first != "" {
		firstValue, row = row[0][0], row[1:]
	}
	if err := in.publishPrimary(ctx, checkpoint, peers, row[0]); err != nil {
		return firstValue, err
	}
	return firstValue, nil
}

// publishPrimary sets synchronous_standby_names from the standbys' states
// and publishes the primary's state, from row: slots created, standbys
// ("NAME STATE SYNC_STATE FLUSH,..."), position, timeline, checkpoint
// timeline, system identifier.
func (in *pgInstance) publishPrimary(ctx context.Context, checkpoint bool, peers []peerView, row []string) error {
	lsn, timeline, ckptTimeline, sysid := row[2], row[3], row[4], row[5]
	stats := map[string]standbyStat{}
	var streaming []string
	for _, r := range strings.Split(row[1], ",") {
		if f := strings.Fields(r); len(f) == 4 {
			flush, _ := ParseLSN(f[3])
			stats[f[0]] = standbyStat{State: f[1], Sync: f[2], Flush: flush}
			if f[1] == "streaming" {
				streaming = append(streaming, f[0])
			}
		}
	}
	var members []string
	for _, p := range peers {
		members = append(members, p.Name)
	}
	have := in.h.autoSetting("synchronous_standby_names")
	want := syncStandbyNames(in.p.Sync, soleSyncName(have), streaming, members)
	pos, _ := ParseLSN(lsn)
	if have != want {
		// Nobody is published synchronous before the server stops waiting
		// for the standby it waits for now; the new one is once it has
		// everything (confirmSync, in later monitors).
		states, _ := confirmSync("", stats, syncMark{}, pos)
		if err := in.publish(ctx, map[string]string{in.attr("standbys"): standbyStates(states)}); err != nil {
			// Not published: the server keeps its setting (and waits for
			// its present synchronous standby) rather than leave that
			// standby promotable; the next monitor tries again. Not a
			// monitor failure: the primary itself is healthy.
			return nil
		}
		in.c.setSyncMark(in.p.PGData, syncMark{})
		if _, err := in.h.setAuto(map[string]string{"synchronous_standby_names": want}); err != nil {
			return err
		}
		if _, err := in.h.value(ctx, "SELECT pg_reload_conf()"); err != nil {
			return err
		}
	} else {
		states, mark := confirmSync(have, stats, in.c.syncMark(in.p.PGData), pos)
		in.c.setSyncMark(in.p.PGData, mark)
		in.publish(ctx, map[string]string{in.attr("standbys"): standbyStates(states)})
	}
	if checkpoint && timeline != ckptTimeline {
		// Promoted, but the control file still names the old timeline
		// until a checkpoint: pg_rewind of an old primary would read it and
		// find "no rewind required". Checkpoint now (after the promotion,
		// so writes are not held up by it).
		if _, err := in.h.query(ctx, "CHECKPOINT"); err != nil {
			return err
		}
	}
	kv := in.scoreAttr(RolePrimary, "", 0, 0)
	maps.Copy(kv, map[string]string{in.attr("role"): "primary", in.attr("data"): "1", in.attr("lsn"): lsn,
		in.attr("timeline"): timeline, in.attr("lag"): "0", in.attr("sync"): "primary",
		in.attr("port"): strconv.Itoa(in.p.Port), in.attr("sysid"): sysid, in.attr("final"): ""})
	in.publish(ctx, kv)
	return nil
}

// slotsSQL is an expression that creates a physical slot (reserving WAL
// at once) for every other member that has none, so a standby seeded or
// restarted never finds its WAL gone; its value is how many it created.
func slotsSQL(peers []peerView) string {
	if len(peers) == 0 {
		return "0"
	}
	names := make([]string, len(peers))
	for i, p := range peers {
		names[i] = confValue(slotName(p.Name))
	}
	return "(SELECT count(pg_create_physical_replication_slot(s, true)) FROM unnest(ARRAY[" +
		strings.Join(names, ", ") + "]::text[]) AS s WHERE s NOT IN (SELECT slot_name FROM pg_replication_slots))"
}

// standbyUpkeep points the standby at the current primary (preferring
// promoted, a node name from a notification) and publishes its state.
func (in *pgInstance) standbyUpkeep(ctx context.Context, promoted string) error {
	peers := in.peers()
	primary, ok := currentPrimary(peers)
	if promoted != "" && promoted != in.self {
		for _, p := range peers {
			if p.Name == promoted {
				primary, ok = p, true
			}
		}
	}
	if ok && in.h.mustRewind() {
		// Started as an old primary with nobody to follow, and now
		// another node is the primary: following it needs a rewind,
		// which a restart (the cluster's recovery of this failure) does.
		return fmt.Errorf("%w: this old primary's data must be rewound before it follows %s", ErrRejoin, primary.Name)
	}
	if ok {
		changed, err := in.h.setAuto(map[string]string{"primary_conninfo": in.standbyConninfo(primary), "primary_slot_name": slotName(in.self)})
		if err != nil {
			return err
		}
		if changed {
			if _, err := in.h.value(ctx, "SELECT pg_reload_conf()"); err != nil {
				return err
			}
		}
	}
	row, err := in.h.query(ctx, `SELECT coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), pg_last_wal_replay_lsn(),
		coalesce((SELECT received_tli FROM pg_stat_wal_receiver), (SELECT timeline_id FROM pg_control_checkpoint())),
		(SELECT system_identifier FROM pg_control_system())`)
	if err != nil || len(row) != 1 || len(row[0]) != 4 {
		return err
	}
	received, _ := ParseLSN(row[0][0])
	last, _ := lastPrimary(peers)
	syncState := standbyState(last.Standbys, in.self)
	if syncState == "" {
		syncState = "async"
	}
	kv := in.scoreAttr(RoleStandby, standbyState(last.Standbys, in.self), received, last.LSN)
	maps.Copy(kv, map[string]string{in.attr("role"): "standby", in.attr("data"): "1", in.attr("lsn"): received.String(),
		in.attr("timeline"): row[0][2], in.attr("lag"): strconv.FormatUint(lagBytes(last.LSN, received), 10),
		in.attr("sync"): syncState, in.attr("sysid"): row[0][3]})
	in.publish(ctx, kv)
	return nil
}

// promote makes this instance the primary: initdb when it is empty and no
// node has data; otherwise the running standby is promoted once
// checkPromote agrees (no online primary, synchronous, within max_lag).
func (in *pgInstance) promote(ctx context.Context) agents.Result {
	began := time.Now()
	var checked, promoted time.Time
	peers := in.peers()
	if in.isEmptyStarted() && !in.h.running(ctx) {
		if err := checkPromote(in.self, RoleEmpty, in.p.Sync, in.p.MaxLag, 0, peers); err != nil {
			return fail("%v", err)
		}
		if err := in.bootstrap(ctx); err != nil {
			return fail("initdb: %v", err)
		}
		os.Remove(in.emptyFile())
	} else {
		// (The query fails when the server is not running: only then is
		// pg_ctl asked, for the message.)
		row, err := in.h.query(ctx, "SELECT pg_is_in_recovery(), coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())")
		if err != nil && !in.h.running(ctx) {
			return fail("cannot promote: the server is not running")
		}
		if err != nil || len(row) != 1 || len(row[0]) != 2 {
			return fail("query: %v", err)
		}
		if row[0][0] == "f" {
			return ok() // already the primary
		}
		// Promoted, this old primary's data is the cluster's history.
		defer os.Remove(in.h.rewindMark())
		received, _ := ParseLSN(row[0][1])
		// The cluster promotes only once the old primary's node is known
		// down or demoted, but this node's copy of the store may be a few
		// milliseconds behind, and after a demotion this standby may still
		// be receiving the old primary's last WAL: give both up to 10 s.
		err = checkPromote(in.self, RoleStandby, in.p.Sync, in.p.MaxLag, received, append(peers, in.selfFinal()))
		for wait := time.Now().Add(10 * time.Second); (errors.Is(err, ErrOtherPrimary) || errors.Is(err, ErrBehind)) &&
			time.Now().Before(wait) && ctx.Err() == nil; {
			sleep(ctx, 50*time.Millisecond)
			if errors.Is(err, ErrBehind) {
				// Still receiving: ask the server (a psql costs more than
				// the store's copy, which is all ErrOtherPrimary waits for).
				lsn, _ := in.h.value(ctx, "SELECT coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())")
				received, _ = ParseLSN(lsn)
			}
			peers = in.peers()
			err = checkPromote(in.self, RoleStandby, in.p.Sync, in.p.MaxLag, received, append(peers, in.selfFinal()))
		}
		if err != nil {
			return fail("%v", err)
		}
		// Start without waiting for standbys that are not there yet
		// (strict: for any member), then promote.
		var members []string
		for _, p := range peers {
			members = append(members, p.Name)
		}
		// (primary_conninfo stays: a primary ignores it, and a demotion
		// rewrites it.)
		in.c.setSyncMark(in.p.PGData, syncMark{})
		changed, err := in.h.setAuto(map[string]string{"synchronous_standby_names": syncStandbyNames(in.p.Sync, "", nil, members)})
		if err != nil {
			return fail("%v", err)
		}
		if changed {
			if _, err := in.h.value(ctx, "SELECT pg_reload_conf()"); err != nil {
				return fail("%v", err)
			}
		}
		checked = time.Now()
		// pg_promote and the new primary's upkeep (slots, settings, its
		// state published) in one psql.
		v, err := in.primaryUpkeepAfter(ctx, false, "SELECT pg_promote(true, 60)")
		if v != "t" {
			return fail("pg_promote: %v %s", err, v)
		}
		if err != nil {
			return fail("after promote: %v", err)
		}
		promoted = time.Now()
	}
	if promoted.IsZero() { // bootstrapped: the new primary's upkeep
		if err := in.primaryUpkeep(ctx, false); err != nil {
			return fail("after promote: %v", err)
		}
	}
	res := ok()
	if !promoted.IsZero() {
		res.Output = fmt.Sprintf("promoted: checks %v, pg_promote with slots and settings %v\n", checked.Sub(began).Round(time.Millisecond),
			promoted.Sub(checked).Round(time.Millisecond))
	}
	return res
}

// bootstrap runs initdb in the empty pgdata (data checksums, which
// pg_rewind needs) and starts the first primary.
func (in *pgInstance) bootstrap(ctx context.Context) error {
	if err := in.h.ensureEmptyDir(); err != nil {
		return err
	}
	method := "trust" // trust/peer setups need no password
	if in.p.ReplPassword != "" {
		method = "scram-sha-256"
	}
	if _, err := in.h.run(ctx, "", "initdb", "-D", in.p.PGData, "--data-checksums", "-U", in.p.User,
		"--auth-local=peer", "--auth-host="+method, "--encoding=UTF8", "--locale=C"); err != nil {
		return err
	}
	hba := filepath.Join(in.p.PGData, "pg_hba.conf")
	b, err := os.ReadFile(hba)
	if err != nil {
		return err
	}
	add := "\n# builtin:postgresql: standbys and clients over the network\n" +
		"host replication all 0.0.0.0/0 " + method + "\nhost all all 0.0.0.0/0 " + method + "\n"
	if err := in.h.writeOwned(hba, string(b)+add, 0o600); err != nil {
		return err
	}
	var members []string
	for _, p := range in.peers() {
		members = append(members, p.Name)
	}
	if _, err := in.h.setAuto(map[string]string{"synchronous_standby_names": syncStandbyNames(in.p.Sync, "", nil, members)}); err != nil {
		return err
	}
	if err := in.h.startServer(ctx); err != nil {
		return err
	}
	if in.p.ReplPassword != "" || in.p.ReplUser != in.p.User {
		sql := "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = " + confValue(in.p.ReplUser) +
			") THEN CREATE ROLE \"" + in.p.ReplUser + "\" LOGIN REPLICATION; END IF; END$$;\n"
		if in.p.ReplPassword != "" {
			sql += "ALTER ROLE \"" + in.p.ReplUser + "\" PASSWORD " + confValue(in.p.ReplPassword) + ";\n"
		}
		if _, err := in.h.query(ctx, sql); err != nil {
			return err
		}
	}
	return nil
}

// demote turns a primary into a standby: a fast shutdown (its shutdown
// checkpoint is the last record the standbys receive), then a restart as
// a standby that follows whichever primary the cluster names next.
func (in *pgInstance) demote(ctx context.Context) agents.Result {
	began := time.Now()
	// (The query fails when the server is not running: only then is
	// pg_ctl asked.)
	v, err := in.h.value(ctx, "SELECT pg_is_in_recovery()")
	if err != nil && !in.h.running(ctx) {
		if in.isEmptyStarted() {
			return ok()
		}
		return fail("cannot demote: the server is not running")
	}
	if err == nil && v == "t" {
		return ok()
	}
	kv := in.scoreAttr(RoleStopped, "", 0, 0)
	kv[in.attr("role")] = "demoting"
	in.publish(ctx, kv)
	if err := in.h.stopServer(ctx, in.grace()); err != nil {
		return fail("stop: %v", err)
	}
	stopped := time.Now()
	// The fast shutdown wrote a shutdown checkpoint and sent it to the
	// connected standbys; a standby that has it has every commit, which is
	// what promote checks on the switchover's target.
	if err := in.publishFinal(ctx); err != nil {
		return fail("%v", err)
	}
	published := time.Now()
	primary, found := currentPrimary(in.peers())
	if err := in.configureStandby(primary, found); err != nil {
		return fail("configure standby: %v", err)
	}
	if err := in.h.startServer(ctx); err != nil {
		return fail("start as standby: %v", err)
	}
	// A standby now (its promotion score stays -INFINITY: it is the
	// demoted primary). Which primary to follow, its position and score
	// are its monitors' (or a post-promote notification's) to publish: no
	// primary is promoted before this demotion ends.
	in.publish(ctx, map[string]string{in.attr("role"): "standby", in.attr("data"): "1"})
	res := ok()
	res.Output = fmt.Sprintf("demoted: fast shutdown %v, shutdown checkpoint published %v, started as a standby %v\n",
		stopped.Sub(began).Round(time.Millisecond), published.Sub(stopped).Round(time.Millisecond), time.Since(published).Round(time.Millisecond))
	return res
}

// notify: after a promotion, a standby follows the new primary at once
// (CRM_meta_notify_promoted_uname) instead of at its next monitor.
func (in *pgInstance) notify(ctx context.Context) agents.Result {
	m := in.req.Meta
	if m["notify_type"] != "post" || m["notify_operation"] != "promote" {
		return ok()
	}
	if !in.h.running(ctx) {
		return ok()
	}
	if v, err := in.h.value(ctx, "SELECT pg_is_in_recovery()"); err != nil || v != "t" {
		return ok()
	}
	promoted := strings.Fields(m["notify_promoted_uname"])
	if len(promoted) == 0 || slices.Contains(promoted, in.self) {
		return ok()
	}
	if err := in.standbyUpkeep(ctx, promoted[0]); err != nil {
		return fail("%v", err)
	}
	return ok()
}

const postgresqlMetadata = `<?xml version="1.0"?>
<resource-agent name="postgresql" version="1.0">
<version>1.1</version>
<shortdesc lang="en">Replicated PostgreSQL (promotable)</shortdesc>
<parameters>
<parameter name="pgdata" required="1" unique="1"><shortdesc lang="en">Data directory</shortdesc><content type="string"/></parameter>
<parameter name="bindir" required="1"><shortdesc lang="en">Directory of postgres, pg_ctl, initdb, psql, pg_basebackup, pg_rewind</shortdesc><content type="string"/></parameter>
<parameter name="port"><shortdesc lang="en">TCP port</shortdesc><content type="integer" default="5432"/></parameter>
<parameter name="user"><shortdesc lang="en">OS user owning pgdata and running the server</shortdesc><content type="string" default="postgres"/></parameter>
<parameter name="synchronous"><shortdesc lang="en">off, on (a commit waits for one standby while one is connected) or strict</shortdesc><content type="string" default="off"/></parameter>
<parameter name="max_lag"><shortdesc lang="en">Bytes; a standby further behind is never promoted (synchronous=off)</shortdesc><content type="integer" default="0"/></parameter>
<parameter name="replication_user"><shortdesc lang="en">Role standbys connect as (default: user)</shortdesc><content type="string"/></parameter>
<parameter name="replication_password"><shortdesc lang="en">Its password (secret; given to libpq through a passfile)</shortdesc><content type="string"/></parameter>
<parameter name="conninfo_host"><shortdesc lang="en">Host standbys connect to (default: the primary node's cluster address)</shortdesc><content type="string"/></parameter>
</parameters>
<actions>
<action name="start" timeout="60s"/><action name="stop" timeout="60s"/>
<action name="monitor" timeout="20s" interval="2s" role="Unpromoted"/>
<action name="monitor" timeout="20s" interval="1s" role="Promoted"/>
<action name="promote" timeout="60s"/><action name="demote" timeout="60s"/>
<action name="notify" timeout="20s"/>
<action name="meta-data" timeout="5s"/><action name="validate-all" timeout="20s"/>
</actions>
</resource-agent>
`
