package executor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paceline/paceline/internal/agents"
	"github.com/paceline/paceline/internal/clock"
	"github.com/paceline/paceline/internal/model"
)

// Agent performs operations for one agent class.
//
// Run is called from executor goroutines, concurrently for different
// resources but never for the same resource. It blocks until the operation
// ends. It must return within req's effective timeout plus a short grace,
// having killed whatever it started for the operation, with
// StatusTimedOut; and promptly after ctx ends, with StatusCancelled. It
// must not retain req's maps. The returned Result belongs to the caller.
type Agent interface {
	Run(ctx context.Context, req agents.Request) agents.Result
}

// Clock is the time source; clock.Real in production, *clock.Fake in
// tests.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) clock.Timer
}

var (
	_ Clock = clock.Real{}
	_ Clock = (*clock.Fake)(nil)
)

// Config configures an Executor.
type Config struct {
	// Node is this node's name, recorded in every OpRecord (OnNode) and
	// passed to agents (CRM_meta_on_node). Required.
	Node string
	// Agents maps a class name ("ocf", "builtin") to its agent. An op of
	// a class not listed completes with StatusNotInstalled.
	Agents map[string]Agent
	// Clock schedules recurring monitors and stamps records. Default
	// clock.Real{}.
	Clock Clock
	// Observe, if set, is called on the executor's loop with the agent,
	// action and duration of every completed execution (the daemon's
	// metrics hook); it must not block.
	Observe func(agent agents.Type, op string, took time.Duration)
}

// Errors returned by Exec, Probe and Cancel.
var (
	ErrClosed   = errors.New("executor: closed")
	ErrInvalid  = errors.New("executor: invalid operation")
	ErrNotFound = errors.New("executor: no such recurring operation")
)

// Op is one operation to perform.
type Op struct {
	// Resource is the resource instance id. Required.
	Resource string
	// Agent names the agent; its Class selects Config.Agents.
	Agent agents.Type
	// Name is the action (start, stop, monitor, ...). Required.
	Name string
	// Interval makes a monitor recurring; zero for everything else.
	Interval time.Duration
	// Timeout bounds each execution; zero means agents.DefaultTimeout.
	Timeout time.Duration
	// Params and Meta are passed to the agent (see agents.Request). The
	// executor copies them.
	Params map[string]string
	Meta   map[string]string
	// TransitionKey and TargetRC are copied into the record.
	TransitionKey string
	TargetRC      int
	// StateIndex is passed to the agent (agents.Request.StateIndex).
	StateIndex uint64
}

// Result is the outcome of one execution of an Op.
type Result struct {
	Resource string
	Agent    agents.Type
	// Record is the history entry for the resource on this node.
	Record model.OpRecord
	// Output is the agent's bounded stdout and stderr.
	Output string
}

// Executor runs operations on one node. Its methods are safe for
// concurrent use.
type Executor struct {
	cfg     Config
	cmds    chan func()
	results chan Result
	closing chan struct{}
	done    chan struct{}

	// Owned by the loop goroutine.
	resources map[string]*resource
	outbox    []Result
	nextCall  int
	lastRC    map[string]map[string]rcState // by resource, then opKey
	running   int
	closed    bool
	baseCtx   context.Context
	cancelAll context.CancelFunc

	// mdMu guards md, the agents' parsed meta-data by type (read by
	// workers).
	mdMu sync.Mutex
	md   map[agents.Type]*agents.Metadata
}

type resource struct {
	id string
	// params and meta are those of the instance's last start (or
	// migrate_from, reload): its stop runs with them, whatever the
	// configuration says now, as Pacemaker stops with the parameters the
	// history recorded for the start.
	params, meta map[string]string
	queue        []*job
	running      *job
	recurring    map[string]*recurring // by opKey
}

type job struct {
	op     Op
	callID int
	// digests are set by the worker for a start, migrate_from or reload.
	digests digests
	rec     *recurring // nil for one-shot ops
	cancel  context.CancelFunc
}

type recurring struct {
	op     Op
	callID int
	// reported says a run of this call was reported; rc and status are
	// what it reported last. A run that repeats them is not reported
	// again (Pacemaker's executor reports recurring results on change).
	reported   bool
	rc, status int
	timer      clock.Timer // armed between runs
	queued     bool
	running    bool
	cancelled  bool
}

type rcState struct {
	rc, status int
	changed    time.Time
}

// New starts an executor; Close stops it.
func New(cfg Config) (*Executor, error) {
	if cfg.Node == "" {
		return nil, fmt.Errorf("%w: Config.Node is empty", ErrInvalid)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	cfg.Agents = maps.Clone(cfg.Agents)
	ctx, cancel := context.WithCancel(context.Background())
	e := &Executor{
		cfg:       cfg,
		cmds:      make(chan func()),
		results:   make(chan Result),
		closing:   make(chan struct{}),
		done:      make(chan struct{}),
		resources: map[string]*resource{},
		lastRC:    map[string]map[string]rcState{},
		baseCtx:   ctx,
		cancelAll: cancel,
	}
	go e.loop()
	return e, nil
}

// Results returns the channel results are delivered on, in completion
// order: every execution of a one-shot op; of a recurring op the first
// run and each run whose exit code or status differs from the previous
// one (and its cancellation). It is closed when Close has finished; results not
// read by then are dropped.
func (e *Executor) Results() <-chan Result { return e.results }

// Exec queues op behind the resource's other operations and returns its
// call id. A recurring monitor replaces one with the same name and
// interval; a stop, promote, demote or migrate_to first cancels the
// resource's recurring monitors (as Pacemaker's controller does), so none
// of the old role runs after it. A stop runs with the parameters of the
// resource's last start here (the instance's own), when there was one.
func (e *Executor) Exec(op Op) (int, error) {
	switch {
	case op.Resource == "" || op.Name == "":
		return 0, fmt.Errorf("%w: resource and name are required", ErrInvalid)
	case op.Interval < 0 || op.Timeout < 0:
		return 0, fmt.Errorf("%w: negative interval or timeout", ErrInvalid)
	case op.Interval > 0 && op.Name != "monitor":
		return 0, fmt.Errorf("%w: only monitors recur, not %s", ErrInvalid, op.Name)
	}
	op.Params, op.Meta = maps.Clone(op.Params), maps.Clone(op.Meta)
	var id int
	err := e.call(func() { id = e.exec(op) })
	return id, err
}

// Probe queues a one-shot monitor: is the resource running here?
func (e *Executor) Probe(resource string, agent agents.Type, params map[string]string, timeout time.Duration) (int, error) {
	return e.Exec(Op{Resource: resource, Agent: agent, Name: "monitor", Params: params, Timeout: timeout, TargetRC: int(agents.RCNotRunning)})
}

// Cancel stops the recurring op name/interval of resource. A run in
// progress finishes; the op then reports once with OpStatus cancelled.
func (e *Executor) Cancel(resource, name string, interval time.Duration) error {
	var err error
	if cerr := e.call(func() {
		r := e.resources[resource]
		if r == nil || r.recurring[opKey(name, interval)] == nil {
			err = fmt.Errorf("%w: %s %s every %v", ErrNotFound, resource, name, interval)
			return
		}
		e.cancel(r, r.recurring[opKey(name, interval)])
	}); cerr != nil {
		return cerr
	}
	return err
}

// Close stops recurring monitors, cancels running operations, waits for
// them and closes Results. It is safe to call more than once.
func (e *Executor) Close() {
	select {
	case <-e.closing:
	default:
		close(e.closing)
	}
	<-e.done
}

// call runs f on the loop goroutine and waits for it.
func (e *Executor) call(f func()) error {
	ran := make(chan struct{})
	select {
	case e.cmds <- func() { f(); close(ran) }:
		<-ran
		return nil
	case <-e.closing:
		return ErrClosed
	}
}

// post runs f on the loop goroutine without waiting (timers, workers).
func (e *Executor) post(f func()) {
	select {
	case e.cmds <- f:
	case <-e.done:
	}
}

func (e *Executor) loop() {
	defer close(e.done)
	defer close(e.results)
	closing := e.closing
	for {
		if e.closed && e.running == 0 {
			return
		}
		var out chan Result
		var next Result
		if len(e.outbox) > 0 && !e.closed {
			out, next = e.results, e.outbox[0]
		}
		select {
		case f := <-e.cmds:
			f()
		case out <- next:
			e.outbox[0] = Result{}
			e.outbox = e.outbox[1:]
		case <-closing:
			closing = nil
			e.shutdown()
		}
	}
}

func (e *Executor) shutdown() {
	e.closed = true
	for _, r := range e.resources {
		for _, rec := range r.recurring {
			rec.cancelled = true
			if rec.timer != nil {
				rec.timer.Stop()
			}
		}
		r.queue = nil
	}
	e.cancelAll()
}

func opKey(name string, interval time.Duration) string {
	return fmt.Sprintf("%s_%d", name, interval.Milliseconds())
}

func (e *Executor) resource(id string) *resource {
	r := e.resources[id]
	if r == nil {
		r = &resource{id: id, recurring: map[string]*recurring{}}
		e.resources[id] = r
	}
	return r
}

// exec runs on the loop.
func (e *Executor) exec(op Op) int {
	r := e.resource(op.Resource)
	e.nextCall++
	switch op.Name {
	case "start", "migrate_from", "reload", "reload-agent":
		r.params, r.meta = op.Params, op.Meta
	case "stop":
		if r.params != nil {
			op.Params = r.params
		}
	}
	j := &job{op: op, callID: e.nextCall}
	switch op.Name {
	case "stop", "promote", "demote", "migrate_to":
		// The role (or the node) changes: the monitors of the old role
		// end; the controller asks for those of the new one.
		for _, rec := range r.recurring {
			e.cancel(r, rec)
		}
		if j := r.running; j != nil && j.rec != nil && j.rec.cancelled && j.cancel != nil {
			// A monitor of the old role still running (an agent that
			// waits on the cluster, cut off from it): the change does
			// not wait for it (its result is reported cancelled).
			j.cancel()
		}
	}
	if op.Interval > 0 {
		key := opKey(op.Name, op.Interval)
		if old := r.recurring[key]; old != nil {
			if sameRecurring(old.op, op) {
				// Asked again for the monitor it runs (a transition planned
				// before the first result was stored): it goes on under the
				// newer transition key rather than start over behind itself,
				// and its next result is reported even if unchanged.
				e.renew(r, old, op)
				return old.callID
			}
			e.cancel(r, old)
		}
		j.rec = &recurring{op: op, callID: j.callID, queued: true}
		r.recurring[key] = j.rec
	}
	r.queue = append(r.queue, j)
	e.next(r)
	return j.callID
}

// sameRecurring reports whether b asks for the very recurring op a is:
// same agent, parameters, meta-attributes, timeout and expected rc.
func sameRecurring(a, b Op) bool {
	return a.Agent == b.Agent && a.Timeout == b.Timeout && a.TargetRC == b.TargetRC &&
		maps.Equal(a.Params, b.Params) && maps.Equal(a.Meta, b.Meta)
}

// renew gives a recurring op, its queued or running run included, the
// transition key and state index of op; runs on the loop.
func (e *Executor) renew(r *resource, rec *recurring, op Op) {
	rec.op.TransitionKey, rec.op.StateIndex = op.TransitionKey, op.StateIndex
	rec.reported = false
	for _, j := range append(slices.Clone(r.queue), r.running) {
		if j != nil && j.rec == rec {
			j.op.TransitionKey, j.op.StateIndex = op.TransitionKey, op.StateIndex
		}
	}
}

// cancel ends a recurring op; runs on the loop.
func (e *Executor) cancel(r *resource, rec *recurring) {
	if rec.cancelled {
		return
	}
	rec.cancelled = true
	delete(r.recurring, opKey(rec.op.Name, rec.op.Interval))
	if rec.timer != nil {
		rec.timer.Stop()
		rec.timer = nil
	}
	if rec.queued {
		for i, j := range r.queue {
			if j.rec == rec {
				r.queue = append(r.queue[:i], r.queue[i+1:]...)
				break
			}
		}
		rec.queued = false
	}
	if !rec.running { // a running one reports when it ends
		e.report(&job{op: rec.op, callID: rec.callID, rec: rec},
			agents.Result{RC: agents.RCOK, Status: agents.StatusCancelled}, e.cfg.Clock.Now())
	}
}

// next starts the resource's next queued op if none is running.
func (e *Executor) next(r *resource) {
	if r.running != nil || len(r.queue) == 0 || e.closed {
		return
	}
	j := r.queue[0]
	r.queue = r.queue[1:]
	r.running = j
	if j.rec != nil {
		j.rec.queued, j.rec.running = false, true
	}
	e.running++
	started := e.cfg.Clock.Now()
	req := agents.Request{
		ResourceID: j.op.Resource, Agent: j.op.Agent, Op: j.op.Name, Interval: j.op.Interval,
		Timeout: j.op.Timeout, Params: maps.Clone(j.op.Params), Meta: maps.Clone(j.op.Meta), Node: e.cfg.Node,
		StateIndex: j.op.StateIndex,
	}
	agent := e.cfg.Agents[j.op.Agent.Class]
	ctx, cancel := context.WithCancel(e.baseCtx)
	j.cancel = cancel
	go func() {
		var res agents.Result
		if agent == nil {
			res = agents.Failed(agents.RCNotInstalled, agents.StatusNotInstalled, "no agent class %q on this node", j.op.Agent.Class)
		} else {
			switch req.Op {
			case "start", "migrate_from", "reload", "reload-agent":
				md := e.metadata(ctx, agent, req)
				j.digests = digestsOf(req.Params, md)
				if req.Op == "reload-agent" && md != nil && md.ReloadAction() == "reload" {
					req.Op = "reload" // a legacy agent's reload
				}
			}
			res = agent.Run(ctx, req)
		}
		cancel()
		e.post(func() { e.finished(r, j, res, started) })
	}()
}

// finished runs on the loop when an execution ends.
func (e *Executor) finished(r *resource, j *job, res agents.Result, started time.Time) {
	r.running = nil
	e.running--
	if rec := j.rec; rec != nil {
		rec.running = false
		if rec.cancelled {
			res.Status = agents.StatusCancelled
		} else if !e.closed {
			// Arm the next run before reporting, so whoever reads this
			// result can rely on the timer being set.
			rec.timer = e.cfg.Clock.AfterFunc(rec.op.Interval, func() {
				e.post(func() { e.due(r, rec) })
			})
		}
	}
	e.report(j, res, started)
	e.next(r)
}

// due queues the next run of a recurring op; runs on the loop.
func (e *Executor) due(r *resource, rec *recurring) {
	rec.timer = nil
	if rec.cancelled || e.closed {
		return
	}
	rec.queued = true
	r.queue = append(r.queue, &job{op: rec.op, callID: rec.callID, rec: rec})
	e.next(r)
}

// report queues the record of an execution; runs on the loop.
func (e *Executor) report(j *job, res agents.Result, started time.Time) {
	if rec := j.rec; rec != nil && res.Status != agents.StatusCancelled {
		if rec.reported && rec.rc == int(res.RC) && rec.status == int(res.Status) {
			return // an unchanged repetition
		}
		rec.reported, rec.rc, rec.status = true, int(res.RC), int(res.Status)
	}
	op := j.op
	key := opKey(op.Name, op.Interval)
	if op.Name == "stop" && res.Status == agents.StatusDone && res.RC == agents.RCOK {
		// A clean stop starts a fresh history for the resource's ops.
		delete(e.lastRC, op.Resource)
	}
	states := e.lastRC[op.Resource]
	if states == nil {
		states = map[string]rcState{}
		e.lastRC[op.Resource] = states
	}
	last, seen := states[key]
	if !seen || last.rc != int(res.RC) || last.status != int(res.Status) {
		last = rcState{rc: int(res.RC), status: int(res.Status), changed: started}
		states[key] = last
	}
	rec := model.OpRecord{
		ID:            op.Resource + "_" + key,
		Operation:     op.Name,
		Interval:      op.Interval.Milliseconds(),
		CallID:        j.callID,
		RC:            int(res.RC),
		OpStatus:      int(res.Status),
		TargetRC:      op.TargetRC,
		TransitionKey: op.TransitionKey,
		LastRun:       started.Unix(),
		LastRCChange:  last.changed.Unix(),
		ExecTime:      int(res.Duration.Milliseconds()),
		OnNode:        e.cfg.Node,
		ExitReason:    res.ExitReason,
		MigrateSource: op.Meta["migrate_source"],
		MigrateTarget: op.Meta["migrate_target"],
		Digest:        j.digests.all,
		RestartDigest: j.digests.restart,
		ForceRestart:  j.digests.force,
	}
	if (op.Name == "reload" || op.Name == "reload-agent") && res.Status == agents.StatusDone && res.RC == agents.RCOK {
		// The instance now runs with the reloaded parameters: its history
		// records them as its start's, as Pacemaker's does, so the
		// scheduler compares the configuration with them.
		rec.Operation, rec.ID = "start", op.Resource+"_"+opKey("start", 0)
	}
	e.outbox = append(e.outbox, Result{Resource: op.Resource, Agent: op.Agent, Record: rec, Output: res.Output})
	if e.cfg.Observe != nil {
		e.cfg.Observe(op.Agent, op.Name, res.Duration)
	}
}

// digests are what the history records of the parameters a start ran
// with (Pacemaker's op-digest, op-restart-digest and op-force-restart):
// the scheduler compares them with the configuration to restart or reload
// a resource whose definition changed.
type digests struct {
	all, restart, force string
}

// digestsOf computes the digests of params; md (nil when unknown) says
// which parameters force a restart.
func digestsOf(params map[string]string, md *agents.Metadata) digests {
	d := digests{all: model.ParamDigest(params)}
	if md == nil {
		return d
	}
	force := md.ForceRestart()
	if force == nil {
		return d // the agent cannot reload: every change restarts
	}
	keep := map[string]string{}
	for _, p := range force {
		if v, ok := params[p]; ok {
			keep[p] = v
		}
	}
	d.restart = model.ParamDigest(keep)
	d.force = " " + strings.Join(force, " ") + " "
	return d
}

// metadata returns the agent's parsed meta-data, asking the agent once
// per type (nil when it cannot say).
func (e *Executor) metadata(ctx context.Context, agent Agent, req agents.Request) *agents.Metadata {
	e.mdMu.Lock()
	md, ok := e.md[req.Agent]
	e.mdMu.Unlock()
	if ok {
		return md
	}
	res := agent.Run(ctx, agents.Request{ResourceID: req.ResourceID, Agent: req.Agent, Op: "meta-data", Timeout: 5 * time.Second, Node: req.Node})
	if res.Status != agents.StatusDone || res.RC != agents.RCOK {
		return nil
	}
	parsed, err := agents.ParseMetadata([]byte(res.Output))
	if err != nil {
		return nil
	}
	e.mdMu.Lock()
	defer e.mdMu.Unlock()
	if e.md == nil {
		e.md = map[agents.Type]*agents.Metadata{}
	}
	e.md[req.Agent] = &parsed
	return &parsed
}
