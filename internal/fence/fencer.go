package fence

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/paceline/paceline/internal/agents"
	"github.com/paceline/paceline/internal/agents/stonith"
	"github.com/paceline/paceline/internal/clock"
	"github.com/paceline/paceline/internal/model"
)

// Runner runs one fence agent operation: the stonith class
// (*stonith.Class). Run blocks until the agent exits or req.Timeout killed
// it.
type Runner interface {
	Run(ctx context.Context, req agents.Request) agents.Result
}

var _ Runner = (*stonith.Class)(nil)

// Clock is the time source: clock.Real in production, *clock.Fake in
// tests.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) clock.Timer
}

// Config configures a Fencer.
type Config struct {
	// Runner runs the agents (required).
	Runner Runner
	// Clock stamps the history and times the delays. Default clock.Real.
	Clock Clock
	// Rand returns a random number in [0, 1) for pcmk_delay_max.
	// Default math/rand/v2's Float64.
	Rand func() float64
	// MetadataTimeout bounds an agent's meta-data run. Default 10s.
	MetadataTimeout time.Duration
	// HistoryMax bounds the history. Default DefaultHistoryMax.
	HistoryMax int
	// Logf reports what the fencer does (never a parameter value).
	// Default: nothing.
	Logf func(format string, args ...any)
}

// Errors of the Fencer.
var (
	ErrNoRunner        = errors.New("fence: no runner")
	ErrBadAction       = errors.New("fence: action is not off, on or reboot")
	ErrFenceFailed     = errors.New("fence: fencing failed")
	ErrTooManyAttempts = errors.New("fence: too many failed attempts")
	ErrInProgress      = errors.New("fence: another action is in progress for the target")
	// ErrUnknownDevice: a level names a device that is not configured.
	ErrUnknownDevice  = model.ErrUnknownFenceDevice
	ErrDeviceMetadata = errors.New("fence: device agent's meta-data is unusable")
	ErrCannotFence    = errors.New("fence: device cannot fence the target")
)

// Topology is what the fencer fences with: the devices, the levels and the
// nodes that may be targets.
type Topology struct {
	// Devices in the order they are tried when a target has no levels.
	Devices []*Device
	// Levels per target.
	Levels []Level
	// Nodes are the cluster's node names; a target or a device's host
	// list entry that is none of them is refused. Empty: not checked.
	Nodes []string
	// Options are the cluster's fencing options.
	Options Options
}

// Validate reports every problem at once, each in one line naming the
// device or level: a device's pcmk_host_list or pcmk_host_map naming a
// target that is not a node, and the level problems of
// model.Config.ValidateFencingLevels (the one implementation of those
// rules): a level naming a device that is not configured, a target that is
// not a node, a bad or repeated index.
func (t *Topology) Validate() error {
	var errs []error
	isNode := func(n string) bool { return len(t.Nodes) == 0 || indexOf(t.Nodes, n) >= 0 }
	for _, d := range t.Devices {
		for _, h := range d.HostList {
			if !isNode(h) {
				errs = append(errs, fmt.Errorf("%w: device %s: pcmk_host_list names %s", ErrUnknownTarget, d.ID, h))
			}
		}
		for h := range d.HostMap {
			if !isNode(h) {
				errs = append(errs, fmt.Errorf("%w: device %s: pcmk_host_map names %s", ErrUnknownTarget, d.ID, h))
			}
		}
	}
	cfg := &model.Config{}
	nodes := t.Nodes
	if len(nodes) == 0 { // not checked: every target counts as a node
		for _, l := range t.Levels {
			nodes = append(nodes, l.Target)
		}
	}
	for _, n := range nodes {
		cfg.Nodes = append(cfg.Nodes, model.Node{Name: n})
	}
	for _, d := range t.Devices {
		cfg.Resources = append(cfg.Resources, model.Resource{ID: d.ID, Kind: model.KindPrimitive, Class: stonith.ClassName, Type: d.Agent})
	}
	levels := make([]model.FencingLevel, 0, len(t.Levels))
	for _, l := range t.Levels {
		levels = append(levels, model.FencingLevel{Target: l.Target, Index: l.Index, Devices: l.Devices})
	}
	if err := cfg.ValidateFencingLevels(levels); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Request asks the fencer to fence one target.
type Request struct {
	// Target is the node to fence.
	Target string
	// Action is off, on or reboot; "" means the cluster's stonith-action.
	Action string
	// Origin says who asked (recorded in the history).
	Origin string
	// Priority adds the cluster's priority-fencing-delay before the
	// first device runs (the caller decides that the target runs the
	// more important resources).
	Priority bool
}

// Result is the outcome of one fence operation.
type Result struct {
	// Op numbers the operation in the history.
	Op uint64
	// Target and Action as done.
	Target, Action string
	// Verdict is Fenced or Failed.
	Verdict Verdict
	// Reason says which level succeeded or why each failed.
	Reason string
	// Start and End bound the operation (delays included).
	Start, End time.Time
}

// Fencer runs fence operations: for a target, the stages of its topology
// one after another through the stonith class, with each device's host
// check, port, delay, timeout and retries, and records every agent run in
// its History. It is safe for concurrent use; one operation runs per target
// at a time (a second request for the same action waits for the first's
// result).
type Fencer struct {
	cfg     Config
	history *History

	mu       sync.Mutex
	topo     Topology
	meta     map[string]agents.Metadata // by agent name
	failures map[string]int             // failed operations in a row, by target
	inflight map[string]*call           // by target
	nextOp   uint64
}

type call struct {
	action string
	done   chan struct{}
	res    Result
	err    error
}

// New returns a fencer with an empty topology; zero fields of cfg take
// their defaults.
func New(cfg Config) (*Fencer, error) {
	if cfg.Runner == nil {
		return nil, ErrNoRunner
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.MetadataTimeout <= 0 {
		cfg.MetadataTimeout = 10 * time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &Fencer{cfg: cfg, history: NewHistory(cfg.HistoryMax), topo: Topology{Options: DefaultOptions()},
		meta:     map[string]agents.Metadata{},
		failures: map[string]int{}, inflight: map[string]*call{}}, nil
}

// SetTopology replaces the devices, levels and options after validating
// them; on error the previous topology stays.
func (f *Fencer) SetTopology(t Topology) error {
	if err := t.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.topo = t
	return nil
}

// History returns the fencer's history.
func (f *Fencer) History() *History { return f.history }

// Reset forgets target's failed operations (after an operator fixed the
// device), so stonith-max-attempts counts anew.
func (f *Fencer) Reset(target string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.failures, target)
}

// Submit checks req and, when it is acceptable, runs the operation in its
// own goroutine and calls done (when not nil) with its outcome; it returns
// at once, for the controller, whose loop must not block. The error is the
// immediate refusal Fence would return (ErrBadAction, ErrUnknownTarget,
// ErrTooManyAttempts, ErrInProgress); then done is not called. A request
// for an operation already running with the same action joins it.
func (f *Fencer) Submit(req Request, done func(Result, error)) error {
	c, run, err := f.admit(&req)
	if err != nil {
		return err
	}
	go func() {
		if run != nil {
			run(context.Background())
		}
		<-c.done
		if done != nil {
			done(c.res, c.err)
		}
	}()
	return nil
}

// Fence fences req.Target and blocks until a stage succeeded (nil error,
// Verdict Fenced: a device confirmed) or every stage failed (an error
// wrapping ErrFenceFailed with one line saying what each ran into). It
// fails at once with ErrBadAction, ErrUnknownTarget, ErrTooManyAttempts
// or ErrInProgress (another action runs for the target); a second request
// for the action already running waits for that operation's outcome.
func (f *Fencer) Fence(ctx context.Context, req Request) (Result, error) {
	c, run, err := f.admit(&req)
	if err != nil {
		return Result{}, err
	}
	if run != nil {
		run(ctx)
		return c.res, c.err
	}
	select {
	case <-c.done:
		return c.res, c.err
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// admit checks req (filling in the default action) and returns the
// operation: with run set when the caller must run it (a new operation),
// nil when it joins one already running.
func (f *Fencer) admit(req *Request) (*call, func(context.Context), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	topo := f.topo
	if req.Action == "" {
		req.Action = topo.Options.Action
	}
	switch {
	case req.Action != "off" && req.Action != "on" && req.Action != "reboot":
		return nil, nil, fmt.Errorf("%w: %q", ErrBadAction, req.Action)
	case len(topo.Nodes) > 0 && indexOf(topo.Nodes, req.Target) < 0:
		return nil, nil, fmt.Errorf("%w: %s", ErrUnknownTarget, req.Target)
	case f.failures[req.Target] >= topo.Options.MaxAttempts:
		return nil, nil, fmt.Errorf("%w: %d operations against %s failed in a row (stonith-max-attempts=%d)",
			ErrTooManyAttempts, f.failures[req.Target], req.Target, topo.Options.MaxAttempts)
	}
	if c, ok := f.inflight[req.Target]; ok {
		if c.action != req.Action {
			return nil, nil, fmt.Errorf("%w: %s %s", ErrInProgress, c.action, req.Target)
		}
		return c, nil, nil
	}
	c := &call{action: req.Action, done: make(chan struct{})}
	f.inflight[req.Target] = c
	f.nextOp++
	op, r := f.nextOp, *req
	run := func(ctx context.Context) {
		c.res, c.err = f.fence(ctx, op, topo, r)
		f.mu.Lock()
		delete(f.inflight, r.Target)
		if c.err == nil {
			delete(f.failures, r.Target)
		} else if errors.Is(c.err, ErrFenceFailed) {
			f.failures[r.Target]++
		}
		f.mu.Unlock()
		close(c.done)
	}
	return c, run, nil
}

// fence runs the stages of one operation.
func (f *Fencer) fence(ctx context.Context, op uint64, topo Topology, req Request) (Result, error) {
	res := Result{Op: op, Target: req.Target, Action: req.Action, Start: f.cfg.Clock.Now()}
	f.cfg.Logf("fence: %s %s (op %d, asked by %s)", req.Action, req.Target, op, req.Origin)
	if req.Priority && topo.Options.PriorityDelay > 0 {
		if err := f.sleep(ctx, topo.Options.PriorityDelay); err != nil {
			return f.end(res, Failed, "cancelled during priority-fencing-delay"), fmt.Errorf("%w: %v", ErrFenceFailed, err)
		}
	}
	var capable, why []string
	if !hasLevels(topo.Levels, req.Target) {
		for _, d := range topo.Devices {
			if err := f.canFence(ctx, d, req.Target, topo.Options.Timeout); err == nil {
				capable = append(capable, d.ID)
			} else {
				why = append(why, err.Error())
			}
		}
	}
	stages := Stages(req.Target, topo.Levels, capable)
	if len(stages) == 0 {
		reason := "no fence device is configured"
		if len(why) > 0 {
			reason = "no fence device can fence " + req.Target + " (" + strings.Join(why, "; ") + ")"
		}
		f.cfg.Logf("fence: %s %s failed: %s", req.Action, req.Target, reason)
		return f.end(res, Failed, reason), fmt.Errorf("%w: %s %s: %s", ErrFenceFailed, req.Action, req.Target, reason)
	}
	// The devices as admitted: a SetTopology meanwhile affects only later
	// operations.
	byID := map[string]*Device{}
	for _, d := range topo.Devices {
		byID[d.ID] = d
	}
	var done []Outcome
	delayed := map[string]bool{}
	for {
		dec := Next(stages, req.Action, done)
		switch dec.Verdict {
		case Fenced:
			f.cfg.Logf("fence: %s %s: %s", req.Action, req.Target, dec.Reason)
			return f.end(res, Fenced, dec.Reason), nil
		case Failed:
			f.cfg.Logf("fence: %s %s failed: %s", req.Action, req.Target, dec.Reason)
			return f.end(res, Failed, dec.Reason), fmt.Errorf("%w: %s %s: %s", ErrFenceFailed, req.Action, req.Target, dec.Reason)
		}
		st := dec.Step
		o := Outcome{Step: st}
		d, ok := byID[st.Device]
		switch {
		case !ok:
			o.Reason = fmt.Sprintf("device %s is not configured", st.Device)
			f.record(op, req, st, d, 1, ResultFailed, o.Reason, f.cfg.Clock.Now())
		case st.Level > 0:
			// A level's device must be able to fence the target too.
			if err := f.canFence(ctx, d, req.Target, topo.Options.Timeout); err != nil {
				o.Reason = err.Error()
				f.record(op, req, st, d, 1, ResultFailed, o.Reason, f.cfg.Clock.Now())
				break
			}
			fallthrough
		default:
			if st.Action != "on" && !delayed[d.ID] {
				delayed[d.ID] = true
				if dl := d.Delay(req.Target, f.cfg.Rand()); dl > 0 {
					f.cfg.Logf("fence: %s waits %v before fencing %s (pcmk_delay_base/max)", d.ID, dl, req.Target)
					if err := f.sleep(ctx, dl); err != nil {
						o.Reason = "cancelled during the device's delay"
						break
					}
				}
			}
			o.OK, o.Reason = f.runDevice(ctx, op, req, st, d, topo.Options.Timeout)
		}
		done = append(done, o)
	}
}

func (f *Fencer) end(res Result, v Verdict, reason string) Result {
	res.Verdict, res.Reason, res.End = v, reason, f.cfg.Clock.Now()
	return res
}

func hasLevels(levels []Level, target string) bool {
	for _, l := range levels {
		if l.Target == target {
			return true
		}
	}
	return false
}

// sleep waits d on the clock, or until ctx ends.
func (f *Fencer) sleep(ctx context.Context, d time.Duration) error {
	ch := make(chan struct{})
	t := f.cfg.Clock.AfterFunc(d, func() { close(ch) })
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	}
}

// runDevice runs the step's action through d, trying again after a
// failure (pcmk_<action>_retries) while the action's timeout leaves time.
// Every run is one history entry.
func (f *Fencer) runDevice(ctx context.Context, op uint64, req Request, st Step, d *Device, def time.Duration) (bool, string) {
	md, err := f.metadata(ctx, d)
	if err != nil {
		f.record(op, req, st, d, 1, ResultFailed, err.Error(), f.cfg.Clock.Now())
		return false, err.Error()
	}
	params := map[string]string{}
	for k, v := range d.Params {
		params[k] = v
	}
	if arg := d.ResolveHostArgument(func(p string) bool { return stonith.HasParam(md, p) }); arg != "none" {
		params[arg] = d.Port(req.Target)
	}
	params["nodename"] = req.Target
	budget := d.Timeout(st.Action, def)
	began := time.Now()
	reason := ""
	for attempt := 1; attempt <= 1+d.RetriesFor(st.Action); attempt++ {
		left := budget
		if attempt > 1 {
			// Retries share what the first run left of the timeout.
			left = (budget - time.Since(began)).Round(time.Millisecond)
			if left <= 0 {
				break
			}
		}
		start := f.cfg.Clock.Now()
		r := f.cfg.Runner.Run(ctx, agents.Request{ResourceID: d.ID,
			Agent: agents.Type{Class: stonith.ClassName, Name: d.Agent},
			Op:    d.AgentAction(st.Action), Timeout: left, Params: params, Node: req.Target})
		ok := r.Status == agents.StatusDone && r.RC == agents.RCOK
		reason = describe(r)
		result := ResultSuccess
		switch {
		case r.Status == agents.StatusTimedOut:
			result = ResultTimedOut
		case !ok:
			result = ResultFailed
		}
		f.record(op, req, st, d, attempt, result, reason, start)
		if ok {
			return true, ""
		}
		if r.Status == agents.StatusTimedOut || r.Status == agents.StatusNotInstalled ||
			r.Status == agents.StatusErrorHard || r.Status == agents.StatusErrorFatal || ctx.Err() != nil {
			break // no retry can help
		}
	}
	return false, reason
}

// describe turns a failed agent result into one line.
func describe(r agents.Result) string {
	if r.Status == agents.StatusDone && r.RC == agents.RCOK {
		return ""
	}
	if r.ExitReason != "" {
		return strings.ReplaceAll(r.ExitReason, "\n", " ")
	}
	return fmt.Sprintf("%s (%s)", r.Status, r.RC)
}

// record adds one history entry; start is when the run began.
func (f *Fencer) record(op uint64, req Request, st Step, d *Device, attempt int, result, reason string, start time.Time) {
	e := Entry{Op: op, Target: req.Target, Action: st.Action, Device: st.Device, Level: st.Level,
		Attempt: attempt, Origin: req.Origin, Result: result, Reason: reason, Start: start, End: f.cfg.Clock.Now()}
	if d != nil {
		e.AgentAction = d.AgentAction(st.Action)
	}
	f.history.Add(e)
}

// metadata returns the agent's parsed meta-data, running it once per
// agent.
func (f *Fencer) metadata(ctx context.Context, d *Device) (agents.Metadata, error) {
	f.mu.Lock()
	md, ok := f.meta[d.Agent]
	f.mu.Unlock()
	if ok {
		return md, nil
	}
	r := f.cfg.Runner.Run(ctx, agents.Request{ResourceID: d.ID, Agent: agents.Type{Class: stonith.ClassName, Name: d.Agent},
		Op: "meta-data", Timeout: f.cfg.MetadataTimeout})
	if r.Status != agents.StatusDone || r.RC != agents.RCOK {
		return agents.Metadata{}, fmt.Errorf("%w: device %s: %s meta-data: %s", ErrDeviceMetadata, d.ID, d.Agent, describe(r))
	}
	md, err := stonith.ParseMetadata(r.Output)
	if err != nil {
		return agents.Metadata{}, fmt.Errorf("%w: device %s: %s meta-data: %v", ErrDeviceMetadata, d.ID, d.Agent, err)
	}
	f.mu.Lock()
	f.meta[d.Agent] = md
	f.mu.Unlock()
	return md, nil
}

// canFence applies d's host check to target, running the agent's list or
// status action when the check is dynamic.
func (f *Fencer) canFence(ctx context.Context, d *Device, target string, def time.Duration) error {
	if d.Unusable != "" {
		return fmt.Errorf("%w: %s", ErrCannotFence, d.Unusable)
	}
	md, err := f.metadata(ctx, d)
	if err != nil {
		return err
	}
	check := d.ResolveHostCheck(func(a string) bool { return stonith.Supports(md, a) })
	switch check {
	case CheckNone:
		return nil
	case CheckStaticList:
		if d.InStaticList(target) {
			return nil
		}
		return fmt.Errorf("%w: %s is not in %s's pcmk_host_list or pcmk_host_map", ErrCannotFence, target, d.ID)
	}
	action := map[HostCheck]string{CheckDynamicList: "list", CheckStatus: "status"}[check]
	params := map[string]string{}
	for k, v := range d.Params {
		params[k] = v
	}
	if check == CheckStatus {
		if arg := d.ResolveHostArgument(func(p string) bool { return stonith.HasParam(md, p) }); arg != "none" {
			params[arg] = d.Port(target)
		}
	}
	r := f.cfg.Runner.Run(ctx, agents.Request{ResourceID: d.ID, Agent: agents.Type{Class: stonith.ClassName, Name: d.Agent},
		Op: d.AgentAction(action), Timeout: d.Timeout(action, def), Params: params, Node: target})
	switch {
	case check == CheckStatus && r.Status == agents.StatusDone && (r.RC == agents.RCOK || r.RC == agents.RCNotRunning):
		return nil
	case check == CheckDynamicList && r.Status == agents.StatusDone && r.RC == agents.RCOK:
		port := d.Port(target)
		for _, p := range stonith.ParseList(r.Output) {
			if p == port || p == target {
				return nil
			}
		}
		return fmt.Errorf("%w: %s's list does not name %s", ErrCannotFence, d.ID, port)
	}
	return fmt.Errorf("%w: %s %s for %s: %s", ErrCannotFence, d.ID, action, target, describe(r))
}
