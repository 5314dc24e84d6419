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
