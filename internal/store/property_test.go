package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/paceline/paceline/internal/model"
)

// gen generates random commands over a small world (few nodes, resources
// and attribute names) so that commands often hit existing state, and
// sometimes malformed or stale ones.
type gen struct {
	r     *rand.Rand
	epoch uint64 // the epoch a well-informed proposer would expect
}

var (
	genNodes = []string{"n1", "n2", "n3", "w1", "c1"}
	genRscs  = []string{"web", "db", "vip"}
	genOps   = []string{"start", "stop", "monitor", "promote"}
)

func (g *gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g *gen) expected() uint64 {
	if g.r.IntN(5) == 0 {
		return g.r.Uint64N(g.epoch + 2) // often stale or from the future
	}
	return g.epoch
}

func (g *gen) command() Command {
	switch g.r.IntN(12) {
	case 0, 1:
		cfg := model.Config{Properties: map[string]string{"stonith-enabled": fmt.Sprint(g.r.IntN(2) == 0)}}
		for range g.r.IntN(3) {
			cfg.Resources = append(cfg.Resources, model.Resource{ID: g.pick(genRscs), Kind: model.KindPrimitive, Class: "builtin", Type: "dummy"})
		}
		if g.r.IntN(2) == 0 {
			cfg.Nodes = []model.Node{{Name: g.pick(genNodes), Attributes: map[string]string{"site": "a"}}}
		}
		return NewConfigPut(g.expected(), cfg, Change{Author: "prop", At: g.r.Int64N(1e12)})
	case 2:
		return NewConfigRollback(g.expected(), g.r.Uint64N(g.epoch+2), Change{})
	case 3:
		roles := []Role{RoleServer, RoleWitness, RoleClient, "bogus"}
		return NewNodeJoin(g.pick(genNodes), roles[g.r.IntN(len(roles))], fmt.Sprintf("10.0.0.%d:7101", g.r.IntN(3)))
	case 4:
		return NewNodeLeave(g.pick(genNodes))
	case 5:
		states := []State{StateOnline, StateOffline, StateUnclean, StateStandby}
		return NewNodeState(g.pick(genNodes), states[g.r.IntN(len(states))], Lease{Leader: g.pick(genNodes), GrantedAt: g.r.Int64N(1e12), TTL: 1500})
	case 6:
		return NewNodeAttrSet(g.pick(genNodes), map[string]string{g.pick([]string{"standby", "pingd", "master-db"}): fmt.Sprint(g.r.IntN(3)), "x": "y"})
	case 7:
		return NewNodeAttrDelete(g.pick(genNodes), g.pick([]string{"standby", "pingd", "x", "fail-count-web#start_0"}))
	case 8, 9:
		op := model.OpRecord{Operation: g.pick(genOps), CallID: g.r.IntN(100), RC: g.r.IntN(3), TargetRC: 0, LastRCChange: g.r.Int64N(1e9)}
		if op.Operation == "monitor" {
			op.Interval = 10000
		}
		var add model.Score
		if op.RC != 0 {
			add = model.Score(g.r.IntN(2))
			if g.r.IntN(4) == 0 {
				add = model.Infinity
			}
		}
		return NewOpResult(OpResult{Node: g.pick(genNodes), Resource: model.ResourceHistory{ID: g.pick(genRscs), Class: "builtin", Type: "dummy"}, Op: op, FailCountAdd: add})
	case 10:
		return NewNodeBoot(g.pick(genNodes), g.pick([]string{"0001-a", "0002-b", ""}))
	default:
		node := ""
		if g.r.IntN(2) == 0 {
			node = g.pick(genNodes)
		}
		return NewFailCountClear(FailCountClear{Node: node, Resource: g.pick(genRscs), History: g.r.IntN(3) == 0})
	}
}

// sequence returns n random commands, each already through the log
// encoding, as consensus delivers them.
func sequence(t *testing.T, seed uint64, n int) []Command {
	t.Helper()
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x9ace1))}
	shadow := New() // tracks the epoch so most CAS commands are current
	cmds := make([]Command, 0, n)
	for range n {
		b, err := Encode(g.command())
		if err != nil {
			t.Fatal(err)
		}
		c, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
		g.epoch = shadow.Apply(c).Epoch
	}
	return cmds
}

func snap(t *testing.T, s *Store) []byte {
	t.Helper()
	b, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPropertyDeterministic: the same command sequence applied to two
// stores gives the same results and byte-identical snapshots, and the
// invariants hold after every command.
func TestPropertyDeterministic(t *testing.T) {
	for seed := range uint64(40) {
		cmds := sequence(t, seed, 300)
		a, b := New(), New()
		accepted := 0
		for i, c := range cmds {
			before := a.Epoch()
			ra, rb := a.Apply(c), b.Apply(c)
			if fmt.Sprint(ra) != fmt.Sprint(rb) {
				t.Fatalf("seed %d cmd %d: results differ: %v vs %v", seed, i, ra, rb)
			}
			checkInvariants(t, a, before, ra)
			if ra.Err == nil {
				accepted++
			}
		}
		if !bytes.Equal(snap(t, a), snap(t, b)) {
			t.Fatalf("seed %d: snapshots differ", seed)
		}
		if accepted < len(cmds)/4 {
			t.Errorf("seed %d: only %d of %d commands accepted; the generator is too hostile", seed, accepted, len(cmds))
		}
	}
}

// TestPropertySnapshotRestore: snapshot at any point, restore into a new
// store and continue: the result equals the uninterrupted run.
func TestPropertySnapshotRestore(t *testing.T) {
	for seed := range uint64(40) {
		cmds := sequence(t, seed, 200)
		cut := int(seed*37) % len(cmds)
		whole, first := New(), New()
		for _, c := range cmds {
			whole.Apply(c)
		}
		for _, c := range cmds[:cut] {
			first.Apply(c)
		}
		restored := New()
		if err := restored.Restore(snap(t, first)); err != nil {
			t.Fatalf("seed %d: restore: %v", seed, err)
		}
		if !bytes.Equal(snap(t, first), snap(t, restored)) {
			t.Fatalf("seed %d: snapshot of the restored store differs", seed)
		}
		for i, c := range cmds[cut:] {
			r1, r2 := first.Apply(c), restored.Apply(c)
			if fmt.Sprint(r1) != fmt.Sprint(r2) {
				t.Fatalf("seed %d cmd %d: results differ after restore: %v vs %v", seed, cut+i, r1, r2)
			}
		}
		if !bytes.Equal(snap(t, whole), snap(t, restored)) {
			t.Fatalf("seed %d: restored-and-continued store differs from the uninterrupted one", seed)
		}
	}
}

// checkInvariants checks what must hold after every command: the epoch
// moves by at most one per command and only when accepted; the history is
// bounded, ends at the current epoch and holds the current configuration;
// every member has a node entry; read copies are deep.
func checkInvariants(t *testing.T, s *Store, before uint64, r Result) {
	t.Helper()
	if r.Epoch != s.Epoch() {
		t.Fatalf("result epoch %d, store epoch %d", r.Epoch, s.Epoch())
	}
	switch d := s.Epoch() - before; {
	case s.Epoch() < before || d > 1:
		t.Fatalf("epoch moved from %d to %d", before, s.Epoch())
	case d == 1 && r.Err != nil:
		t.Fatalf("rejected command changed the epoch: %v", r.Err)
	}
	h := s.history // read in place: History() deep-copies every kept config
	if len(h) > HistoryLimit {
		t.Fatalf("history holds %d entries, limit %d", len(h), HistoryLimit)
	}
	if s.Epoch() > 0 {
		last := h[len(h)-1]
		if last.Epoch != s.Epoch() || !bytes.Equal(mustJSON(t, last.Config), mustJSON(t, s.config)) {
			t.Fatalf("history's last entry (epoch %d) is not the current configuration (epoch %d)", last.Epoch, s.Epoch())
		}
	}
	cfg := s.Config()
	for _, m := range s.Members() {
		found := false
		for _, n := range cfg.Nodes {
			found = found || n.Name == m.Name
		}
		if !found {
			t.Fatalf("member %s has no node entry", m.Name)
		}
		if !m.State.liveness() {
			t.Fatalf("member %s stored state %q", m.Name, m.State)
		}
	}
	// Mutating a read copy must not reach the store (checked now and then:
	// snapshots cost).
	if s.Epoch()%7 != 0 {
		return
	}
	before2 := snap(t, s)
	cfg.Nodes = append(cfg.Nodes, model.Node{Name: "intruder"})
	if st := s.Status(); len(st.Nodes) > 0 {
		st.Nodes[0].Attributes = map[string]string{"intruder": "1"}
		st.Nodes[0].Resources = nil
	}
	if !bytes.Equal(before2, snap(t, s)) {
		t.Fatal("mutating a read copy changed the store")
	}
}
