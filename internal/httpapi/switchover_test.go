package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/sched"
	"github.com/paceline/paceline/internal/store"
)

// switchoverStore is n1, n2, n3 (online) and n4 (offline): db-clone
// (promotable, Stateful) promoted on n1, unpromoted on n2 and n3; vip
// colocated with the promoted role and ordered after the promotion.
// Promotion scores: n1 10 (the primary), n2 5, n3 -INFINITY (say, an
// asynchronous standby of a synchronous database).
func switchoverStore(t *testing.T) *store.Store {
	t.Helper()
	st := store.New()
	cfg := model.Config{Resources: []model.Resource{
		{ID: "db-clone", Kind: model.KindClone, Meta: map[string]string{"promotable": "true"}, Children: []model.Resource{
			{ID: "db", Kind: model.KindPrimitive, Class: "ocf", Provider: "pacemaker", Type: "Stateful"},
		}},
		{ID: "vip", Kind: model.KindPrimitive, Class: "builtin", Type: "vip", Params: []model.NV{{Name: "ip", Value: "10.0.0.9"}}},
		{ID: "web", Kind: model.KindPrimitive, Class: "builtin", Type: "dummy", Meta: map[string]string{"resource-stickiness": "100"}},
	},
		Colocations: []model.Colocation{{ID: "vip-with-db", Resource: "vip", With: "db-clone", Score: model.Infinity, WithRole: model.RolePromoted}},
		Orders:      []model.Order{{ID: "db-then-vip", First: "db-clone", FirstAction: "promote", Then: "vip", Kind: "Mandatory"}},
		Properties:  map[string]string{"stonith-enabled": "false"},
	}
	op := func(node, rsc, name string, call, rc int) store.Command {
		return store.NewOpResult(store.OpResult{Node: node, Resource: historyOf(rsc),
			Op: model.OpRecord{Operation: name, CallID: call, RC: rc}})
	}
	cmds := []store.Command{store.NewConfigPut(0, cfg, store.Change{})}
	for i, n := range []string{"n1", "n2", "n3", "n4"} {
		cmds = append(cmds, store.NewNodeJoin(n, store.RoleServer, "a:"+n))
		if n != "n4" {
			cmds = append(cmds, store.NewNodeState(n, store.StateOnline, store.Lease{}))
		}
		// Probed everywhere: nothing runs but what follows.
		cmds = append(cmds, op(n, "vip", "monitor", 10+i, 7), op(n, "web", "monitor", 20+i, 7))
	}
	cmds = append(cmds,
		op("n4", "db", "monitor", 30, 7),
		op("n1", "db:0", "promote", 102, 0), op("n2", "db:1", "start", 103, 0), op("n3", "db:2", "start", 104, 0),
		op("n1", "vip", "start", 105, 0), op("n1", "web", "start", 106, 0),
		store.NewNodeAttrSet("n1", map[string]string{"master-db": "10"}),
		store.NewNodeAttrSet("n2", map[string]string{"master-db": "5"}),
		store.NewNodeAttrSet("n3", map[string]string{"master-db": "-INFINITY", "pgsql-db-sync": "async", "pgsql-db-lag": "4096"}))
	for _, c := range cmds {
		if r := st.Apply(c); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	return st
}

// historyOf is the history record of a switchoverStore resource (its
// agent: a different one would make the scheduler restart it).
func historyOf(id string) model.ResourceHistory {
	switch model.BaseID(id) {
	case "db":
		return model.ResourceHistory{ID: id, Class: "ocf", Provider: "pacemaker", Type: "Stateful"}
	case "vip":
		return model.ResourceHistory{ID: id, Class: "builtin", Type: "vip"}
	}
	return model.ResourceHistory{ID: id, Class: "builtin", Type: "dummy"}
}

// runPlans is a fake executor with real behaviour: on every change it asks
// the scheduler for the transition and records each of its operations as
// done (probes: not running), as the controller and the nodes would,
// until ctx is done. Like ocf:pacemaker:Stateful, a promoted instance
// publishes the promotion score 10, a demoted one 5.
func runPlans(ctx context.Context, t *testing.T, b *MemBackend) {
	call := 1000
	var idx uint64
	for ctx.Err() == nil {
		members := b.Members()
		res, err := sched.Schedule(sched.Input{Config: b.Config(), Status: modelStatus(members, true, "n1"), Now: time.Now()})
		if err != nil {
			t.Error(err)
			return
		}
		for _, a := range res.Actions {
			if a.Pseudo || !a.Runnable || a.Node == "" || a.IntervalMS > 0 || a.Task == "notify" {
				continue
			}
			rc := 0
			if a.Task == "monitor" {
				rc = 7
			}
			call++
			b.Propose(ctx, store.NewOpResult(store.OpResult{Node: a.Node, Resource: historyOf(a.Resource),
				Op: model.OpRecord{Operation: a.Task, CallID: call, RC: rc}}))
			switch a.Task {
			case "promote":
				b.Propose(ctx, store.NewNodeAttrSet(a.Node, map[string]string{"master-db": "10"}))
			case "demote":
				b.Propose(ctx, store.NewNodeAttrSet(a.Node, map[string]string{"master-db": "5"}))
			}
		}
		if idx, err = b.Wait(ctx, idx); err != nil {
			return
		}
	}
}

func switchoverServer(t *testing.T, st *store.Store) (*Server, *MemBackend, string) {
	t.Helper()
	b := NewMemBackend(st, "n1")
	tok, rec, _ := pki.NewToken(pki.RoleOperator, time.Now(), 0)
	return New(Config{Backend: b, Tokens: pki.NewTokenSet(rec)}), b, tok
}

func postSwitchover(srv *Server, tok, id, body string) (int, []byte) {
	r := httptest.NewRequest("POST", "/v1/resources/"+id+"/switchover", strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	return w.Code, w.Body.Bytes()
}

// promotedOn returns the nodes where prim is promoted and where rsc runs.
func rolesNow(b *MemBackend, prim string) (promoted []string, where map[string][]string) {
	st := BuildStatus(b.Config(), b.Members(), "n1", true, time.Now())
	where = map[string][]string{}
	for _, rs := range st.Resources {
		where[rs.ID] = rs.Nodes
		if rs.ID == prim {
			for _, in := range rs.Instances {
				if in.Role == api.RolePromoted {
					promoted = append(promoted, in.Node)
				}
			}
		}
	}
	return promoted, where
}

// A switchover to n2 demotes n1, promotes n2, moves the colocated VIP
// there, and removes its temporary constraint; web stays where it is.
func TestSwitchoverMovesThePromotedRoleAndWhatFollowsIt(t *testing.T) {
	srv, b, tok := switchoverServer(t, switchoverStore(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go runPlans(ctx, t, b)
	code, body := postSwitchover(srv, tok, "db-clone", `{"node": "n2", "wait": "10s"}`)
	if code != http.StatusOK {
		t.Fatalf("switchover: %d %s", code, body)
	}
	var res api.SwitchoverResult
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	if res.Resource != "db-clone" || res.From != "n1" || res.To != "n2" || res.Constraint != "cli-switchover-db-clone" {
		t.Errorf("result %+v", res)
	}
	t.Logf("switchover took %d ms (fake executor)", res.Milliseconds)
	// Once the constraint is gone, the new primary's own promotion score
	// keeps it where it is.
	time.Sleep(200 * time.Millisecond)
	promoted, where := rolesNow(b, "db")
	if len(promoted) != 1 || promoted[0] != "n2" {
		t.Errorf("promoted on %v, want [n2]", promoted)
	}
	if got := where["vip"]; len(got) != 1 || got[0] != "n2" {
		t.Errorf("vip on %v, want [n2]", got)
	}
	if got := where["web"]; len(got) != 1 || got[0] != "n1" {
		t.Errorf("web on %v, want [n1] (not colocated: it stays)", got)
	}
	if constraintExists(b.Config(), "cli-switchover-db-clone") {
		t.Error("the temporary constraint is still there")
	}
}

// Without a node the eligible one with the highest promotion score is
// taken (n2: n3's score is -INFINITY, n4 is offline); the primitive's id
// names the clone as well.
func TestSwitchoverPicksTheBestEligibleNode(t *testing.T) {
	srv, b, tok := switchoverServer(t, switchoverStore(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go runPlans(ctx, t, b)
	code, body := postSwitchover(srv, tok, "db", "")
	if code != http.StatusOK {
		t.Fatalf("switchover: %d %s", code, body)
	}
	if promoted, _ := rolesNow(b, "db"); len(promoted) != 1 || promoted[0] != "n2" {
		t.Errorf("promoted on %v, want [n2]", promoted)
	}
}

// Impossible switchovers are refused with one line saying why, and
// nothing changes (the epoch stays).
func TestSwitchoverRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, id, body string
		prep           []store.Command
		code           int
		want           string
	}{
		{"same node", "db-clone", `{"node":"n1"}`, nil, 409, "db-clone is already promoted on n1"},
		{"unknown node", "db-clone", `{"node":"n9"}`, nil, 404, `node "n9" is not a cluster member`},
		{"offline node", "db-clone", `{"node":"n4"}`, nil, 409, "db-clone cannot be promoted on n4: it is offline"},
		{"score", "db-clone", `{"node":"n3"}`, nil, 409, "db-clone cannot be promoted on n3: its promotion score for db is -INFINITY (sync state async, lag 4096 bytes)"},
		{"standby", "db-clone", `{"node":"n2"}`, []store.Command{store.NewNodeAttrSet("n2", map[string]string{"standby": "on"})}, 409,
			"db-clone cannot be promoted on n2: it is standby"},
		{"not promotable", "web", `{}`, nil, 400, `resource "web" is not a promotable clone nor in one`},
		{"unknown resource", "nosuch", `{}`, nil, 404, `no resource "nosuch"`},
		{"no eligible node", "db", `{}`, []store.Command{store.NewNodeAttrSet("n2", map[string]string{"master-db": "-INFINITY"})}, 409,
			"no node can take over the promoted role of db-clone from n1 (n2: its promotion score for db is -INFINITY; n3: its promotion score for db is -INFINITY (sync state async, lag 4096 bytes); n4: it is offline)"},
		{"bad wait", "db-clone", `{"node":"n2","wait":"soon"}`, nil, 400, `wait "soon" is not a positive duration`},
		{"unknown field", "db-clone", `{"nod":"n2"}`, nil, 400, "nod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := switchoverStore(t)
			for _, c := range tc.prep {
				st.Apply(c)
			}
			srv, b, tok := switchoverServer(t, st)
			before := b.Config().Epoch
			code, body := postSwitchover(srv, tok, tc.id, tc.body)
			var e api.Error
			json.Unmarshal(body, &e)
			if code != tc.code || !strings.Contains(e.Message, tc.want) || strings.Contains(e.Message, "\n") {
				t.Errorf("got %d %q, want %d with %q", code, e.Message, tc.code, tc.want)
			}
			if after := b.Config().Epoch; after != before {
				t.Errorf("epoch %d -> %d: a refused switchover changed the configuration", before, after)
			}
		})
	}
}

// A move that pins the promoted role elsewhere keeps the scheduler from
// promoting the target: refused, naming the constraint.
func TestSwitchoverRefusedWhenAConstraintHoldsThePromotedRole(t *testing.T) {
	st := switchoverStore(t)
	cfg := st.Config()
	cfg.Locations = append(cfg.Locations, model.Location{ID: "cli-ban-db-clone-on-n2", Resource: "db-clone", Node: "n2", Score: -model.Infinity})
	if r := st.Apply(store.NewConfigPut(cfg.Epoch, *cfg, store.Change{})); r.Err != nil {
		t.Fatal(r.Err)
	}
	srv, _, tok := switchoverServer(t, st)
	code, body := postSwitchover(srv, tok, "db-clone", `{"node":"n2"}`)
	if code != 409 || !strings.Contains(string(body), "cli-ban-db-clone-on-n2") {
		t.Errorf("got %d %s", code, body)
	}
}

// When nothing carries the switchover out within the wait, it fails with
// 504 and still removes its constraint; the Go function says so with an
// error the caller can test.
func TestSwitchoverTimesOutAndCleansUp(t *testing.T) {
	srv, b, _ := switchoverServer(t, switchoverStore(t))
	_, err := srv.Switchover(context.Background(), LocalPrincipal("test", pki.RoleOperator), "db-clone", api.SwitchoverRequest{Node: "n2", Wait: "700ms"})
	var he *httpError
	if !errors.As(err, &he) || he.status != http.StatusGatewayTimeout {
		t.Fatalf("err %v, want a 504", err)
	}
	if constraintExists(b.Config(), "cli-switchover-db-clone") {
		t.Error("the temporary constraint was left behind")
	}
	_, err = srv.Switchover(context.Background(), LocalPrincipal("test", pki.RoleOperator), "web", api.SwitchoverRequest{})
	if !errors.Is(err, ErrSwitchover) {
		t.Errorf("refusal %v does not wrap ErrSwitchover", err)
	}
}

// laggingBackend is a follower's copy: after each configuration change,
// the next reads still return the configuration from before it, as a
// follower that has not applied the leader's commit yet.
type laggingBackend struct {
	*MemBackend
	mu    sync.Mutex
	old   *model.Config
	stale int // reads left that return old
}

func (l *laggingBackend) Propose(ctx context.Context, cmd store.Command) (store.Result, error) {
	before := l.MemBackend.Config()
	res, err := l.MemBackend.Propose(ctx, cmd)
	if err == nil && res.Err == nil && res.Epoch != before.Epoch {
		l.mu.Lock()
		l.old, l.stale = before, 3
		l.mu.Unlock()
	}
	return res, err
}

func (l *laggingBackend) Config() *model.Config {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stale > 0 {
		l.stale--
		return l.old
	}
	return l.MemBackend.Config()
}

// A switchover served by a follower whose copy does not hold the
// constraint it has just added yet waits for it (rather than take it for
// removed by someone else).
func TestSwitchoverOnALaggingFollower(t *testing.T) {
	b := &laggingBackend{MemBackend: NewMemBackend(switchoverStore(t), "n1")}
	tok, rec, _ := pki.NewToken(pki.RoleOperator, time.Now(), 0)
	srv := New(Config{Backend: b, Tokens: pki.NewTokenSet(rec)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go runPlans(ctx, t, b.MemBackend)
	code, body := postSwitchover(srv, tok, "db-clone", `{"node": "n2", "wait": "10s"}`)
	if code != http.StatusOK {
		t.Fatalf("switchover: %d %s", code, body)
	}
	if promoted, _ := rolesNow(b.MemBackend, "db"); len(promoted) != 1 || promoted[0] != "n2" {
		t.Errorf("promoted on %v, want [n2]", promoted)
	}
}

// When the scheduler promotes a third node (the target's score dropped
// just then), the switchover fails at once saying so, and removes its
// constraint.
func TestSwitchoverFailsWhenAnotherNodeIsPromoted(t *testing.T) {
	srv, b, _ := switchoverServer(t, switchoverStore(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// n1 demoted and n3 promoted, as a scheduler that saw n2 at
		// -INFINITY would have done.
		for !constraintExists(b.Config(), "cli-switchover-db-clone") {
			time.Sleep(10 * time.Millisecond)
		}
		for _, c := range []store.Command{
			store.NewOpResult(store.OpResult{Node: "n1", Resource: historyOf("db:0"), Op: model.OpRecord{Operation: "demote", CallID: 500}}),
			store.NewOpResult(store.OpResult{Node: "n3", Resource: historyOf("db:2"), Op: model.OpRecord{Operation: "promote", CallID: 501}}),
		} {
			b.Propose(ctx, c)
		}
	}()
	_, err := srv.Switchover(ctx, LocalPrincipal("test", pki.RoleOperator), "db-clone", api.SwitchoverRequest{Node: "n2", Wait: "10s"})
	if !errors.Is(err, ErrSwitchover) || !strings.Contains(err.Error(), "n3 was promoted instead") {
		t.Fatalf("err %v", err)
	}
	if constraintExists(b.Config(), "cli-switchover-db-clone") {
		t.Error("the temporary constraint was left behind")
	}
}
