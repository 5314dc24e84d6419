package builtin

// The pure core of builtin:postgresql: its parameters and the decisions
// it takes (who may be promoted, with what score, which standbys are
// synchronous). Nothing here runs a program, reads a file or the clock;
// postgresql.go is the shell that gathers the inputs and applies the
// outcome.

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Sync is the synchronous replication mode of builtin:postgresql.
type Sync int

// The modes: off replicates asynchronously; on makes a commit wait for
// one standby while any is connected (the primary goes on alone when none
// is); strict makes every commit wait for a standby.
const (
	SyncOff Sync = iota
	SyncOn
	SyncStrict
)

func (s Sync) String() string {
	switch s {
	case SyncOn:
		return "on"
	case SyncStrict:
		return "strict"
	}
	return "off"
}

// ErrPGParam is wrapped by every parameter error of builtin:postgresql.
var ErrPGParam = errors.New("postgresql: invalid parameter")

// pgParams are builtin:postgresql's instance parameters.
type pgParams struct {
	PGData   string // data directory (required, absolute)
	BinDir   string // where postgres, pg_ctl, initdb ... live (required, absolute)
	Port     int    // TCP port and socket name (default 5432)
	User     string // OS user owning pgdata and running the server (default postgres)
	Sync     Sync   // synchronous replication mode (default off)
	MaxLag   uint64 // bytes; a standby further behind is never promoted with Sync off (0: no limit)
	ReplUser string // role standbys connect as (default: User)
	// ReplPassword is secret: it reaches libpq through a passfile (0600),
	// never a command line.
	ReplPassword string
	// ConninfoHost is the host standbys connect to; "" means the
	// primary node's cluster address.
	ConninfoHost string
}

// parsePGParams reads and checks the parameters, reporting every problem
// at once.
func parsePGParams(p map[string]string) (pgParams, error) {
	out := pgParams{PGData: p["pgdata"], BinDir: p["bindir"], Port: 5432, User: p["user"],
		ReplUser: p["replication_user"], ReplPassword: p["replication_password"], ConninfoHost: p["conninfo_host"]}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrPGParam}, args...)...))
	}
	if out.PGData == "" || !filepath.IsAbs(out.PGData) || filepath.Clean(out.PGData) == "/" {
		bad("pgdata %q must be an absolute path below /", out.PGData)
	}
	if out.BinDir == "" || !filepath.IsAbs(out.BinDir) {
		bad("bindir %q must be an absolute path", out.BinDir)
	}
	if s := p["port"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 65535 {
			bad("port %q is not a TCP port", s)
		}
		out.Port = n
	}
	if out.User == "" {
		out.User = "postgres"
	}
	if out.ReplUser == "" {
		out.ReplUser = out.User
	}
	switch p["synchronous"] {
	case "", "off":
	case "on":
		out.Sync = SyncOn
	case "strict":
		out.Sync = SyncStrict
	default:
		bad("synchronous %q is not off, on or strict", p["synchronous"])
	}
	if s := p["max_lag"]; s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			bad("max_lag %q is not a number of bytes", s)
		}
		out.MaxLag = n
	}
	for _, v := range []struct{ name, val string }{{"user", out.User}, {"replication_user", out.ReplUser}, {"conninfo_host", out.ConninfoHost}} {
		if strings.ContainsAny(v.val, " '\\\n\t=") {
			bad("%s %q contains a space, quote, backslash or '='", v.name, v.val)
		}
	}
	return out, errors.Join(errs...)
}

// LSN is a PostgreSQL write-ahead log position.
type LSN uint64

// ParseLSN reads PostgreSQL's "X/Y" notation ("" is 0).
func ParseLSN(s string) (LSN, error) {
	if s == "" {
		return 0, nil
	}
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("postgresql: bad LSN %q", s)
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("postgresql: bad LSN %q", s)
	}
	return LSN(h<<32 | l), nil
}

func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint64(l)&0xffffffff) }

// Promotion scores (the master-RSC node attribute).
const (
	scorePrimary    = 1001 // a running primary stays where it is
	scoreBest       = 1000 // the standby with the most WAL
	scoreBootstrap  = 1    // an empty node when no node has data: one runs initdb
	scoreCatchingUp = 2    // a standby still receiving a demoted primary's last WAL
	scoreNever      = "-INFINITY"
)

// scoreInput is what one instance knows when it computes its promotion
// score.
type scoreInput struct {
	Role Role // this instance's role
	Sync Sync
	// SyncState is this standby's state in the last primary's view
	// (sync, potential, async or "" when not connected).
	SyncState string
	Received  LSN   // WAL this standby has received
	Primary   LSN   // the primary's last published position (0: unknown)
	Peers     []LSN // the other standbys' published received positions
	MaxLag    uint64
	// AnyData reports that some node (this one or another) holds data.
	AnyData bool
	// Demoted reports that the last primary was shut down cleanly
	// (demoted or stopped) at Final, its shutdown checkpoint: a standby
	// that received Final has every commit, whatever its sync state was.
	Demoted bool
	Final   LSN
	// DemotedState is this standby's state in the demoted primary's last
	// view (sync, potential, async; "" when it was not streaming from it).
	DemotedState string
}

// Role is what a builtin:postgresql instance is on its node.
type Role int

// The roles: stopped (no server), empty (started without data, waiting for
// a primary to seed from or to be promoted), standby, primary.
const (
	RoleStopped Role = iota
	RoleEmpty
	RoleStandby
	RolePrimary
)

func (r Role) String() string {
	return [...]string{"stopped", "empty", "standby", "primary"}[r]
}

// promotionScore is the score this instance publishes as master-RSC and
// why: the primary keeps 1001; with synchronous on or strict only the
// standby the primary last named synchronous may be promoted; with off a
// standby within max_lag may, the one with the most WAL received scoring
// highest; an empty node may only when no node has data (bootstrap).
func promotionScore(in scoreInput) (string, string) {
	switch in.Role {
	case RolePrimary:
		return strconv.Itoa(scorePrimary), "primary"
	case RoleStopped:
		return scoreNever, "stopped"
	case RoleEmpty:
		if in.AnyData {
			return scoreNever, "no data here while another node has some"
		}
		return strconv.Itoa(scoreBootstrap), "no node has data: may bootstrap"
	}
	if in.Demoted {
		if in.Received <= in.Final {
			if in.DemotedState != "" {
				// It streamed from the demoted primary, whose fast
				// shutdown sends the checkpoint to every connected standby:
				// it is on its way. Promotable, below any that has it
				// (promote waits for it, and refuses without it), so that
				// a switchover's target is not passed over for a moment's
				// delay.
				return strconv.Itoa(scoreCatchingUp), fmt.Sprintf("receiving the demoted primary's shutdown checkpoint %s (at %s)", in.Final, in.Received)
			}
			return scoreNever, fmt.Sprintf("has not received the demoted primary's shutdown checkpoint %s (at %s)", in.Final, in.Received)
		}
		return strconv.Itoa(scoreBest), "has the demoted primary's shutdown checkpoint"
	}
	if in.Sync != SyncOff {
		if in.SyncState != "sync" {
			return scoreNever, fmt.Sprintf("synchronous=%s and this standby was not synchronous (%s)", in.Sync, orNone(in.SyncState))
		}
		return strconv.Itoa(scoreBest), "the synchronous standby"
	}
	if lag := lagBytes(in.Primary, in.Received); in.MaxLag > 0 && lag > in.MaxLag {
		return scoreNever, fmt.Sprintf("lag %d bytes beyond max_lag %d", lag, in.MaxLag)
	}
	best := in.Received
	for _, p := range in.Peers {
		best = max(best, p)
	}
	if in.Received >= best {
		return strconv.Itoa(scoreBest), "most WAL received"
	}
	// Behind a peer: lower by the distance in 64 KiB steps, at least 1,
	// never below 100 (still promotable if the better ones are gone).
	behind := uint64(best-in.Received)/65536 + 1
	return strconv.Itoa(scoreBest - int(min(behind, scoreBest-100))), fmt.Sprintf("%d bytes behind a peer", uint64(best-in.Received))
}

func orNone(s string) string {
	if s == "" {
		return "not connected"
	}
	return s
}

// lagBytes is how far behind primary a position is (0 when unknown or
// ahead).
func lagBytes(primary, pos LSN) uint64 {
	if primary == 0 || pos >= primary {
		return 0
	}
	return uint64(primary - pos)
}

// syncStandbyNames is the synchronous_standby_names the primary sets. It
// names one standby alone, never a list: with a list the server moves the
// synchronous role from one standby to another by itself, and commits
// acknowledged by the new one could be missing on the one the cluster
// last heard was synchronous. The named standby (current, parsed from the
// present setting) is kept while it streams; otherwise the first (sorted)
// streaming standby is named. With none streaming, on names none (the
// primary goes on alone) and strict keeps the one it names (writes wait
// for it), or names every member when it names none yet (writes wait for
// any). Names are the standbys' application_name: their node names.
func syncStandbyNames(mode Sync, current string, streaming, members []string) string {
	if mode == SyncOff {
		return ""
	}
	if current != "" && slices.Contains(streaming, current) {
		return quoteSyncNames(current)
	}
	if len(streaming) > 0 {
		return quoteSyncNames(slices.Min(streaming))
	}
	if mode == SyncOn {
		return ""
	}
	if current != "" && slices.Contains(members, current) {
		return quoteSyncNames(current)
	}
	return quoteSyncNames(members...)
}

// quoteSyncNames renders FIRST 1 ("a", "b") (sorted, without duplicates;
// "" for none).
func quoteSyncNames(names ...string) string {
	if len(names) == 0 {
		return ""
	}
	names = slices.Clone(names)
	slices.Sort(names)
	names = slices.Compact(names)
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = `"` + strings.ReplaceAll(n, `"`, `""`) + `"`
	}
	return "FIRST 1 (" + strings.Join(q, ", ") + ")"
}

// soleSyncName is the standby a synchronous_standby_names value names
// alone ("" for none or several).
func soleSyncName(setting string) string {
	in, ok := strings.CutPrefix(setting, `FIRST 1 ("`)
	if !ok {
		return ""
	}
	in, ok = strings.CutSuffix(in, `")`)
	if !ok {
		return ""
	}
	name := strings.ReplaceAll(in, `""`, `"`)
	if strings.Contains(strings.ReplaceAll(in, `""`, ""), `"`) {
		return "" // several names
	}
	return name
}

// standbyStat is one row of the primary's pg_stat_replication.
type standbyStat struct {
	State string // streaming, catchup ...
	Sync  string // sync, potential, async
	Flush LSN    // what it has flushed
}

// syncMark is what a primary remembers of the standby its setting names
// alone: Setting is that synchronous_standby_names, Since the primary's
// position when the server was first seen waiting for that standby only.
// Every commit acknowledged after Since waited for it; the ones before may
// have been acknowledged by another, so it is published synchronous only
// once it has flushed Since.
type syncMark struct {
	Setting string
	Since   LSN
}

// confirmSync decides what the primary publishes of its standbys: the
// server's sync states, except that "sync" is published only for the
// standby setting names alone, once the server waits for it alone (every
// other standby async) and it has flushed mark.Since. Others the server
// calls sync are published potential. pos is the primary's position now;
// the result is the mark to keep.
func confirmSync(setting string, stats map[string]standbyStat, mark syncMark, pos LSN) (map[string]string, syncMark) {
	out := make(map[string]string, len(stats))
	for n, s := range stats {
		out[n] = s.Sync
		if s.Sync == "sync" {
			out[n] = "potential"
		}
	}
	sole := soleSyncName(setting)
	if sole == "" {
		return out, syncMark{}
	}
	if mark.Setting != setting {
		mark = syncMark{}
	}
	s, ok := stats[sole]
	if !ok || s.Sync != "sync" {
		return out, mark
	}
	for n, o := range stats {
		if n != sole && o.Sync != "async" {
			return out, mark // a walsender still under an older setting
		}
	}
	if mark.Setting == "" {
		return out, syncMark{Setting: setting, Since: pos}
	}
	if s.Flush >= mark.Since {
		out[sole] = "sync"
	}
	return out, mark
}

// standbyStates renders the primary's view of its standbys for the
// pgsql-RSC-standbys attribute: "h2=sync,h3=potential", sorted.
func standbyStates(states map[string]string) string {
	var out []string
	for n, s := range states {
		out = append(out, n+"="+s)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// standbyState reads one node's state from a pgsql-RSC-standbys value.
func standbyState(list, node string) string {
	for _, kv := range strings.Split(list, ",") {
		if n, s, ok := strings.Cut(kv, "="); ok && n == node {
			return s
		}
	}
	return ""
}

// peerView is what an instance knows of another node from the cluster:
// its membership and the attributes its instance published.
type peerView struct {
	Name     string
	Host     string // cluster address (host only)
	Port     int    // pgsql-RSC-port: the port its server listens on (0: unknown)
	Online   bool
	Role     string // pgsql-RSC-role
	Timeline int    // pgsql-RSC-timeline
	LSN      LSN    // pgsql-RSC-lsn
	Standbys string // pgsql-RSC-standbys (a primary's view)
	HasData  bool   // pgsql-RSC-data is "1"
	SysID    string // pgsql-RSC-sysid: its database system identifier
	// Final and FinalTimeline are pgsql-RSC-final ("LSN@TIMELINE"): the
	// shutdown checkpoint a demoted primary wrote last (0: none).
	Final         LSN
	FinalTimeline int
}

// parseFinal reads a pgsql-RSC-final value.
func parseFinal(v string) (LSN, int) {
	l, t, ok := strings.Cut(v, "@")
	if !ok {
		return 0, 0
	}
	lsn, err := ParseLSN(l)
	tl, err2 := strconv.Atoi(t)
	if err != nil || err2 != nil {
		return 0, 0
	}
	return lsn, tl
}

// demotedPrimary is the peer that was demoted last (its Final on the
// highest timeline).
func demotedPrimary(peers []peerView) (peerView, bool) {
	var best peerView
	found := false
	for _, p := range peers {
		if p.Final != 0 && (!found || p.FinalTimeline > best.FinalTimeline) {
			best, found = p, true
		}
	}
	return best, found
}

// currentPrimary picks the primary to follow among the peers: an online
// node whose instance says primary, the highest timeline winning (an old
// primary back from a crash still says primary on its old timeline until
// it has restarted as a standby).
func currentPrimary(peers []peerView) (peerView, bool) {
	var best peerView
	found := false
	for _, p := range peers {
		if p.Online && p.Role == "primary" && (!found || p.Timeline > best.Timeline) {
			best, found = p, true
		}
	}
	return best, found
}

// lastPrimary is the primary of the latest timeline, online or not: its
// published standby states say which standby was synchronous when it was
// lost.
func lastPrimary(peers []peerView) (peerView, bool) {
	var best peerView
	found := false
	for _, p := range peers {
		if p.Role == "primary" && (!found || p.Timeline > best.Timeline) {
			best, found = p, true
		}
	}
	return best, found
}

// lastDemotion is the clean shutdown of a primary that counts: the latest
// one, unless a primary of a later timeline has been seen since.
func lastDemotion(views []peerView) (peerView, bool) {
	d, ok := demotedPrimary(views)
	if !ok {
		return d, false
	}
	if last, lok := lastPrimary(views); lok && last.Timeline > d.FinalTimeline {
		return d, false
	}
	return d, true
}

// ErrNotPromotable is returned by checkPromote when promoting this
// instance could lose acknowledged writes or make a second primary.
var ErrNotPromotable = errors.New("postgresql: not promotable")

// ErrOtherPrimary is wrapped by checkPromote's error when another online
// node says it is the primary.
var ErrOtherPrimary = errors.New("another node is an online primary")

// ErrBehind is wrapped by checkPromote's error when this standby has not
// yet received a demoted primary's shutdown checkpoint (a switchover's
// target catching up).
var ErrBehind = errors.New("behind the demoted primary")

// checkPromote decides, just before a promotion, whether it is safe: no
// other primary may be online; with synchronous on or strict this node
// must be the standby the last primary named synchronous; with off it
// must be within max_lag of what that primary published.
func checkPromote(self string, role Role, mode Sync, maxLag uint64, received LSN, peers []peerView) error {
	if p, ok := currentPrimary(peers); ok {
		return fmt.Errorf("%w: %w: %s (timeline %d)", ErrNotPromotable, ErrOtherPrimary, p.Name, p.Timeline)
	}
	if role == RoleEmpty {
		for _, p := range peers {
			if p.HasData {
				return fmt.Errorf("%w: no data here while %s has some", ErrNotPromotable, p.Name)
			}
		}
		return nil
	}
	last, ok := lastPrimary(peers)
	if d, dok := lastDemotion(peers); dok {
		// A planned switchover: the old primary shut down cleanly; a
		// standby that received its shutdown checkpoint has every commit.
		if received <= d.Final {
			return fmt.Errorf("%w: %w %s: received %s, its shutdown checkpoint is at %s", ErrNotPromotable, ErrBehind, d.Name, received, d.Final)
		}
		return nil
	}
	if !ok {
		return nil // no primary known anywhere (a whole-cluster restart)
	}
	if mode != SyncOff {
		if st := standbyState(last.Standbys, self); st != "sync" {
			return fmt.Errorf("%w: synchronous=%s and %s last named this standby %s", ErrNotPromotable, mode, last.Name, orNone(st))
		}
		return nil
	}
	if lag := lagBytes(last.LSN, received); maxLag > 0 && lag > maxLag {
		return fmt.Errorf("%w: %d bytes behind %s, beyond max_lag %d", ErrNotPromotable, lag, last.Name, maxLag)
	}
	return nil
}

// confValue quotes a value for postgresql.conf ('...' with ' doubled).
func confValue(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }

// setAutoConf returns the text of postgresql.auto.conf with the given
// settings replaced (an empty value removes the setting); other lines
// (the host's own ALTER SYSTEM settings) are kept.
func setAutoConf(text string, set map[string]string) string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		k, _, _ := strings.Cut(l, "=")
		if _, ours := set[strings.TrimSpace(k)]; ours && !strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		if l != "" || len(out) > 0 {
			out = append(out, l)
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if set[k] != "" {
			out = append(out, k+" = "+confValue(set[k]))
		}
	}
	return strings.Join(out, "\n") + "\n"
}

// slotName is the replication slot the primary keeps for a standby node.
func slotName(node string) string {
	var b strings.Builder
	b.WriteString("pl_")
	for _, r := range strings.ToLower(node) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// conninfo builds a libpq connection string (values quoted, so a value
// cannot add a keyword).
func conninfo(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		v := strings.ReplaceAll(strings.ReplaceAll(kv[i+1], `\`, `\\`), `'`, `\'`)
		parts = append(parts, kv[i]+"='"+v+"'")
	}
	return strings.Join(parts, " ")
}

// ErrOtherSystem is returned by checkSameSystem when this node's data
// belongs to another database cluster than the primary's.
var ErrOtherSystem = errors.New("postgresql: different database system")

// ErrRejoin is returned by a standby's monitor whose data is an old
// primary's not yet rewound onto the current primary's timeline.
var ErrRejoin = errors.New("postgresql: must rejoin")

// checkSameSystem refuses to follow (or rewind onto) a primary whose
// database system identifier differs from the local data's: neither
// streaming nor pg_rewind can join them, and the local data is not ours to
// replace. An unknown identifier (not yet published) passes.
func checkSameSystem(local string, primary peerView) error {
	if local == "" || primary.SysID == "" || local == primary.SysID {
		return nil
	}
	return fmt.Errorf("%w: pgdata has system identifier %s, primary %s has %s; not touching it", ErrOtherSystem, local, primary.Name, primary.SysID)
}
