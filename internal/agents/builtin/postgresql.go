package builtin

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/paceline/paceline/internal/agents"
)

// Peers tells agents about the cluster's members: builtin:postgresql finds
// the primary to follow and its peers' published state there. Peers is
// called from agent operations (any goroutine), must not block and returns
// data the caller owns.
type Peers interface {
	Peers() []Peer
}

// PeersSyncer is optional behaviour of Peers: Sync waits until the local
// copy of the cluster's state has reached index (agents.Request.StateIndex)
// or ctx ends.
type PeersSyncer interface {
	Sync(ctx context.Context, index uint64) error
}

// Peer is one cluster member as the local store knows it.
type Peer struct {
	Name   string
	Host   string // the host part of its cluster address
	Online bool
	Attrs  map[string]string // its transient node attributes
}

// pgInstance is one operation's view of a builtin:postgresql instance.
type pgInstance struct {
	c    *Class
	req  *agents.Request
	p    pgParams
	h    *pgHost
	base string // the resource id without the clone instance (":N")
	self string // this node's name
}

// postgresql is a promotable PostgreSQL server with streaming replication
// (parameters: see pgParams and postgresqlMetadata). The primary keeps a
// replication slot per member and synchronous_standby_names; standbys
// follow the primary the cluster's attributes name; an old primary comes
// back as a standby through pg_rewind. Each instance publishes
// pgsql-RSC-{role,timeline,lsn,lag,sync,standbys,data} and the promotion
// score master-RSC as node attributes.
func (c *Class) postgresql(ctx context.Context, req *agents.Request) agents.Result {
	switch req.Op {
	case "meta-data":
		return agents.Result{RC: agents.RCOK, Status: agents.StatusDone, Output: postgresqlMetadata}
	}
	in, res, ok := c.pgSetup(req)
	if !ok {
		if res.RC == agents.RCNotInstalled || res.RC == agents.RCInsufficientPriv {
			// This node cannot run the server (no programs, no user, a
			// pgdata that is not the user's), so none of ours runs here:
			// a stop succeeds and a probe says not running, as OCF agents
			// do; a failed stop would get the node fenced. The start
			// reports the reason (and bans the resource from this node).
			switch {
			case req.Op == "stop":
				return ok0()
			case req.Op == "monitor" && req.Interval == 0:
				return rc(agents.RCNotRunning, "%s", res.ExitReason)
			}
		}
		return res
	}
	switch req.Op {
	case "start", "monitor", "promote", "demote", "notify":
		// Each reads the other members' published state: not from an
		// older copy than the one the leader planned from (a node back
		// from a partition is asked to start before its copy caught up,
		// and would find no primary to follow).
		in.syncState(ctx, req.StateIndex)
	}
	switch req.Op {
	case "validate-all":
		return ok0()
	case "start":
		return in.start(ctx)
	case "stop":
		return in.stop(ctx)
	case "monitor":
		return in.monitor(ctx)
	case "promote":
		return in.promote(ctx)
	case "demote":
		return in.demote(ctx)
	case "notify":
		return in.notify(ctx)
	}
	return agents.Result{RC: agents.RCUnimplemented, Status: agents.StatusNotSupported, ExitReason: "postgresql has no action " + req.Op}
}

func ok0() agents.Result { return ok() }

// maxSync bounds how long an operation waits for this node's copy of the
// cluster's state (syncState); past it the operation goes on with what it
// has (its own checks still hold: a promotion still refuses with another
// online primary).
const maxSync = 5 * time.Second

// syncState waits until the node's copy of the cluster's state has
// reached index, when the node can tell (Config.Peers is a PeersSyncer).
func (in *pgInstance) syncState(ctx context.Context, index uint64) {
	s, ok := in.c.cfg.Peers.(PeersSyncer)
	if !ok || index == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, min(maxSync, in.req.EffectiveTimeout()/4))
	defer cancel()
	s.Sync(ctx, index)
}

// pgSetup checks the parameters and the host (validate-all's checks,
// done before every action): bindir holds the programs, the user exists,
// pgdata (when it exists) belongs to the user.
func (c *Class) pgSetup(req *agents.Request) (*pgInstance, agents.Result, bool) {
	p, err := parsePGParams(req.Params)
	if err != nil {
		return nil, rc(agents.RCNotConfigured, "%v", strings.ReplaceAll(err.Error(), "\n", "; ")), false
	}
	for _, prog := range []string{"postgres", "pg_ctl", "initdb", "psql", "pg_basebackup", "pg_rewind", "pg_controldata"} {
		if st, err := os.Stat(filepath.Join(p.BinDir, prog)); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return nil, rc(agents.RCNotInstalled, "bindir %s has no executable %s", p.BinDir, prog), false
		}
	}
	uid, gid, err := lookupUser(p.User)
	if err != nil {
		// This node's own set-up (another may have the user): rc 5 bans
		// the resource from this node only; rc 6 would stop it everywhere.
		return nil, rc(agents.RCNotInstalled, "%v", err), false
	}
	if st, err := os.Stat(p.PGData); err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Uid != uid {
			return nil, rc(agents.RCInsufficientPriv, "pgdata %s is owned by uid %d, not by %s (uid %d)", p.PGData, sys.Uid, p.User, uid), false
		}
	}
	base, _, _ := strings.Cut(req.ResourceID, ":")
	in := &pgInstance{c: c, req: req, p: p, base: base, self: req.Node,
		h: &pgHost{p: p, uid: uid, gid: gid, sockDir: c.path("pgsql", base, ".sock"), logPath: c.path("pgsql", base, ".log")}}
	if in.self == "" {
		in.self, _ = os.Hostname()
	}
	if p.ReplPassword != "" {
		in.h.passfile = c.path("pgsql", base, ".pgpass")
		esc := func(s string) string { return strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(s) }
		if err := in.h.writeOwned(in.h.passfile, "*:*:*:"+esc(p.ReplUser)+":"+esc(p.ReplPassword)+"\n", 0o600); err != nil {
			return nil, rc(agents.RCUnknownError, "write passfile: %v", err), false
		}
	}
	return in, agents.Result{}, true
}

// attr names a published attribute of this resource.
func (in *pgInstance) attr(name string) string { return "pgsql-" + in.base + "-" + name }

// publish sets node attributes (Class.publish). Most callers ignore the
// error (the next monitor publishes again); primaryUpkeep must not.
func (in *pgInstance) publish(ctx context.Context, kv map[string]string) error {
	return in.c.publish(ctx, kv)
}

// peers returns the other members as this resource sees them.
func (in *pgInstance) peers() []peerView {
	if in.c.cfg.Peers == nil {
		return nil
	}
	var out []peerView
	for _, m := range in.c.cfg.Peers.Peers() {
		if m.Name == in.self {
			continue
		}
		tl, _ := strconv.Atoi(m.Attrs[in.attr("timeline")])
		lsn, _ := ParseLSN(m.Attrs[in.attr("lsn")])
		port, _ := strconv.Atoi(m.Attrs[in.attr("port")])
		out = append(out, peerView{Name: m.Name, Host: m.Host, Port: port, Online: m.Online, Role: m.Attrs[in.attr("role")],
			Timeline: tl, LSN: lsn, Standbys: m.Attrs[in.attr("standbys")], HasData: m.Attrs[in.attr("data")] == "1",
			SysID: m.Attrs[in.attr("sysid")]})
		out[len(out)-1].Final, out[len(out)-1].FinalTimeline = parseFinal(m.Attrs[in.attr("final")])
	}
	return out
}

// emptyFile marks an instance started without data (waiting for a primary
// to seed from, or to be promoted when no node has data).
func (in *pgInstance) emptyFile() string { return in.c.path("pgsql", in.base, ".empty") }

func (in *pgInstance) isEmptyStarted() bool {
	_, err := os.Stat(in.emptyFile())
	return err == nil
}

func fail(format string, args ...any) agents.Result {
	return rc(agents.RCUnknownError, format, args...)
}

func (in *pgInstance) grace() time.Duration { return in.req.EffectiveTimeout() / 2 }

// start brings the server up as a standby: of the online primary if there
// is one (seeding an empty pgdata with pg_basebackup, rewinding an old
// primary's data with pg_rewind), else without a primary to follow. An
// empty pgdata with no primary anywhere starts "empty": no server until
// this instance is promoted (initdb) or a primary appears.
func (in *pgInstance) start(ctx context.Context) agents.Result {
	if in.h.running(ctx) {
		return ok()
	}
	// Whatever this node published before (an old primary's 1001 from
	// before a crash) no longer holds: not promotable until a monitor
	// says otherwise.
	in.publish(ctx, map[string]string{in.attr("role"): "starting"})
	in.publishScore(ctx, RoleStopped, "", 0, 0)
	primary, havePrimary := currentPrimary(in.peers())
	if !in.h.hasData() {
		if !havePrimary {
			if err := in.h.ensureEmptyDir(); err != nil {
				return rc(agents.RCInsufficientPriv, "%v", err)
			}
			if err := writeFile(in.emptyFile(), "empty\n"); err != nil {
				return fail("%v", err)
			}
			in.publish(ctx, map[string]string{in.attr("role"): "empty", in.attr("data"): "0"})
			in.publishScore(ctx, RoleEmpty, "", 0, 0)
			return ok()
		}
		if err := in.seed(ctx, primary); err != nil {
			return fail("seed from %s: %v", primary.Name, err)
		}
	} else if havePrimary {
		local, err := in.h.systemID(ctx)
		if err != nil {
			return fail("read pgdata's control file: %v", err)
		}
		if err := checkSameSystem(local, primary); err != nil {
			// This node's data, not the resource's configuration: the
			// resource is banned from this node only (rc 6 is fatal for
			// the clone on every node, the healthy primary included).
			return rc(agents.RCInsufficientPriv, "%v", err)
		}
	}
	oldPrimary := in.h.hasData() && (!in.h.isStandbyData() || in.h.mustRewind())
	switch {
	case oldPrimary && havePrimary:
		// This data directory was a primary's and another node is the
		// online primary now (on a newer or the same timeline): rewind it
		// to the new primary's history before following it.
		if err := in.rewind(ctx, primary); err != nil {
			return fail("rejoin %s: %v", primary.Name, err)
		}
		os.Remove(in.h.rewindMark())
	case oldPrimary:
		// An old primary's data started with no primary to follow (the
		// whole cluster starting): if another node is promoted, this one
		// may have WAL the new timeline lacks and must be rewound before
		// it can follow (standbyUpkeep).
		if err := in.h.writeOwned(in.h.rewindMark(), "", 0o600); err != nil {
			return fail("%v", err)
		}
	}
	if err := in.configureStandby(primary, havePrimary); err != nil {
		return fail("configure standby: %v", err)
	}
	os.Remove(in.emptyFile())
	if err := in.h.startServer(ctx); err != nil {
		return fail("start: %v", err)
	}
	in.publish(ctx, map[string]string{in.attr("role"): "standby", in.attr("data"): "1"})
	return ok()
}

// primaryHost is the address standbys connect to.
func (in *pgInstance) primaryHost(p peerView) string {
	if in.p.ConninfoHost != "" {
		return in.p.ConninfoHost
	}
	if p.Host != "" {
		return p.Host
	}
	return p.Name
}

// primaryPort is the port the primary published, else this instance's.
func (in *pgInstance) primaryPort(p peerView) string {
	if p.Port > 0 {
		return strconv.Itoa(p.Port)
	}
	return strconv.Itoa(in.p.Port)
}

// seed fills an empty pgdata from the primary with pg_basebackup through
// this node's slot (created by the primary).
func (in *pgInstance) seed(ctx context.Context, primary peerView) error {
	if err := in.h.ensureEmptyDir(); err != nil {
		return err
	}
	_, err := in.h.run(ctx, "", "pg_basebackup", "-D", in.p.PGData, "-X", "stream", "-c", "fast", "-w",
		"-d", conninfo("host", in.primaryHost(primary), "port", in.primaryPort(primary), "user", in.p.ReplUser,
			"application_name", in.self),
		"-S", slotName(in.self))
	if err != nil {
		// What pg_basebackup wrote is a partial copy of the primary, never
		// data of this node's own: clearing it is safe.
		in.clearPartial()
		return err
	}
	// A copy of the primary is a standby's data (never to be rewound).
	return in.h.writeOwned(filepath.Join(in.p.PGData, "standby.signal"), "", 0o600)
}

// clearPartial empties pgdata after a failed pg_basebackup (only called
// when pgdata was empty before it).
func (in *pgInstance) clearPartial() {
	ents, _ := os.ReadDir(in.p.PGData)
	for _, e := range ents {
		os.RemoveAll(filepath.Join(in.p.PGData, e.Name()))
	}
}

// rewind makes an old primary's data follow primary's timeline with
// pg_rewind; when that is impossible the old data is moved aside (not
// deleted) and the node is seeded anew. Safe because another node is the
// online primary: this one is certainly a demoted (or crashed) old primary
// and its server is not running.
func (in *pgInstance) rewind(ctx context.Context, primary peerView) error {
	_, err := in.h.run(ctx, "", "pg_rewind", "-D", in.p.PGData, "--source-server="+conninfo("host", in.primaryHost(primary),
		"port", in.primaryPort(primary), "user", in.p.ReplUser, "dbname", "postgres"))
	if err == nil {
		return nil
	}
	aside := in.p.PGData + ".old-" + time.Now().UTC().Format("20060102T150405")
	if rerr := os.Rename(in.p.PGData, aside); rerr != nil {
		return fmt.Errorf("%v; and moving it aside: %v", err, rerr)
	}
	if serr := in.seed(ctx, primary); serr != nil {
		return fmt.Errorf("pg_rewind failed (%v), old data kept in %s; pg_basebackup: %w", err, aside, serr)
	}
	return nil
}

// configureStandby writes standby.signal and, with a primary, the
// primary_conninfo and slot the agent manages.
func (in *pgInstance) configureStandby(primary peerView, havePrimary bool) error {
	if err := in.h.writeOwned(filepath.Join(in.p.PGData, "standby.signal"), "", 0o600); err != nil {
		return err
	}
	set := map[string]string{"primary_conninfo": "", "primary_slot_name": "", "synchronous_standby_names": ""}
	if havePrimary {
		set["primary_conninfo"] = in.standbyConninfo(primary)
		set["primary_slot_name"] = slotName(in.self)
	}
	_, err := in.h.setAuto(set)
	return err
}

func (in *pgInstance) standbyConninfo(primary peerView) string {
	return conninfo("host", in.primaryHost(primary), "port", in.primaryPort(primary), "user", in.p.ReplUser,
		"application_name", in.self, "passfile", in.h.passfile, "connect_timeout", "2")
}

// stop stops the server (fast, then immediate) and publishes it.
func (in *pgInstance) stop(ctx context.Context) agents.Result {
	os.Remove(in.emptyFile())
	wasPrimary := false
	if in.h.running(ctx) {
		v, err := in.h.value(ctx, "SELECT pg_is_in_recovery()")
		wasPrimary = err == nil && v == "f"
	}
	// The server stops first: a node that lost its lease stops its
	// resources cut off from the cluster, and its primary must refuse
	// writes before another node may be promoted; publishing (which waits
	// for the cluster) comes after, bounded.
	if err := in.h.stopServer(ctx, in.grace()); err != nil {
		return fail("stop: %v", err)
	}
	pctx, cancel := context.WithTimeout(ctx, publishAfterStop)
	defer cancel()
	if wasPrimary {
		// A primary stopped cleanly (the whole cluster stopping, or this
		// node leaving): its standbys that have its shutdown checkpoint
		// may take over. Not published (cut off): they may not, which is
		// the safe side; the server is stopped all the same.
		in.publishFinal(pctx)
	}
	in.publish(pctx, map[string]string{in.attr("role"): "stopped"})
	in.publishScore(pctx, RoleStopped, "", 0, 0)
	return ok()
}

// publishAfterStop bounds what a stop publishes once the server is down.
const publishAfterStop = 2 * time.Second

// publishScore computes and publishes this instance's promotion score.
func (in *pgInstance) publishScore(ctx context.Context, role Role, syncState string, received, primary LSN) {
	in.publish(ctx, in.scoreAttr(role, syncState, received, primary))
}

// scoreAttr computes this instance's promotion score as the attribute to
// publish.
func (in *pgInstance) scoreAttr(role Role, syncState string, received, primary LSN) map[string]string {
	peers := in.peers()
	anyData := in.h.hasData()
	var others []LSN
	for _, p := range peers {
		anyData = anyData || p.HasData
		if p.Role == "standby" {
			others = append(others, p.LSN)
		}
	}
	d, demoted := lastDemotion(append(peers, in.selfFinal()))
	score, _ := promotionScore(scoreInput{Role: role, Sync: in.p.Sync, SyncState: syncState, Received: received,
		Primary: primary, Peers: others, MaxLag: in.p.MaxLag, AnyData: anyData, Demoted: demoted, Final: d.Final,
		DemotedState: standbyState(d.Standbys, in.self)})
	return map[string]string{"master-" + in.base: score}
}

// selfFinal is this node's own published shutdown checkpoint as a view
// that counts for demotions only (no role: never a primary to follow).
func (in *pgInstance) selfFinal() peerView {
	v := peerView{Name: in.self}
	if in.c.cfg.Peers != nil {
		for _, m := range in.c.cfg.Peers.Peers() {
			if m.Name == in.self {
				v.Final, v.FinalTimeline = parseFinal(m.Attrs[in.attr("final")])
			}
		}
	}
	return v
}

// publishFinal publishes the shutdown checkpoint of a primary this agent
// has just shut down cleanly (pg_controldata), or nothing when the
// shutdown was not clean.
func (in *pgInstance) publishFinal(ctx context.Context) error {
	// One pg_controldata for the three fields.
	v, err := in.h.controlData(ctx, "Database cluster state", "Latest checkpoint location", "Latest checkpoint's TimeLineID")
	if err != nil {
		return fmt.Errorf("read the shutdown checkpoint: %w", err)
	}
	if v[0] != "shut down" {
		return nil
	}
	loc, tl := v[1], v[2]
	in.publish(ctx, map[string]string{in.attr("final"): loc + "@" + tl})
	return nil
}
