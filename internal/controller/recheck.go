package controller

import (
	"strconv"
	"strings"
	"time"

	"github.com/paceline/paceline/internal/model"
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
		return next
	}
	for _, ns := range st.Nodes {
		for k, v := range ns.Attributes {
			rest, ok := strings.CutPrefix(k, "last-failure-")
			if !ok {
				continue
			}
			id, _, _ := strings.Cut(rest, "#")
			id, _, _ = strings.Cut(id, ":")
			ft, ok := timeouts[id]
			if !ok {
				continue
			}
			secs, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				continue
			}
			if at := time.Unix(secs, 0).Add(ft + time.Second); at.After(now) {
				earlier(at)
			}
		}
	}
	return next
}
