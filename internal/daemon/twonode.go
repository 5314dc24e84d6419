package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/paceline/paceline/internal/agents/builtin"
	"github.com/paceline/paceline/internal/consensus"
	"github.com/paceline/paceline/internal/fence"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/node"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/sched"
	"github.com/paceline/paceline/internal/store"
)

// twoNodeFenceFile holds the record of the fence a two-node survivor ran
// before it went on alone, written before its restart and recorded
// through Raft once it leads (0600).
const twoNodeFenceFile = "two-node-fence.json"

// twoNodeMark is the line of the bootstrap mark that `paceline init
// --two-node` adds: the bootstrap then declares the cluster two-node.
const twoNodeMark = "two-node"

// declareTwoNode sets the two-node property of a cluster just
// bootstrapped (`paceline init --two-node`): a witness or a third server
// cannot join (fence.TwoNodeJoin), and status says it is a two-node
// cluster.
func declareTwoNode(ctx context.Context, cn *consensus.Node) error {
	cfg := cn.Config()
	if cfg.Properties == nil {
		cfg.Properties = map[string]string{}
	}
	cfg.Properties["two-node"] = "true"
	res, err := cn.Apply(ctx, store.NewConfigPut(cfg.Epoch, *cfg, store.Change{Author: "paceline init --two-node",
		Message: "two servers without a witness (docs/two-node.md)", At: time.Now().UnixMilli()}))
	if err == nil {
		err = res.Err
	}
	if err != nil {
		return fmt.Errorf("declare the cluster two-node: %w", err)
	}
	return nil
}

// twoNode is the shell of docs/two-node.md on every server: when this
// node and its peer are the cluster's only two voters and it has had no
// leader for a lease TTL, it decides with fence.Race whether and when it
// fences the peer, fences it through its devices, and when a device
// confirmed, goes on alone (consensus PrepareAlone, then a restart of the
// agent: Raft starts with this node the only voter). Leading alone, it
// records that fence and promotes the peer to voter again once its agent
// is back.
type twoNode struct {
	name    string
	dataDir string
	cn      *consensus.Node
	rt      *node.Runtime
	ttl     time.Duration
	propose func(context.Context, store.Command) (store.Result, error)
	logf    func(string, ...any)
	// restart replaces the agent's process with a new one (the same
	// command line): Raft then starts from the recovered configuration.
	restart func() error
	// lost is what this node does about its lost peer, for status
	// (Lost); "" while it has a leader.
	lost atomic.Pointer[string]
	// failed counts the fences of the peer that failed in a row since
	// the leader was lost (fence.RaceFacts.Failed); lastFail is the last
	// one's reason. The run loop's goroutine owns them.
	failed   int
	lastFail string
}

// Lost returns what this node does about its lost peer, in one line (""
// while it has a leader): status shows it (httpapi.TwoNodeReporter).
func (s *twoNode) Lost() string {
	if p := s.lost.Load(); p != nil {
		return *p
	}
	return ""
}

func (s *twoNode) setLost(line string) { s.lost.Store(&line) }

// run watches until ctx ends.
func (s *twoNode) run(ctx context.Context) {
	// A quarter of a second: the loss is noticed a lease TTL after it
	// anyway; an idle agent wakes four times a second for two reads.
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var lostSince time.Time
	said := ""
	// The record of a fence run before this start (written just before
	// the restart that made this node the only voter).
	_, err := os.Stat(filepath.Join(s.dataDir, twoNodeFenceFile))
	pending := err == nil
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if s.cn.LeaderID() != "" {
			s.setLost("")
			s.failed, s.lastFail = 0, ""
		}
		switch {
		case s.cn.IsLeader():
			lostSince = time.Time{}
			if pending {
				pending = !s.recordPending(ctx)
			}
			s.promote(ctx)
			continue
		case s.cn.LeaderID() != "":
			lostSince = time.Time{}
			s.cn.CaughtUp() // marks the node synced (wait_for_all)
			continue
		}
		peer, ok := s.peer()
		if !ok {
			lostSince = time.Time{}
			continue
		}
		if lostSince.IsZero() {
			lostSince = time.Now()
			continue
		}
		if time.Since(lostSince) < s.ttl {
			continue
		}
		why := s.race(ctx, peer)
		if why != "restarting" && why != "stopped" {
			s.setLost(why)
		}
		if why != said {
			s.logf("two-node: %s", why)
			said = why
		}
	}
}

// peer returns the other server when this node and it are the only two
// voters (both servers, no witness: fence.TwoNodePeer).
func (s *twoNode) peer() (string, bool) {
	roles := map[string]string{}
	s.cn.Read(func(st *store.Store) { roles = store.Roles(st.MemberStates()) })
	v, _ := s.cn.Voters()
	return fence.TwoNodePeer(roles, v, s.name)
}

// race decides and waits as fence.Race says, checking the facts again
// while it waits (a gateway lost meanwhile lengthens the wait; a leader
// back ends it), then fences peer; with the fence confirmed it records
// it for later and restarts alone. It returns what it did, in one line.
func (s *twoNode) race(ctx context.Context, peer string) string {
	start := time.Now()
	for {
		f := s.facts(ctx, peer)
		f.Failed = s.failed
		d := fence.Race(f)
		if !d.Fence {
			return d.Reason
		}
		if time.Since(start) >= d.Delay {
			s.logf("two-node: lost %s: %s", peer, d.Reason)
			s.setLost(s.failedLine(peer, fmt.Sprintf("fencing it now (%s)", d.Reason)))
			break
		}
		s.setLost(s.failedLine(peer, d.Reason))
		select {
		case <-ctx.Done():
			return "stopped"
		case <-time.After(min(250*time.Millisecond, d.Delay-time.Since(start))):
		}
		if s.cn.LeaderID() != "" {
			return fmt.Sprintf("a leader is back (%s): %s is not fenced", s.cn.LeaderID(), peer)
		}
	}
	rec, err := s.rt.FenceUnrecorded(peer, "", s.name+" (two-node)")
	if rec.Fenced == nil {
		s.failed++
		s.lastFail = strings.TrimPrefix(fmt.Sprint(err), "fence: ")
		if i := strings.IndexByte(s.lastFail, '\n'); i >= 0 {
			s.lastFail = s.lastFail[:i]
		}
		return s.failedLine(peer, "")
	}
	s.failed, s.lastFail = 0, ""
	b, err := json.Marshal(rec)
	if err == nil {
		err = pki.WriteFile(filepath.Join(s.dataDir, twoNodeFenceFile), b, 0o600)
	}
	if err == nil {
		err = s.cn.PrepareAlone(peer)
	}
	if err != nil {
		return fmt.Sprintf("%s was fenced (by %s) but %s cannot go on alone: %v", peer, rec.Fenced.By, s.name, err)
	}
	s.logf("two-node: %s fenced by %s: %s goes on alone (restarting its agent with Raft to itself)", peer, rec.Fenced.By, s.name)
	if err := s.restart(); err != nil {
		return fmt.Sprintf("restart: %v", err)
	}
	return "restarting"
}

// failedLine is what status says while this node races for its lost
// peer: after failed fences, that it cannot go on alone and why (it
// holds what it runs, docs/two-node.md); then what it does now.
func (s *twoNode) failedLine(peer, now string) string {
	if s.failed == 0 {
		return fmt.Sprintf("lost %s: %s", peer, now)
	}
	line := fmt.Sprintf("fencing %s failed (%d in a row), %s cannot go on alone and keeps what it runs: %s", peer, s.failed, s.name, s.lastFail)
	if now != "" {
		line += "; next: " + now
	}
	return line
}

// facts gathers fence.Race's input: from the local copy of the state
// (the last both nodes agreed on) and a fresh check of this node's ping
// resources' targets.
func (s *twoNode) facts(ctx context.Context, peer string) fence.RaceFacts {
	var (
		cfg  *model.Config
		st   *model.Status
		opts model.ClusterOptions
	)
	s.cn.Read(func(x *store.Store) { cfg, st, opts = x.Config(), x.Status(), x.Options() })
	f := fence.RaceFacts{Self: s.name, Peer: peer, CaughtUp: s.cn.Synced(), CanFence: fence.Covered(cfg, peer),
		PriorityDelay: opts.PriorityFencingDelay}
	var values []string
	for _, r := range pingResources(cfg.Resources) {
		params := map[string]string{}
		for _, nv := range r.Params {
			params[nv.Name] = nv.Value
		}
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		v, err := builtin.PingValue(pctx, params)
		cancel()
		if err != nil {
			v = "0"
		}
		values = append(values, v)
	}
	f.Gateway = fence.GatewayReach(values)
	if view, err := sched.CurrentView(sched.Input{Config: cfg, Status: st, Now: time.Now()}); err == nil {
		f.SelfPriority = fence.NodePriority(running(cfg, view.Resources, s.name, 0))
		f.PeerPriority = fence.NodePriority(running(cfg, view.Resources, peer, 0))
	}
	return f
}

// pingResources are the builtin:ping primitives of rs (in clones too).
func pingResources(rs []model.Resource) []*model.Resource {
	var out []*model.Resource
	for i := range rs {
		r := &rs[i]
		if r.Kind == model.KindPrimitive && r.Class == "builtin" && r.Type == "ping" {
			out = append(out, r)
		}
		out = append(out, pingResources(r.Children)...)
	}
	return out
}

// running lists what the view says runs on node, with each resource's
// priority meta (inherited from its group or clone, as Pacemaker's
// meta-attributes are).
func running(cfg *model.Config, views []sched.ResourceView, node string, inherited int) []fence.Running {
	var out []fence.Running
	for _, v := range views {
		prio := inherited
		if r := model.FindResource(cfg.Resources, model.BaseID(v.ID)); r != nil {
			if p, err := strconv.Atoi(r.Meta["priority"]); err == nil {
				prio = p
			}
		}
		if len(v.Children) > 0 {
			out = append(out, running(cfg, v.Children, node, prio)...)
			continue
		}
		for _, n := range v.Nodes {
			if n == node {
				out = append(out, fence.Running{Priority: prio, Promoted: v.Role == "Promoted"})
			}
		}
	}
	return out
}

// recordPending records, once this node leads alone, the fence it ran
// before its restart, so the controller's judge sees the peer fenced and
// recovers its resources at once. It reports whether it is done (false:
// try again).
func (s *twoNode) recordPending(ctx context.Context) bool {
	file := filepath.Join(s.dataDir, twoNodeFenceFile)
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return true
	}
	var rec store.FenceRecord
	if err == nil {
		err = json.Unmarshal(b, &rec)
	}
	if err != nil {
		s.logf("two-node: %s: %v (removed)", file, err)
		os.Remove(file)
		return true
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := s.propose(cctx, store.NewFenceRecord(rec))
	if err != nil {
		s.logf("two-node: record the fence of %s: %v (trying again)", rec.Target, err)
		return false
	}
	if res.Err != nil {
		s.logf("two-node: record the fence of %s: %v", rec.Target, res.Err)
	}
	os.Remove(file)
	s.logf("two-node: recorded the fence of %s: %s leads alone", rec.Target, s.name)
	return true
}

// promote makes a peer this node went on without a voter again once its
// agent renewed its lease with this leader (online, and its fence mark
// cleared by that renewal).
func (s *twoNode) promote(ctx context.Context) {
	alone, others := s.cn.Alone()
	if !alone {
		return
	}
	for _, o := range others {
		var m store.Member
		var ok bool
		s.cn.Read(func(st *store.Store) { m, ok = st.MemberState(o) })
		// Online and not fenced since: it renewed with this leader after
		// the fence (store: a member online again is no longer fenced).
		if !ok || m.Role != store.RoleServer || m.State != store.StateOnline || m.Fenced != nil {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.cn.Promote(cctx, o)
		cancel()
		if err != nil {
			s.logf("two-node: promote %s to voter: %v", o, err)
			continue
		}
		s.logf("two-node: %s is back and a voter again", o)
	}
}

// reexec replaces the process with a new run of the same command line
// (same PID, environment and standard streams; files and sockets opened
// with close-on-exec, as Go opens them, are closed, which releases the
// Raft log's lock). cn is shut down first so its log is complete.
func reexec(cn *consensus.Node) func() error {
	return func() error {
		cn.Shutdown()
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		return syscall.Exec(exe, os.Args, os.Environ())
	}
}
