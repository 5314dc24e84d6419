package fence

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paceline/paceline/internal/model"
)

// Two-node clusters (docs/two-node.md): when one of two voters is lost the
// survivor has no quorum and goes on only after it fenced the other
// through a device. Race decides, on each side, whether it fences and
// after what delay, so that of two live nodes whose link is cut exactly
// one fences the other first.

// Reach is what a node's own ping resources say of its gateway.
type Reach int

const (
	// ReachUnknown: no ping resource runs on the node (no heuristics).
	ReachUnknown Reach = iota
	// Reachable: a ping resource on the node reaches at least one target.
	Reachable
	// Unreachable: every ping resource on the node reaches none of its
	// targets: the node is the isolated one.
	Unreachable
)

func (r Reach) String() string {
	switch r {
	case ReachUnknown:
		return "unknown"
	case Reachable:
		return "reachable"
	case Unreachable:
		return "unreachable"
	}
	return fmt.Sprintf("Reach(%d)", int(r))
}

// GatewayReach reads a node's latest ping values (builtin:ping's
// attribute, multiplier × reachable targets, one per ping resource
// running on the node): Reachable when any is above 0, Unreachable when
// all are 0, ReachUnknown without values. A value that is not a number
// counts as 0 (a broken ping resource vouches for nothing).
func GatewayReach(values []string) Reach {
	if len(values) == 0 {
		return ReachUnknown
	}
	for _, v := range values {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return Reachable
		}
	}
	return Unreachable
}

// IsolatedDelay is how long a node that cannot reach its gateway waits
// before it fences its peer: long enough for a peer that reaches the
// gateway to fence it first, short enough that one node goes on when the
// gateway itself failed.
const IsolatedDelay = 30 * time.Second

// DefaultTwoNodePriorityDelay is the priority delay of a two-node race
// when priority-fencing-delay is not set: it must exceed the skew between
// the two nodes noticing the loss plus one fence operation, so that the
// winner's fence is confirmed before the loser's begins.
const DefaultTwoNodePriorityDelay = 5 * time.Second

// RaceFacts is what one node of a two-node cluster knows when it lost its
// peer.
type RaceFacts struct {
	// Self and Peer are the two nodes' names.
	Self, Peer string
	// CaughtUp: this node has been caught up with the cluster since it
	// started (corosync's wait_for_all): a node that booted while its
	// peer was down may hold older state and must not go on alone.
	CaughtUp bool
	// CanFence: a fence device (or level) of the configuration can fence
	// Peer.
	CanFence bool
	// Gateway is what this node's ping resources say of its gateway.
	Gateway Reach
	// SelfPriority and PeerPriority are the summed priority of the
	// resources each node runs (NodePriority), from the last state both
	// agreed on.
	SelfPriority, PeerPriority int
	// PriorityDelay is priority-fencing-delay (0: not set, then
	// DefaultTwoNodePriorityDelay).
	PriorityDelay time.Duration
	// Failed counts this node's fences of Peer that failed in a row
	// since it lost it: the next waits RetryDelay(Failed) more.
	Failed int
}

// RetryDelay is the wait added before a two-node fence after n failed in
// a row: 0, 1 s, 2 s, 4 s ... at most 30 s, so a dead BMC is not run in a
// tight loop and one that comes back is used within half a minute (the
// fencer's stonith-max-attempts does not stop a survivor for good).
func RetryDelay(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	return min(time.Second<<min(n-1, 5), 30*time.Second)
}

// RaceDecision is Race's answer.
type RaceDecision struct {
	// Fence: this node fences Peer after Delay.
	Fence bool
	// Delay before the fence starts.
	Delay time.Duration
	// Reason says why, in one line (for the log and status).
	Reason string
}

// Race decides whether this node fences its lost peer and after what
// delay. It is pure. The rules, in order:
//
//   - a node not caught up since it started fences nobody (wait_for_all);
//   - a node with no device that can fence its peer fences nobody (it can
//     never go on alone: never by waiting);
//   - a node that cannot reach its gateway waits IsolatedDelay first;
//   - the fence of the peer that runs the more important resources (a
//     larger priority sum) waits the priority delay, so the more important
//     node wins (Pacemaker's priority-fencing-delay);
//   - equal sums: the node whose name sorts last waits half the priority
//     delay, so two live nodes never start fencing each other at once;
//   - after failed fences the next waits RetryDelay more.
//
// The delays add up, so a reachable node always fences before an
// isolated one, and of two nodes equally placed the priorities, then the
// names, separate them by at least half the priority delay.
func Race(f RaceFacts) RaceDecision {
	if !f.CaughtUp {
		return RaceDecision{Reason: fmt.Sprintf("%s has not been caught up with %s since it started (wait_for_all): it fences nobody and waits", f.Self, f.Peer)}
	}
	if !f.CanFence {
		return RaceDecision{Reason: fmt.Sprintf("no fence device can fence %s: %s cannot go on alone and waits", f.Peer, f.Self)}
	}
	pd := f.PriorityDelay
	if pd <= 0 {
		pd = DefaultTwoNodePriorityDelay
	}
	var d time.Duration
	why := ""
	if f.Gateway == Unreachable {
		d += IsolatedDelay
		why = fmt.Sprintf("%s cannot reach its gateway (+%v)", f.Self, IsolatedDelay)
	}
	add := func(dl time.Duration, s string) {
		d += dl
		if why != "" {
			why += ", "
		}
		why += s
	}
	switch {
	case f.PeerPriority > f.SelfPriority:
		add(pd, fmt.Sprintf("%s runs the more important resources (priority %d > %d, +%v)", f.Peer, f.PeerPriority, f.SelfPriority, pd))
	case f.PeerPriority == f.SelfPriority && f.Self > f.Peer:
		add(pd/2, fmt.Sprintf("equal priority %d: %s sorts after %s (+%v)", f.SelfPriority, f.Self, f.Peer, pd/2))
	}
	if f.Failed > 0 {
		add(RetryDelay(f.Failed), fmt.Sprintf("%d failed fences in a row (+%v)", f.Failed, RetryDelay(f.Failed)))
	}
	if why == "" {
		why = "no delay"
	}
	return RaceDecision{Fence: true, Delay: d, Reason: fmt.Sprintf("%s fences %s after %v: %s", f.Self, f.Peer, d, why)}
}

// Running is one resource (or clone instance) running on a node, for
// NodePriority.
type Running struct {
	// Priority is the resource's priority meta-attribute (0 when unset).
	Priority int
	// Promoted: the instance runs in the promoted role.
	Promoted bool
}

// NodePriority is a node's priority for priority-fencing-delay: the sum
// of the priority of the resources it runs, a promoted instance counting
// one more (Pacemaker's node priority). Resources of priority 0 add
// nothing, promoted or not.
func NodePriority(rs []Running) int {
	sum := 0
	for _, r := range rs {
		if r.Priority == 0 {
			continue
		}
		sum += r.Priority
		if r.Promoted {
			sum++
		}
	}
	return sum
}

// The member roles TwoNodeGate counts (the store's role names).
const (
	RoleServer  = "server"
	RoleWitness = "witness"
)

// TwoNodeGate returns what a two-node cluster lacks before it may run
// anything but fence devices and ping resources (GateExempt), in one line
// that says what to add; "" when nothing is missing. A two-node cluster
// is one whose voters are exactly two servers (no witness) with
// stonith-enabled=true: without a device able to fence each of them, the
// survivor of a crash could never go on alone (docs/two-node.md). A device
// covers a server when its pcmk_host_list or pcmk_host_map names it, when
// it has no static list (its agent's list or status decides at fencing
// time), or when a fencing level targets the server. With
// stonith-enabled=false the gate is off: such a cluster never goes on
// alone and needs both nodes, as any Raft cluster does. roles maps every
// member to its role (server, witness, client). It is pure.
func TwoNodeGate(cfg *model.Config, roles map[string]string) string {
	servers, ok := TwoServers(roles)
	if cfg == nil || !ok || !model.ParseClusterOptions(cfg.Properties).StonithEnabled {
		return ""
	}
	var missing []string
	for _, n := range servers {
		if !Covered(cfg, n) {
			missing = append(missing, n)
		}
	}
	switch len(missing) {
	case 0:
		return ""
	case 1:
		n := missing[0]
		return fmt.Sprintf("two-node cluster: %s has no fence device: add one (paceline resource create fence-%s stonith:fence_ipmilan ip=BMC username=USER password=PASSWORD lanplus=1 pcmk_host_list=%s) or join a witness; until then only fence devices and ping resources run", n, n, n)
	}
	return fmt.Sprintf("two-node cluster: %s have no fence device: add one for each (paceline resource create fence-NODE stonith:fence_ipmilan ip=BMC username=USER password=PASSWORD lanplus=1 pcmk_host_list=NODE) or join a witness; until then only fence devices and ping resources run", strings.Join(missing, " and "))
}

// Covered reports whether a device or level of cfg can fence node (as
// far as the configuration says: a device without a static list counts).
func Covered(cfg *model.Config, node string) bool {
	for _, l := range cfg.FencingLevels {
		if l.Target == node && len(l.Devices) > 0 {
			return true
		}
	}
	for _, r := range cfg.FenceDevices() {
		d, err := deviceOf(r)
		if err != nil {
			continue // a broken device fences nobody
		}
		if d.InStaticList(node) {
			return true
		}
		if len(d.HostList) == 0 && len(d.HostMap) == 0 && (!d.hostCheckSet || d.HostCheck != CheckStaticList) {
			return true
		}
	}
	return false
}

// GateExempt reports whether r runs in a two-node cluster the gate holds
// (TwoNodeGate): a fence device (class stonith), a ping resource
// (builtin:ping, ocf:pacemaker:ping) or a group or clone of only those.
func GateExempt(r *model.Resource) bool {
	if r.Kind != model.KindPrimitive {
		for i := range r.Children {
			if !GateExempt(&r.Children[i]) {
				return false
			}
		}
		return len(r.Children) > 0
	}
	switch {
	case r.Class == "stonith":
		return true
	case r.Type == "ping" && (r.Class == "builtin" || r.Class == "ocf" && r.Provider == "pacemaker"):
		return true
	}
	return false
}

// GateInput is the scheduler's input of a cluster the two-node gate
// holds (TwoNodeGate): every top-level resource but those GateExempt
// lets run is planned as target-role=Stopped, so nothing else starts (and
// what runs stops) until each node has a device or a witness joined. It
// returns cfg itself when the gate is open, else a copy, and the gate's
// line ("" when open). It is pure.
func GateInput(cfg *model.Config, roles map[string]string) (*model.Config, string) {
	line := TwoNodeGate(cfg, roles)
	if line == "" {
		return cfg, ""
	}
	out := *cfg
	out.Resources = make([]model.Resource, len(cfg.Resources))
	for i, r := range cfg.Resources {
		if !GateExempt(&r) {
			r.Meta = maps.Clone(r.Meta)
			if r.Meta == nil {
				r.Meta = map[string]string{}
			}
			r.Meta["target-role"] = "Stopped"
		}
		out.Resources[i] = r
	}
	return &out, line
}

// TwoServers returns the two servers, sorted, when the members are a
// two-node cluster's: exactly two servers and no witness (clients may
// be members too). roles maps every member to its role. It is pure.
func TwoServers(roles map[string]string) ([]string, bool) {
	servers := Members(roles, RoleServer)
	if len(servers) != 2 || len(Members(roles, RoleWitness)) > 0 {
		return nil, false
	}
	return servers, true
}

// Members returns the names of the members with role, sorted. roles maps
// every member to its role. It is pure.
func Members(roles map[string]string, role string) []string {
	var out []string
	for n, r := range roles {
		if r == role {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// TwoNodePeer returns self's peer when self is one of the two servers of
// a two-node cluster as self sees it (docs/two-node.md): the members are
// exactly two servers and no witness, and the Raft voters of self's
// configuration are those two. roles maps every member to its role
// (server, witness, client). It is pure.
func TwoNodePeer(roles map[string]string, voters []string, self string) (string, bool) {
	servers, ok := TwoServers(roles)
	if !ok || roles[self] != RoleServer || len(voters) != 2 {
		return "", false
	}
	peer := servers[0]
	if peer == self {
		peer = servers[1]
	}
	if !slices.Contains(voters, self) || !slices.Contains(voters, peer) {
		return "", false
	}
	return peer, true
}

// KeepOnLeaseLoss reports whether self, whose lease lapsed, keeps what it
// runs instead of stopping it (self-fencing, DESIGN.md Safety), with the
// reason in one line when it does. It keeps in a two-node cluster
// (TwoNodePeer) with stonith-enabled=true whose gate is open (TwoNodeGate:
// a device can fence each node) when self feeds no lease watchdog. Then
// nobody starts self's resources elsewhere before a device confirmed self
// off, so keeping them is never a second copy, and the survivor of its
// peer's loss serves on without a gap (docs/two-node.md, "Why it is
// safe"):
//
//   - its peer goes on alone only after fencing it (Race, then a device's
//     confirmation), and no leader without self has quorum;
//   - a leader recovers a lost node whose lease no watchdog guards only
//     after a device or an operator confirmed it off (the controller's
//     judge).
//
// With a witness (the other side may have quorum and recover by a
// watchdog's lease), a lease watchdog (its lease is taken as guarded, and
// the watchdog resets the node anyway), stonith-enabled=false (a lost
// node is recovered once its lease expired) or no device for a node,
// self stops what it runs as every node does. It is pure.
func KeepOnLeaseLoss(cfg *model.Config, roles map[string]string, voters []string, self string, watchdog bool) (bool, string) {
	peer, ok := TwoNodePeer(roles, voters, self)
	if !ok || cfg == nil || watchdog || !model.ParseClusterOptions(cfg.Properties).StonithEnabled || TwoNodeGate(cfg, roles) != "" {
		return false, ""
	}
	return true, fmt.Sprintf("two-node cluster: %s keeps what it runs: %s runs it only after a device fenced %s", self, peer, self)
}

// ErrTwoNodeVoter refuses a third voter of a cluster created as two
// servers without a witness (`paceline init --two-node`).
var ErrTwoNodeVoter = errors.New("fence: two-node cluster")

// TwoNodeJoin checks the join of node name with role (server, witness,
// client) against a cluster declared two-node (the two-node property,
// set by `paceline init --two-node`): a witness never joins, a server
// only while fewer than two are members; a client (no vote) always.
// roles maps the members to their roles. The error (ErrTwoNodeVoter) is
// one line that says what to do instead; nil when the join may go on.
// It is pure.
func TwoNodeJoin(cfg *model.Config, roles map[string]string, name, role string) error {
	if cfg == nil || !model.ParseClusterOptions(cfg.Properties).TwoNode || role == "client" {
		return nil
	}
	servers := slices.DeleteFunc(Members(roles, RoleServer), func(n string) bool { return n == name })
	switch {
	case role == RoleWitness:
		return fmt.Errorf("%w (paceline init --two-node): %s cannot join as a witness: a two-node cluster has no witness; "+
			"join it as a client, or run `paceline property set two-node=false` first to make a three-voter cluster", ErrTwoNodeVoter, name)
	case role == RoleServer && len(servers) >= 2:
		return fmt.Errorf("%w (paceline init --two-node): %s cannot join as a server: %s are its two voters; "+
			"join it as a client, or run `paceline property set two-node=false` first to make a three-voter cluster",
			ErrTwoNodeVoter, name, strings.Join(servers, " and "))
	}
	return nil
}

// TwoNodeDeclare checks setting the two-node property to true against the
// members (roles maps each to its role): a cluster with a witness or more
// than two servers is not a two-node cluster. The error
// (ErrTwoNodeVoter) is one line; nil when the members fit. It is pure.
func TwoNodeDeclare(roles map[string]string) error {
	servers, witnesses := Members(roles, RoleServer), Members(roles, RoleWitness)
	switch {
	case len(witnesses) > 0:
		return fmt.Errorf("%w: two-node=true: %s is a witness, and a two-node cluster has none (remove it first: paceline node remove %s)",
			ErrTwoNodeVoter, strings.Join(witnesses, ", "), witnesses[0])
	case len(servers) > 2:
		return fmt.Errorf("%w: two-node=true: the cluster has %d servers (%s), a two-node cluster two", ErrTwoNodeVoter, len(servers), strings.Join(servers, ", "))
	}
	return nil
}
