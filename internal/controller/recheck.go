package controller

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/store"
)

// recheckAt is when the controller must plan again although nothing
// changed: at the cluster-recheck-interval (0 disables it), or when a
// failure-timeout lets a fail count expire, whichever comes first. It is
// pure: now is an input.
func recheckAt(cfg *model.Config, st *model.Status, now time.Time) time.Time {
	next := time.Time{}
	earlier := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	interval := model.ParseClusterOptions(cfg.Properties).ClusterRecheckInterval
	if interval > 0 {
		earlier(now.Add(interval))
	}
	for _, f := range failures(cfg, st) {
		if at := f.at.Add(f.timeout + time.Second); at.After(now) {
			earlier(at)
		}
	}
	return next
}

// expiredFailures lists the fail counts whose failure-timeout has run out
// at now (the last failure more than failure-timeout ago), one clear per
// node, resource and operation: the scheduler ignores them already, and
// the controller deletes them as Pacemaker's clear_failcount does, so that
// status and the fail counts stop showing a failure that no longer
// counts. It is pure.
func expiredFailures(cfg *model.Config, st *model.Status, now time.Time) []store.FailCountClear {
	var out []store.FailCountClear
	for _, f := range failures(cfg, st) {
		if now.After(f.at.Add(f.timeout)) {
			out = append(out, store.FailCountClear{Node: f.node, Resource: f.rsc, Operation: f.op, Interval: f.interval})
		}
	}
	return out
}

// expiring is one recorded last failure of a resource with a
// failure-timeout.
type expiring struct {
	node, rsc, op string
	interval      int64
	at            time.Time
	timeout       time.Duration
}

// failures lists the last-failure attributes (last-failure-RSC#OP_INTERVAL,
// seconds since the epoch) of resources with a failure-timeout (their
// own, inherited from a group or clone, or the resource default), by
// node, resource and operation.
func failures(cfg *model.Config, st *model.Status) []expiring {
	timeouts := map[string]time.Duration{}
	def, _ := model.ParseTimeSpec(cfg.RscDefaults["failure-timeout"])
	var walk func(rs []model.Resource, inherited time.Duration)
	walk = func(rs []model.Resource, inherited time.Duration) {
		for i := range rs {
			ft := inherited
			if d, ok := model.ParseTimeSpec(rs[i].Meta["failure-timeout"]); ok {
				ft = d
			}
			if len(rs[i].Children) == 0 && ft > 0 {
				timeouts[rs[i].ID] = ft
			}
			walk(rs[i].Children, ft)
		}
	}
	walk(cfg.Resources, def)
	if len(timeouts) == 0 || st == nil {
		return nil
	}
	var out []expiring
	for _, ns := range st.Nodes {
		for k, v := range ns.Attributes {
			rest, ok := strings.CutPrefix(k, "last-failure-")
			if !ok {
				continue
			}
			rsc, opKey, _ := strings.Cut(rest, "#")
			id, _, _ := strings.Cut(rsc, ":")
			ft, ok := timeouts[id]
			if !ok {
				continue
			}
			secs, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				continue
			}
			f := expiring{node: ns.Name, rsc: rsc, at: time.Unix(secs, 0), timeout: ft}
			if i := strings.LastIndexByte(opKey, '_'); i > 0 {
				f.op = opKey[:i]
				f.interval, _ = strconv.ParseInt(opKey[i+1:], 10, 64)
			}
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b expiring) int {
		return cmp.Or(cmp.Compare(a.node, b.node), cmp.Compare(a.rsc, b.rsc), cmp.Compare(a.op, b.op), cmp.Compare(a.interval, b.interval))
	})
	return out
}
