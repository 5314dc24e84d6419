package consensus

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/store"
)

// docs/two-node.md: the survivor of a two-voter cluster has no quorum;
// once its peer is fenced (here: shut down) it goes on as the only voter
// with the peer a non-voter, keeping everything committed before; the
// peer, back, catches up as a non-voter without disturbing the leader, and
// Join promotes it to voter again.
func TestTwoNodeSurvivorGoesOnAloneAndPeerRejoins(t *testing.T) {
	c := newCluster(t, 2, true)
	leader := c.waitLeader()
	e1 := put(t, leader, leader.Epoch(), "both")
	c.waitEpoch(e1)

	c.stop("n2") // fenced: powered off
	n1 := c.nodes["n1"]
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	cfg := n1.Config()
	_, err := n1.Apply(ctx, store.NewConfigPut(e1, *cfg, store.Change{Author: "test"}))
	cancel()
	if err == nil {
		t.Fatal("one of two voters committed alone")
	}
	if err := n1.PrepareAlone("n3"); !errors.Is(err, ErrNotTwoVoters) {
		t.Errorf("PrepareAlone naming a node that is not the peer: %v", err)
	}

	start := time.Now()
	if err := n1.PrepareAlone("n2"); err != nil {
		t.Fatal(err)
	}
	c.stop("n1")
	n1 = c.start("n1")
	waitFor(t, "n1 to lead alone", n1.IsLeader)
	t.Logf("n1 leads alone %v after PrepareAlone (restart included)", time.Since(start).Round(time.Millisecond))
	if alone, others := n1.Alone(); !alone || !slices.Equal(others, []string{"n2"}) {
		t.Fatalf("Alone = %v %v, want true [n2]", alone, others)
	}
	// The put that timed out above was never acknowledged: it may commit
	// now (Apply's contract), one epoch more.
	if n1.Config().Properties["marker"] != "both" || n1.Epoch() < e1 || n1.Epoch() > e1+1 {
		t.Fatalf("the survivor lost what was committed: epoch %d (want %d), %v", n1.Epoch(), e1, n1.Config().Properties)
	}
	e2 := put(t, n1, n1.Epoch(), "alone")

	// The peer comes back with its old configuration (two voters).
	n2 := c.start("n2")
	waitFor(t, "n2 to catch up as a non-voter", func() bool { return n2.Epoch() >= e2 })
	if !n1.IsLeader() || n2.IsLeader() {
		t.Fatalf("the returning peer disturbed the leader: n1 leads %v, n2 leads %v", n1.IsLeader(), n2.IsLeader())
	}
	if v, nv := n1.Voters(); !slices.Equal(v, []string{"n1"}) || !slices.Equal(nv, []string{"n2"}) {
		t.Fatalf("voters %v non-voters %v before the promotion", v, nv)
	}
	if err := n1.Promote(context.Background(), "n2"); err != nil {
		t.Fatalf("promote n2: %v", err)
	}
	if v, _ := n1.Voters(); len(v) != 2 {
		t.Fatalf("voters %v after the promotion", v)
	}
	if alone, _ := n1.Alone(); alone {
		t.Error("still alone after the promotion")
	}
	e3 := put(t, n1, n1.Epoch(), "together")
	c.waitEpoch(e3)
	if got := n2.Config().Properties["marker"]; got != "together" {
		t.Errorf("n2 has %q", got)
	}
	// Two voters again: neither commits alone.
	c.stop("n2")
	ctx, cancel = context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	cfg = n1.Config()
	if _, err := n1.Apply(ctx, store.NewConfigPut(cfg.Epoch, *cfg, store.Change{Author: "test"})); err == nil {
		t.Error("after the promotion one of two voters committed alone")
	}
}

// PrepareAlone refuses a configuration that is not exactly two voters,
// and an in-memory node.
func TestPrepareAloneRefusals(t *testing.T) {
	c := newCluster(t, 3, true)
	leader := c.waitLeader()
	if err := leader.PrepareAlone("n2"); !errors.Is(err, ErrNotTwoVoters) || !strings.Contains(err.Error(), "3 voters") {
		t.Errorf("three voters: %v", err)
	}
	m := newCluster(t, 2, false)
	if err := m.waitLeader().PrepareAlone("n2"); !errors.Is(err, ErrAloneInMemory) {
		t.Errorf("in memory: %v", err)
	}
}
