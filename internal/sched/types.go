package sched

import (
	"github.com/paceline/paceline/internal/model"
)

// Role is a resource's role, ordered as Pacemaker orders them.
type Role int

const (
	RoleUnknown Role = iota
	RoleStopped
	RoleStarted
	RoleUnpromoted
	RolePromoted
)

func (r Role) String() string {
	switch r {
	case RoleStopped:
		return "Stopped"
	case RoleStarted:
		return "Started"
	case RoleUnpromoted:
		return "Unpromoted"
	case RolePromoted:
		return "Promoted"
	}
	return "Unknown"
}

func parseRole(s string) Role {
	switch s {
	case "Stopped", "stopped":
		return RoleStopped
	case "Started", "started":
		return RoleStarted
	case "Unpromoted", "Slave", "unpromoted", "slave":
		return RoleUnpromoted
	case "Promoted", "Master", "promoted", "master":
		return RolePromoted
	}
	return RoleUnknown
}

// node is a node as the scheduler sees it.
type node struct {
	name  string
	id    string
	index int
	// state
	online, unclean, standby, pending, shutdown, maintenance bool
	expectedUp, unseen, remote                               bool
	// ping is a quorum-only node (type ping, a witness): never online
	// for resources, never unclean.
	ping bool
	// standbyOnFail is a standby forced by on-fail=standby.
	attrs map[string]string
	// score is the node's own score (added to every allowed weight).
	score model.Score
	// numResources counts the resources assigned here so far.
	numResources int
	// capacity is the remaining utilization capacity (see utilization.go);
	// nil until first used.
	capacity capacity
	// fenceReason is set when the node must be fenced.
	fenceReason string
	// Remote and guest nodes (see remote.go): conn is the connection
	// resource; remoteReset says the node must be reset (fenced, or its
	// container recovered) before it can be trusted again; remoteFenced
	// says it was fenced since the connection was last up; unpacked says
	// its history has been read.
	conn                                *resource
	remoteReset, remoteFenced, unpacked bool
	// priority of the node (for priority-fencing-delay; unused).
}

func (n *node) attr(name string) (string, bool) {
	switch name {
	case "#uname":
		return n.name, true
	case "#id":
		return n.id, true
	case "#kind":
		if n.isGuest() {
			return "container", true
		}
		if n.remote {
			return "remote", true
		}
		return "cluster", true
	case "#is_dc":
		v, ok := n.attrs["#is_dc"]
		if !ok {
			return "false", true
		}
		return v, true
	}
	v, ok := n.attrs[name]
	return v, ok
}

// canRun is Pacemaker's can_run_resources.
func (n *node) canRun() bool {
	return n != nil && n.online && !n.shutdown && !n.unclean && !n.standby && !n.maintenance
}

// weighted is a node with a score in a resource's allowed table.
type weighted struct {
	n     *node
	score model.Score
	count int
}

// nodeTable maps nodes to scores. It is dense, indexed by node index, so
// copies and look-ups are cheap; iteration follows node order.
type nodeTable struct {
	entries []weighted
	count   int
}

func newNodeTable(size int) *nodeTable { return &nodeTable{entries: make([]weighted, size)} }

func (t *nodeTable) get(n *node) *weighted {
	if n == nil || n.index >= len(t.entries) || t.entries[n.index].n == nil {
		return nil
	}
	return &t.entries[n.index]
}

func (t *nodeTable) set(n *node, s model.Score) *weighted {
	if n.index >= len(t.entries) {
		grown := make([]weighted, n.index+1)
		copy(grown, t.entries)
		t.entries = grown
	}
	w := &t.entries[n.index]
	if w.n == nil {
		w.n = n
		w.count = 0
		t.count++
	}
	w.score = s
	return w
}

func (t *nodeTable) clone() *nodeTable {
	return &nodeTable{entries: append([]weighted(nil), t.entries...), count: t.count}
}

func (t *nodeTable) each(f func(w *weighted)) {
	for i := range t.entries {
		if t.entries[i].n != nil {
			f(&t.entries[i])
		}
	}
}

func (t *nodeTable) len() int { return t.count }

// anyAvailable is pcmk__any_node_available: a node that can run resources
// with a non-negative score.
func (t *nodeTable) anyAvailable() bool {
	for i := range t.entries {
		w := &t.entries[i]
		if w.n != nil && w.n.canRun() && w.score >= 0 {
			return true
		}
	}
	return false
}

type variant int

const (
	vPrimitive variant = iota
	vGroup
	vClone
	vBundle
)

// onFail is the failure policy, ordered by severity as in Pacemaker.
type onFail int

const (
	failIgnore onFail = iota
	failDemote
	failRestart // also the default
	failResetRemote
	failRestartContainer
	failMigrate // ban from the node (recover elsewhere)
	failBlock
	failStop
	failStandby
	failFence
)

// resource is a resource (primitive, group, clone, or clone instance).
type resource struct {
	id      string
	cfg     *model.Resource
	variant variant
	parent  *resource
	// children are group members, or clone instances.
	children []*resource
	meta     map[string]string
	ws       *workingSet

	// flags
	managed, orphan, failed, stopFlag, block, provisional, allocating,
	merging, unique, promotable, notify, interleave, ordered, allowMigrate,
	startPending, failureIgnored, needsFencing, needsUnfencing, needsQuorum, critical,
	reload, stopUnexpected, maintenance, isClone bool

	priority           int
	stickiness         model.Score
	migrationThreshold int
	failureTimeout     int64 // seconds
	recovery           string
	restartType        string

	role, nextRole  Role
	nextRoleReason  string
	runningOn       []*node
	pendingNode     *node
	partialSource   *node
	partialTarget   *node
	danglingSources []*node
	lockNode        *node
	lockTime        int64
	allowed         *nodeTable
	assigned        *node
	knownOn         map[*node]bool
	explanations    []string
	// contribs records where each node score came from (only for
	// resources being explained).
	contribs        []contribution
	sortIndex       int
	instanceNum     int
	ops             []model.Op
	thisWith        []*colocation // constraints where this is dependent
	withThis        []*colocation // constraints where this is primary
	actions         []*Action
	cloneMax        int
	cloneNodeMax    int
	promotedMax     int
	promotedNodeMax int
	cloneMin        int
	targetRoleSet   bool
	targetRole      Role
	// historyNodes are nodes whose history mentions this resource.
	historyNodes []*node
	// lastFailure on nodes
	pendingTask string
	// historyID is the id the history used for this instance.
	historyID      string
	nextInstance   int
	promotionAdded bool
	locs           []*location
	assignedScore  model.Score
	// tickets are the ticket dependencies naming this resource.
	tickets []*ticketDep
	// container is the resource this one lives in (meta container; for a
	// guest node's connection, the guest's VM); connFor is the remote
	// node this resource is the connection of; reconnectMS is a remote
	// connection's reconnect_interval (see remote.go).
	container   *resource
	connFor     *node
	reconnectMS int64
	// discovery is each node's resource-discovery mode from location
	// constraints; exclusiveDiscover is set by any exclusive one (see
	// discovery.go).
	discovery         map[*node]discoverMode
	exclusiveDiscover bool
	// bundle is set for bundles (see bundle.go); implicit marks the
	// resources a bundle creates for its replicas.
	bundle   *bundleData
	implicit bool
}

// top is uber_parent: the outermost collective resource, except that a
// bundle's replica resources and implicit clone count as top-level.
func (r *resource) top() *resource {
	for r.parent != nil && r.parent.variant != vBundle {
		r = r.parent
	}
	return r
}

// current is pe__current_node: the node a resource is active on — the
// partial migration source when migrating, else (for resources that do not
// need fencing) the first clean node, else the first node.
func (r *resource) current() *node {
	n, _, _ := r.findActiveOn()
	return n
}

func (r *resource) primitives() []*resource {
	if r.variant == vPrimitive {
		return []*resource{r}
	}
	var out []*resource
	for _, c := range r.children {
		out = append(out, c.primitives()...)
	}
	return out
}

func (r *resource) setNextRole(role Role, why string) {
	r.nextRole = role
	r.nextRoleReason = why
}

// colocation is an unpacked colocation constraint between two resources.
type colocation struct {
	id            string
	dependent     *resource
	primary       *resource
	score         model.Score
	depRole       Role
	primRole      Role
	nodeAttribute string
	influence     bool
}

// workingSet is everything the scheduler knows during one run.
type workingSet struct {
	cfg   *model.Config
	st    *model.Status
	now   int64
	props map[string]string

	nodes      []*node
	nodeByName map[string]*node
	resources  []*resource // top-level, in processing order
	byID       map[string]*resource

	symmetric         bool
	stonithEnabled    bool
	haveStonith       bool
	haveQuorum        bool
	noQuorumPolicy    string
	stopOrphans       bool
	stopOrphanActions bool
	startFailFatal    bool
	maintenanceMode   bool
	stopEverything    bool
	startupFencing    bool
	placementStrategy string
	enableProbes      bool
	// enableUnfencing: a fence device provides unfencing (unfence.go).
	enableUnfencing   bool
	stonithAction     string
	shutdownLock      bool
	shutdownLockLimit int64 // seconds; 0: locks never expire

	colocations  []*colocation
	orderings    []*ordering
	tickets      map[string]*ticket
	actions      []*Action
	nextActionID int

	dcNode *node
	// explainIDs are the resources whose decisions are being explained.
	explainIDs map[string]bool
	// tableSlab is preallocated storage for node tables.
	tableSlab []weighted
	// fillerMap lists the resources inside each container.
	fillerMap map[*resource][]*resource
	// failInstanceKeys lists, per node and base resource id, the fail
	// count keys recorded with an instance number.
	failInstanceKeys map[*node]map[string][]string
	cloneChildren    map[string]*resource
	failIdx          map[*node]map[string]*failInfo
	notes            []string
}
