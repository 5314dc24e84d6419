package controller

import (
	"context"
	"maps"
	"strings"
	"time"

	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/store"
	"github.com/paceline/paceline/internal/vmha"
)

// translateVMs turns the VMs' HA semantics into the scheduler's input
// (vmha.Translate) and records the VMs it stops for good in the
// configuration (target-role=Stopped with the reason), so that they stay
// stopped once their failure is cleaned up or their host is back. On an
// error it plans from the input as it is.
func (c *Controller) translateVMs(ctx context.Context, cfg *model.Config, st *model.Status, now time.Time) (*model.Config, *model.Status) {
	out, err := vmha.Translate(vmha.Input{Config: cfg, Status: st, Now: now})
	if err != nil {
		c.cfg.Logf("controller: vm ha: %v", err)
		return cfg, st
	}
	if c.cfg.Debug {
		for _, n := range out.Notes {
			c.cfg.Logf("controller: vm ha: %s", n)
		}
	}
	if len(out.Stops) > 0 {
		c.recordVMStops(ctx, out.Stops, now)
	}
	return out.Config, out.Status
}

// recordVMStops writes target-role=Stopped and the reason of each stopped
// VM into the configuration (one new epoch; a concurrent change makes it
// fail, and the next plan translates again).
func (c *Controller) recordVMStops(ctx context.Context, stops []vmha.Stop, now time.Time) {
	var cfg *model.Config
	c.raft.Read(func(s *store.Store) { cfg = s.Config() })
	var ids []string
	for _, stop := range stops {
		for i := range cfg.Resources {
			r := &cfg.Resources[i]
			if r.ID != stop.VM || strings.EqualFold(r.Meta["target-role"], "Stopped") {
				continue
			}
			r.Meta = maps.Clone(r.Meta)
			if r.Meta == nil {
				r.Meta = map[string]string{}
			}
			r.Meta["target-role"] = "Stopped"
			r.Meta[vmha.MetaStopReason] = stop.Reason
			ids = append(ids, stop.VM)
			c.cfg.Logf("controller: vm %s stopped for good: %s", stop.VM, stop.Reason)
		}
	}
	if len(ids) == 0 {
		return
	}
	ch := store.Change{Author: "controller " + c.cfg.Node, Message: "vm ha: stopped " + strings.Join(ids, ", "), At: now.UnixMilli()}
	c.apply(ctx, store.NewConfigPut(cfg.Epoch, *cfg, ch))
}

// holdsForVMs reports whether a lost node must stay unclean until it is
// fenced or confirmed down (vmha.HoldsLostHost: Permissive, and it may
// still run a VM).
func (c *Controller) holdsForVMs(node string) (hold bool) {
	c.raft.Read(func(s *store.Store) {
		opts := s.Options()
		if !opts.VMHA || opts.VMHAStrategy != model.VMHAPermissive {
			return
		}
		m, ok := s.Member(node)
		if !ok {
			return
		}
		hold = vmha.HoldsLostHost(opts, m.Resources)
	})
	return hold
}

// recordLostHostVMs records the VMs a host declared offline takes down
// for good (a None VM, a local-storage VM: vmha.Translate with the host
// lost) before its operation history is cleared. With stonith enabled a
// lost host is unclean first and the plan records them; without, it goes
// offline at once and this is the last look at what it ran.
func (c *Controller) recordLostHostVMs(ctx context.Context, node string, now time.Time) {
	var (
		cfg *model.Config
		st  *model.Status
	)
	c.raft.Read(func(s *store.Store) { cfg, st = s.Config(), s.Status() })
	if len(vmha.VMs(cfg)) == 0 {
		return
	}
	for i := range st.Nodes {
		if st.Nodes[i].Name == node {
			ns := &st.Nodes[i]
			ns.InCluster, ns.Peer, ns.Join, ns.Expected = "false", "offline", "down", "member"
		}
	}
	out, err := vmha.Translate(vmha.Input{Config: cfg, Status: st, Now: now})
	if err != nil {
		c.cfg.Logf("controller: vm ha: %v", err)
		return
	}
	if len(out.Stops) > 0 {
		c.recordVMStops(ctx, out.Stops, now)
	}
}
