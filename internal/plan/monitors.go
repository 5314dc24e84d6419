package plan

import (
	"sort"
	"strconv"
	"time"

	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/sched"
)

// roleChanging are the kinds after which an instance's recurring monitors
// must be (re)started: the executor cancels them on stop, promote and
// demote, and a start or migrate_from begins a new life.
var roleChanging = map[string]bool{Start: true, Promote: true, Demote: true, MigrateFrom: true}

// monitors adds the recurring monitors of every instance for the role it
// ends the transition in.
func (b *builder) monitors() {
	ids := make([]string, 0, len(b.in.Result.Instances))
	for id := range b.in.Result.Instances {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		in := b.in.Result.Instances[id]
		if !in.Managed || in.Orphan || in.Next == "" {
			continue
		}
		role := in.NextRole
		if role != sched.RoleStarted && role != sched.RoleUnpromoted && role != sched.RolePromoted {
			continue
		}
		var after []int
		stopping := false
		for _, a := range b.p.Actions {
			if a.Resource != in.ID || a.Node != in.Next {
				continue
			}
			if roleChanging[a.Kind] {
				after = append(after, a.ID)
			}
			if a.Kind == Stop || a.Kind == MigrateTo {
				stopping = true
			}
		}
		if len(after) == 0 {
			// No action gives it its role here: it must be running so
			// already, and is monitored unless a current monitor exists.
			if stopping || in.Role != role || !contains(in.Running, in.Next) {
				continue
			}
		}
		for i := range in.Ops {
			o := &in.Ops[i]
			if o.Name != Monitor || o.Interval <= 0 || !o.IsEnabled() {
				continue
			}
			if o.Role != "" && !sameRole(o.Role, role.String()) {
				continue
			}
			if len(after) == 0 && b.currentMonitor(in, o.Interval) {
				continue
			}
			a := b.instanceActionOp(in, Monitor, in.Next, o.Interval, o)
			if o.Role != "" {
				a.Role = sched.ParseRole(o.Role).String()
				a.Meta["role"] = a.Role
			}
			a.TargetRC = rcOK
			if role == sched.RolePromoted {
				a.TargetRC = rcPromoted
			}
			a.Meta["op_target_rc"] = strconv.Itoa(a.TargetRC)
			a.ID = b.newID()
			a.After = append([]int(nil), after...)
			a.Reason = "recurring monitor of the " + role.String() + " role"
			b.add(a)
		}
	}
}

// currentMonitor reports whether the history of in on its node has the
// recurring monitor of interval, requested since the instance's last
// start, promote or demote.
func (b *builder) currentMonitor(in *sched.Instance, interval time.Duration) bool {
	rh := b.history(in.Next, in.HistoryID)
	if rh == nil {
		return false
	}
	last := -1
	for _, o := range rh.Ops {
		if o.Interval == 0 && roleChanging[o.Operation] && o.CallID > last {
			last = o.CallID
		}
	}
	for _, o := range rh.Ops {
		if o.Operation == Monitor && o.Interval == interval.Milliseconds() && o.CallID > last && o.OpStatus != 1 {
			return true
		}
	}
	return false
}

// history returns the operation history of resource id on node, or nil.
func (b *builder) history(node, id string) *model.ResourceHistory {
	if b.in.Status == nil {
		return nil
	}
	for i := range b.in.Status.Nodes {
		ns := &b.in.Status.Nodes[i]
		if ns.Name != node {
			continue
		}
		for j := range ns.Resources {
			if ns.Resources[j].ID == id {
				return &ns.Resources[j]
			}
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
