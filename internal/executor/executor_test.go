package executor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/agents"
	"github.com/paceline/paceline/internal/agents/builtin"
	"github.com/paceline/paceline/internal/clock"
	"github.com/paceline/paceline/internal/model"
)

// gate is a test agent with real behaviour: it records the order of
// operations and how many ran at once per resource; an op with parameter
// block=yes waits until the test sends on release.
type gate struct {
	release chan struct{}

	mu        sync.Mutex
	log       []string
	active    map[string]int
	maxActive map[string]int
}

func newGate() *gate {
	return &gate{release: make(chan struct{}), active: map[string]int{}, maxActive: map[string]int{}}
}

func (g *gate) Run(ctx context.Context, req agents.Request) agents.Result {
	g.mu.Lock()
	g.active[req.ResourceID]++
	if g.active[req.ResourceID] > g.maxActive[req.ResourceID] {
		g.maxActive[req.ResourceID] = g.active[req.ResourceID]
	}
	g.log = append(g.log, req.ResourceID+":"+req.Op)
	if v := req.Params["v"]; v != "" {
		g.log = append(g.log, req.ResourceID+":"+req.Op+":v="+v)
	}
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.active[req.ResourceID]--
		g.mu.Unlock()
	}()
	if req.Params["block"] == "yes" {
		select {
		case <-g.release:
		case <-ctx.Done():
			return agents.Result{RC: agents.RCUnknownError, Status: agents.StatusCancelled}
		}
	}
	return agents.Result{RC: agents.RCOK, Status: agents.StatusDone}
}

var _ Agent = (*gate)(nil)

func recv(t *testing.T, e *Executor) Result {
	t.Helper()
	select {
	case r := <-e.Results():
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no result within 5s")
	}
	return Result{}
}

func quiet(t *testing.T, e *Executor) {
	t.Helper()
	select {
	case r := <-e.Results():
		t.Fatalf("unexpected result %+v", r.Record)
	case <-time.After(50 * time.Millisecond):
	}
}

var gateType = agents.Type{Class: "test", Name: "gate"}

// One operation at a time per resource, in submission order; other
// resources are not held up.
func TestSerializesPerResource(t *testing.T) {
	g := newGate()
	e, err := New(Config{Node: "n1", Agents: map[string]Agent{"test": g}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	block := map[string]string{"block": "yes"}
	startID, _ := e.Exec(Op{Resource: "a", Agent: gateType, Name: "start", Params: block})
	e.Exec(Op{Resource: "a", Agent: gateType, Name: "monitor"})
	e.Exec(Op{Resource: "a", Agent: gateType, Name: "stop"})
	e.Exec(Op{Resource: "b", Agent: gateType, Name: "start"})
	if r := recv(t, e); r.Resource != "b" {
		t.Fatalf("b waited for a: got %s %s first", r.Resource, r.Record.Operation)
	}
	quiet(t, e) // a's monitor and stop wait behind its start
	g.release <- struct{}{}
	go func() { g.release <- struct{}{} }() // the stop runs with the start's parameters
	var got []string
	for i := 0; i < 3; i++ {
		r := recv(t, e)
		got = append(got, r.Record.Operation)
		if r.Record.Operation == "start" && r.Record.CallID != startID {
			t.Errorf("start call id %d, Exec returned %d", r.Record.CallID, startID)
		}
	}
	if want := []string{"start", "monitor", "stop"}; !equal(got, want) {
		t.Fatalf("a ran %v, want %v", got, want)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.maxActive["a"] != 1 {
		t.Fatalf("%d operations of a ran at once", g.maxActive["a"])
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A recurring monitor runs at once, then every interval of the (fake)
// clock; only a changed result is reported again (a failure, which moves
// last-rc-change); Cancel reports once and stops it.
func TestRecurringMonitor(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	clk := clock.NewFake(start)
	run := t.TempDir()
	b, err := builtin.New(builtin.Config{RunDir: run})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := New(Config{Node: "n1", Agents: map[string]Agent{"builtin": b}, Clock: clk})
	defer e.Close()
	dummy := agents.Type{Class: "builtin", Name: "dummy"}

	e.Exec(Op{Resource: "d", Agent: dummy, Name: "start"})
	if r := recv(t, e).Record; r.RC != 0 || r.OpStatus != 0 || r.OnNode != "n1" {
		t.Fatalf("start: %+v", r)
	}
	id, _ := e.Exec(Op{Resource: "d", Agent: dummy, Name: "monitor", Interval: 10 * time.Second, TargetRC: 0})
	first := recv(t, e).Record
	if first.RC != 0 || first.CallID != id || first.Interval != 10000 || first.LastRCChange != start.Unix() || first.ID != "d_monitor_10000" {
		t.Fatalf("first monitor: %+v", first)
	}
	clk.Advance(9 * time.Second)
	quiet(t, e)
	clk.Advance(time.Second)
	quiet(t, e) // the second run repeats the first's result: not reported
	// The resource dies behind the cluster's back.
	if err := os.Remove(filepath.Join(run, "dummy-d.state")); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Second)
	third := recv(t, e).Record
	if third.RC != int(agents.RCNotRunning) || third.LastRCChange != start.Unix()+20 {
		t.Fatalf("third monitor: %+v", third)
	}
	if err := e.Cancel("d", "monitor", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if r := recv(t, e).Record; r.OpStatus != int(agents.StatusCancelled) || r.CallID != id {
		t.Fatalf("cancel: %+v", r)
	}
	if clk.Pending() != 0 {
		t.Fatalf("%d timers left after cancel", clk.Pending())
	}
	clk.Advance(time.Minute)
	quiet(t, e)
	if err := e.Cancel("d", "monitor", 10*time.Second); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second cancel: %v", err)
	}
}

// A stop cancels the resource's recurring monitors first, so none runs
// after it; a probe is a one-shot monitor.
func TestStopCancelsMonitorsAndProbe(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	b, _ := builtin.New(builtin.Config{RunDir: t.TempDir()})
	e, _ := New(Config{Node: "n1", Agents: map[string]Agent{"builtin": b}, Clock: clk})
	defer e.Close()
	dummy := agents.Type{Class: "builtin", Name: "dummy"}
	e.Probe("d", dummy, nil, 0)
	if r := recv(t, e).Record; r.RC != int(agents.RCNotRunning) || r.Interval != 0 || r.TargetRC != 7 {
		t.Fatalf("probe: %+v", r)
	}
	e.Exec(Op{Resource: "d", Agent: dummy, Name: "start"})
	e.Exec(Op{Resource: "d", Agent: dummy, Name: "monitor", Interval: time.Second})
	recv(t, e)
	recv(t, e)
	if !clk.WaitPending(1, 5*time.Second) {
		t.Fatal("monitor not rescheduled")
	}
	e.Exec(Op{Resource: "d", Agent: dummy, Name: "stop"})
	var ops []string
	for i := 0; i < 2; i++ {
		r := recv(t, e).Record
		ops = append(ops, r.Operation+"/"+agents.Status(r.OpStatus).String())
	}
	if want := []string{"monitor/cancelled", "stop/complete"}; !equal(ops, want) {
		t.Fatalf("got %v, want %v", ops, want)
	}
	clk.Advance(time.Minute)
	quiet(t, e)
}

func TestInvalidAndUnknown(t *testing.T) {
	e, _ := New(Config{Node: "n1"})
	for _, op := range []Op{{Name: "start"}, {Resource: "r"}, {Resource: "r", Name: "start", Interval: time.Second}} {
		if _, err := e.Exec(op); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: got %v", op, err)
		}
	}
	e.Exec(Op{Resource: "r", Agent: agents.Type{Class: "lsb", Name: "x"}, Name: "start"})
	if r := recv(t, e).Record; r.OpStatus != int(agents.StatusNotInstalled) || r.RC != int(agents.RCNotInstalled) {
		t.Fatalf("unknown class: %+v", r)
	}
	e.Close()
	e.Close()
	if _, err := e.Exec(Op{Resource: "r", Name: "start"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	if _, ok := <-e.Results(); ok {
		t.Fatal("Results not closed")
	}
}

// Close cancels a running operation and waits for it.
func TestCloseCancelsRunning(t *testing.T) {
	g := newGate()
	e, _ := New(Config{Node: "n1", Agents: map[string]Agent{"test": g}})
	e.Exec(Op{Resource: "a", Agent: gateType, Name: "start", Params: map[string]string{"block": "yes"}})
	time.Sleep(10 * time.Millisecond)
	done := make(chan struct{})
	go func() { e.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung on a running operation")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.active["a"] != 0 {
		t.Fatal("operation still running after Close")
	}
}

// The backlog keeps results in order, only the newest of a recurring op,
// and drops the oldest past Max.
func TestBacklog(t *testing.T) {
	res := func(rsc, op string, interval int64, call int) Result {
		return Result{Resource: rsc, Record: model.OpRecord{Operation: op, Interval: interval, CallID: call}}
	}
	b := Backlog{Max: 3}
	b.Add(res("web", "monitor", 1000, 1))
	b.Add(res("web", "stop", 0, 2))
	b.Add(res("web", "monitor", 1000, 3)) // replaces call 1
	if _, dropped := b.Add(res("db", "start", 0, 4)); dropped {
		t.Fatal("dropped a result within Max")
	}
	d, dropped := b.Add(res("db", "monitor", 0, 5))
	if !dropped || d.Record.CallID != 2 {
		t.Fatalf("past Max dropped %+v %v, want call 2", d, dropped)
	}
	var calls []int
	for r, ok := b.Next(); ok; r, ok = b.Next() {
		calls = append(calls, r.Record.CallID)
		b.Pop()
	}
	if !slices.Equal(calls, []int{3, 4, 5}) || b.Len() != 0 {
		t.Errorf("delivered calls %v, want [3 4 5]", calls)
	}
}

// A stop runs with the parameters the instance was started with, not the
// ones the configuration (and so the stop's request) gives now; a start
// with new parameters (the restart) runs with those.
func TestStopUsesTheStartParameters(t *testing.T) {
	g := newGate()
	e, err := New(Config{Node: "n1", Agents: map[string]Agent{"test": g}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.Exec(Op{Resource: "a", Agent: gateType, Name: "start", Params: map[string]string{"v": "old"}})
	e.Exec(Op{Resource: "a", Agent: gateType, Name: "stop", Params: map[string]string{"v": "new"}})
	e.Exec(Op{Resource: "a", Agent: gateType, Name: "start", Params: map[string]string{"v": "new"}})
	for i := 0; i < 3; i++ {
		recv(t, e)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var got []string
	for _, l := range g.log {
		if strings.Contains(l, ":v=") {
			got = append(got, l)
		}
	}
	if want := []string{"a:start:v=old", "a:stop:v=old", "a:start:v=new"}; !equal(got, want) {
		t.Fatalf("ran %v, want %v", got, want)
	}
}

// A promote or demote cancels the resource's recurring monitors: the
// monitor of the old role must not go on (it would expect the wrong exit
// code).
func TestRoleChangeCancelsMonitors(t *testing.T) {
	g := newGate()
	e, err := New(Config{Node: "n1", Agents: map[string]Agent{"test": g}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.Exec(Op{Resource: "a", Agent: gateType, Name: "monitor", Interval: time.Hour})
	if r := recv(t, e); r.Record.Interval != 3600000 || r.Record.OpStatus != 0 {
		t.Fatalf("first monitor run: %+v", r.Record)
	}
	e.Exec(Op{Resource: "a", Agent: gateType, Name: "promote"})
	var cancelled, promoted bool
	for i := 0; i < 2; i++ {
		r := recv(t, e)
		switch {
		case r.Record.Operation == "monitor" && r.Record.OpStatus == int(agents.StatusCancelled):
			cancelled = true
		case r.Record.Operation == "promote":
			promoted = true
		}
	}
	if !cancelled || !promoted {
		t.Fatalf("cancelled=%v promoted=%v", cancelled, promoted)
	}
	if err := e.Cancel("a", "monitor", time.Hour); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the monitor still recurs after the promote: %v", err)
	}
}

// The controller asking again for the recurring monitor it already asked
// for (planned again before the first result was stored) does not start
// it over: the run in progress goes on and reports under the newer
// transition key; a monitor with other parameters replaces it.
func TestSameRecurringMonitorGoesOn(t *testing.T) {
	g := newGate()
	e, err := New(Config{Node: "n1", Agents: map[string]Agent{"test": g}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	mon := Op{Resource: "a", Agent: gateType, Name: "monitor", Interval: time.Hour, Params: map[string]string{"block": "yes"}, TransitionKey: "c:1:1"}
	id, _ := e.Exec(mon)
	for range 3 {
		mon.TransitionKey = mon.TransitionKey + "+"
		if again, _ := e.Exec(mon); again != id {
			t.Fatalf("asked again: call %d, want the running call %d", again, id)
		}
	}
	quiet(t, e)
	g.release <- struct{}{}
	r := recv(t, e).Record
	if r.CallID != id || r.TransitionKey != "c:1:1+++" || r.OpStatus != 0 {
		t.Fatalf("result %+v, want call %d under the last transition key", r, id)
	}
	quiet(t, e)
	g.mu.Lock()
	runs := len(g.log)
	g.mu.Unlock()
	if runs != 1 {
		t.Fatalf("the monitor ran %d times, want once", runs)
	}
	other := mon
	other.Params = map[string]string{"block": "no"}
	if nid, _ := e.Exec(other); nid == id {
		t.Fatal("a monitor with other parameters did not replace the old one")
	}
	for i := 0; i < 2; i++ {
		if r := recv(t, e).Record; r.CallID == id && r.OpStatus != int(agents.StatusCancelled) {
			t.Fatalf("old monitor: %+v", r)
		}
	}
}
