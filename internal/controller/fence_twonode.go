package controller

import (
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/store"
)

// Gate turns the scheduler's input of a cluster that may not run all its
// resources yet into what may run, and says why ("" when nothing is held):
// fence.GateInput, the two-node gate (docs/two-node.md), given by the
// caller (the fence layer is not the controller's import). roles maps
// every member to its role. It must be pure and must not change cfg.
type Gate func(cfg *model.Config, roles map[string]string) (*model.Config, string)

// gate applies the configured Gate to the scheduler's input and logs its
// line when it changes.
func (c *Controller) gate(cfg *model.Config, members []store.Member) *model.Config {
	if c.cfg.Gate == nil {
		return cfg
	}
	out, line := c.cfg.Gate(cfg, store.Roles(members))
	if line != c.gateLine && line != "" {
		c.cfg.Logf("controller: %s", line)
	}
	c.gateLine = line
	return out
}

// voterLister is the optional part of Raft that says who votes
// (consensus.Node.Voters).
type voterLister interface {
	Voters() (voters, nonvoters []string)
}

// raftVoters returns the Raft voters by name, or nil when Raft does not
// say: quorum counts the Raft voters, so that a two-node survivor that
// went on alone after fencing its peer (docs/two-node.md: the peer is a
// non-voter until it is back) has quorum, as corosync's two_node gives
// it.
func (c *Controller) raftVoters() map[string]bool {
	vl, ok := c.raft.(voterLister)
	if !ok {
		return nil
	}
	v, _ := vl.Voters()
	if len(v) == 0 {
		return nil
	}
	out := make(map[string]bool, len(v))
	for _, n := range v {
		out[n] = true
	}
	return out
}
