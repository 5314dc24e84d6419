package plan

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/sched"
)

// Kinds of action (Action.Kind): the agent actions, plus Fence.
const (
	Start       = "start"
	Stop        = "stop"
	Monitor     = "monitor"
	Promote     = "promote"
	Demote      = "demote"
	Notify      = "notify"
	MigrateTo   = "migrate_to"
	MigrateFrom = "migrate_from"
	Reload      = "reload"
	ReloadAgent = "reload-agent"
	Fence       = "fence"
)

// Expected exit codes (OCF).
const (
	rcOK       = 0
	rcNotRun   = 7
	rcPromoted = 8
)

// DefaultTimeout is an operation's timeout when neither the operation nor
// op_defaults gives one (Pacemaker's default).
const DefaultTimeout = 20 * time.Second

// Agent names a resource agent.
type Agent struct {
	Class, Provider, Type string
}

// Action is one complete, executable step of a transition.
type Action struct {
	// ID is unique within the plan: the scheduler's action id for its
	// actions, higher ids for the monitors and notifications Build adds.
	ID int
	// Kind is start, stop, monitor, promote, demote, notify, migrate_to,
	// migrate_from, reload, reload-agent or fence.
	Kind string
	// Resource is the scheduler's instance id ("db:1"); HistoryID the id
	// the node runs and records it under ("db" for an anonymous clone
	// instance, as Pacemaker's OCF_RESOURCE_INSTANCE and history give it).
	// Both are empty for a fence action.
	Resource, HistoryID string
	// Node runs the action; for a fence action it is the target.
	Node  string
	Agent Agent
	// Params are the instance parameters for Node (the operation's own
	// parameters included). The plan owns them; callers must not modify.
	Params map[string]string
	// Meta is the CRM_meta_* environment without the prefix ("clone_max",
	// "notify_type", "migrate_target"), names with "_" for "-".
	Meta map[string]string
	// Interval is a recurring monitor's period (zero otherwise); Timeout
	// bounds one execution.
	Interval, Timeout time.Duration
	// TargetRC is the exit code that means success.
	TargetRC int
	// Role is a recurring monitor's role (Promoted, Unpromoted, Started).
	Role string
	// FenceAction is reboot or off, for a fence action.
	FenceAction string
	// After lists the ids of the actions this one waits for.
	After []int
	// Reason says why the scheduler asked for it.
	Reason string
}

// Key is Pacemaker's operation key "rsc_task_interval", with the node:
// "node/rsc_task_interval" (a notify also names its type and operation).
func (a *Action) Key() string {
	k := fmt.Sprintf("%s/%s_%s_%d", a.Node, a.HistoryID, a.Kind, a.Interval.Milliseconds())
	if a.Kind == Notify {
		k += "/" + a.Meta["notify_type"] + "-" + a.Meta["notify_operation"]
	}
	return k
}

// Plan is an executable transition.
type Plan struct {
	// Actions in id order.
	Actions []*Action
	byID    map[int]*Action
}

// New makes a plan of the given actions (tests and tools write plans by
// hand this way; Build makes them from the scheduler's result).
func New(actions []*Action) *Plan {
	p := &Plan{byID: map[int]*Action{}}
	for _, a := range actions {
		p.Actions = append(p.Actions, a)
		p.byID[a.ID] = a
	}
	sort.Slice(p.Actions, func(i, j int) bool { return p.Actions[i].ID < p.Actions[j].ID })
	return p
}

// Get returns the action with id, or nil.
func (p *Plan) Get(id int) *Action { return p.byID[id] }

// Empty reports whether the plan has nothing to do.
func (p *Plan) Empty() bool { return p == nil || len(p.Actions) == 0 }

// Input is what Build needs: the scheduler's result and what it was
// computed from.
type Input struct {
	Result *sched.Result
	Config *model.Config
	Status *model.Status
	// DefaultTimeout replaces DefaultTimeout when set.
	DefaultTimeout time.Duration
}

// Ready returns the actions of p not done whose predecessors are all done,
// in id order. It is pure: done is not modified.
func Ready(p *Plan, done map[int]bool) []*Action {
	if p == nil {
		return nil
	}
	var out []*Action
	for _, a := range p.Actions {
		if done[a.ID] {
			continue
		}
		ready := true
		for _, id := range a.After {
			if !done[id] {
				ready = false
				break
			}
		}
		if ready {
			out = append(out, a)
		}
	}
	return out
}

// Complete reports whether every action of p is done.
func Complete(p *Plan, done map[int]bool) bool {
	for _, a := range p.Actions {
		if !done[a.ID] {
			return false
		}
	}
	return true
}

// builder holds one Build's state.
type builder struct {
	in      Input
	p       *Plan
	nextID  int
	nodeIDs map[string]string
	timeout time.Duration
}

// Build makes the executable plan of one scheduler result.
func Build(in Input) *Plan {
	b := &builder{in: in, p: &Plan{byID: map[int]*Action{}}, nodeIDs: map[string]string{}, timeout: in.DefaultTimeout}
	if b.timeout <= 0 {
		b.timeout = DefaultTimeout
	}
	if in.Config != nil {
		for _, n := range in.Config.Nodes {
			if n.ID != "" {
				b.nodeIDs[n.Name] = n.ID
			}
		}
	}
	if in.Status != nil {
		for _, n := range in.Status.Nodes {
			if n.ID != "" {
				b.nodeIDs[n.Name] = n.ID
			}
		}
	}
	if in.Result == nil {
		return b.p
	}
	b.fromScheduler()
	b.monitors()
	b.notifications()
	sort.Slice(b.p.Actions, func(i, j int) bool { return b.p.Actions[i].ID < b.p.Actions[j].ID })
	return b.p
}

func (b *builder) add(a *Action) {
	b.p.Actions = append(b.p.Actions, a)
	b.p.byID[a.ID] = a
	if a.ID >= b.nextID {
		b.nextID = a.ID + 1
	}
}

func (b *builder) newID() int {
	id := b.nextID
	b.nextID++
	return id
}

// fromScheduler converts the scheduler's runnable, mandatory actions,
// folding its pseudo actions into direct edges.
func (b *builder) fromScheduler() {
	acts := b.in.Result.Actions
	byID := map[int]*sched.Action{}
	for _, a := range acts {
		byID[a.ID] = a
		if a.ID >= b.nextID {
			b.nextID = a.ID + 1
		}
	}
	real := func(a *sched.Action) bool {
		return !a.Pseudo && (a.Task == "stonith" || (a.Resource != "" && a.Node != ""))
	}
	// deps is the set of real actions a waits for; blocked is set when
	// it (transitively) waits for an action that cannot run.
	type depInfo struct {
		ids     []int
		blocked bool
	}
	memo := map[int]*depInfo{}
	var deps func(a *sched.Action, depth int) *depInfo
	deps = func(a *sched.Action, depth int) *depInfo {
		if d, ok := memo[a.ID]; ok {
			return d
		}
		d := &depInfo{}
		memo[a.ID] = d
		if depth > len(acts) {
			return d
		}
		seen := map[int]bool{}
		for _, id := range a.After {
			p := byID[id]
			if p == nil || p.Optional {
				continue
			}
			if !p.Runnable {
				d.blocked = true
				continue
			}
			if real(p) {
				if !seen[p.ID] {
					seen[p.ID] = true
					d.ids = append(d.ids, p.ID)
				}
				continue
			}
			pd := deps(p, depth+1)
			d.blocked = d.blocked || pd.blocked
			for _, x := range pd.ids {
				if !seen[x] {
					seen[x] = true
					d.ids = append(d.ids, x)
				}
			}
		}
		sort.Ints(d.ids)
		return d
	}
	for _, a := range acts {
		if a.Optional || !a.Runnable || !real(a) {
			continue
		}
		d := deps(a, 0)
		if d.blocked {
			continue
		}
		var pa *Action
		if a.Task == "stonith" {
			pa = b.fence(a)
		} else {
			pa = b.resourceAction(a)
		}
		if pa == nil {
			continue
		}
		pa.After = append(pa.After, d.ids...)
		b.add(pa)
	}
	// Edges to actions that were left out (unknown resources) are dropped.
	for _, a := range b.p.Actions {
		kept := a.After[:0]
		for _, id := range a.After {
			if b.p.byID[id] != nil {
				kept = append(kept, id)
			}
		}
		a.After = kept
	}
}

func (b *builder) fence(a *sched.Action) *Action {
	fa := a.FenceAction // reboot or off as stonith-action says, or on (unfencing)
	if fa == "" {
		fa = "reboot"
		if b.in.Config != nil && b.in.Config.Properties["stonith-action"] != "" {
			fa = b.in.Config.Properties["stonith-action"]
		}
	}
	return &Action{ID: a.ID, Kind: Fence, Node: a.Node, FenceAction: fa, Reason: a.Reason, Timeout: b.timeout}
}

// kind maps a scheduler task to an action kind.
func kind(task string) string {
	switch task {
	case "stonith":
		return Fence
	}
	return task
}

func (b *builder) resourceAction(a *sched.Action) *Action {
	in := b.in.Result.Instances[a.Resource]
	if in == nil {
		return nil
	}
	pa := b.instanceAction(in, kind(a.Task), a.Node, time.Duration(a.IntervalMS)*time.Millisecond, "")
	pa.ID = a.ID
	pa.Reason = a.Reason
	switch pa.Kind {
	case Monitor:
		if pa.Interval == 0 {
			pa.TargetRC = rcNotRun
			pa.Meta["op_target_rc"] = strconv.Itoa(rcNotRun)
		}
	case MigrateTo:
		pa.Meta["migrate_source"] = a.Node
		pa.Meta["migrate_target"] = in.Next
	case MigrateFrom:
		src := ""
		for _, n := range in.Running {
			if n != a.Node {
				src = n
				break
			}
		}
		pa.Meta["migrate_source"] = src
		pa.Meta["migrate_target"] = a.Node
	}
	return pa
}

// instanceAction builds the action kind of instance in on node, with the
// configured operation of that name and interval (if any).
func (b *builder) instanceAction(in *sched.Instance, kind, node string, interval time.Duration, role string) *Action {
	var op *model.Op
	for i := range in.Ops {
		o := &in.Ops[i]
		if o.Name == kind && o.Interval == interval && (role == "" || sameRole(o.Role, role)) {
			op = o
			break
		}
	}
	return b.instanceActionOp(in, kind, node, interval, op)
}

// instanceActionOp builds the action with op's parameters, timeout and
// meta-attributes (op may be nil).
func (b *builder) instanceActionOp(in *sched.Instance, kind, node string, interval time.Duration, op *model.Op) *Action {
	params := in.Params[node]
	if params == nil {
		for _, n := range sortedKeys(in.Params) {
			params = in.Params[n]
			break
		}
	}
	a := &Action{
		Kind: kind, Resource: in.ID, HistoryID: in.HistoryID, Node: node,
		Agent:    Agent{Class: in.Class, Provider: in.Provider, Type: in.Type},
		Params:   sched.OpParams(params, op),
		Interval: interval, Timeout: b.opTimeout(op, kind),
	}
	a.Meta = b.meta(in, a, op)
	return a
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (b *builder) opTimeout(op *model.Op, kind string) time.Duration {
	if op != nil && op.Timeout > 0 {
		return op.Timeout
	}
	if b.in.Config != nil {
		if v := b.in.Config.OpDefaults["timeout"]; v != "" {
			if d, ok := parseDuration(v); ok {
				return d
			}
		}
	}
	return b.timeout
}

// parseDuration reads a Pacemaker interval specification: "20s", "2min",
// "500ms", "1h", or plain seconds.
func parseDuration(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(n) * time.Second, true
	}
	v = strings.Replace(strings.Replace(v, "min", "m", 1), "sec", "s", 1)
	d, err := time.ParseDuration(v)
	return d, err == nil
}

// meta builds the CRM_meta_* environment of an action.
func (b *builder) meta(in *sched.Instance, a *Action, op *model.Op) map[string]string {
	m := map[string]string{}
	for k, v := range in.Meta {
		m[metaName(k)] = v
	}
	if op != nil {
		for k, v := range op.Meta {
			m[metaName(k)] = v
		}
	}
	if in.Clone != "" {
		if _, num, ok := strings.Cut(in.ID, ":"); ok {
			m["clone"] = num
		}
		m["clone_max"] = strconv.Itoa(in.CloneMax)
		m["clone_node_max"] = strconv.Itoa(in.CloneNodeMax)
		m["notify"] = strconv.FormatBool(in.Notify)
		m["globally_unique"] = strconv.FormatBool(in.Unique)
		if in.Promotable {
			m["promoted_max"] = strconv.Itoa(in.PromotedMax)
			m["promoted_node_max"] = strconv.Itoa(in.PromotedNodeMax)
			m["master_max"] = m["promoted_max"]
			m["master_node_max"] = m["promoted_node_max"]
		}
	}
	m["name"] = a.Kind
	m["interval"] = strconv.FormatInt(a.Interval.Milliseconds(), 10)
	m["timeout"] = strconv.FormatInt(a.Timeout.Milliseconds(), 10)
	m["on_node"] = a.Node
	if id := b.nodeIDs[a.Node]; id != "" {
		m["on_node_uuid"] = id
	} else {
		m["on_node_uuid"] = a.Node
	}
	if a.Role != "" {
		m["role"] = a.Role
	}
	return m
}

// metaName turns a meta-attribute name into its CRM_meta_ suffix.
func metaName(k string) string { return strings.ReplaceAll(k, "-", "_") }

// sameRole reports whether a configured op's role names role (Master and
// Slave are Promoted and Unpromoted; Started and Unpromoted are one).
func sameRole(opRole, role string) bool {
	r1, r2 := normRole(opRole), normRole(role)
	return r1 == r2
}

func normRole(s string) string {
	switch sched.ParseRole(s) {
	case sched.RolePromoted:
		return "Promoted"
	case sched.RoleUnpromoted, sched.RoleStarted:
		return "Started"
	case sched.RoleStopped:
		return "Stopped"
	}
	return ""
}
