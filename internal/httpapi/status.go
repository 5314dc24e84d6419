package httpapi

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/paceline/paceline/internal/fence"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/sched"
	"github.com/paceline/paceline/internal/store"
	"github.com/paceline/paceline/internal/vmha"
)

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	writeJSON(w, http.StatusOK, s.status())
	return nil
}

// status builds the status view from the backend.
func (s *Server) status() api.Status {
	leader, quorum := s.cfg.Backend.Leader()
	st := BuildStatus(s.cfg.Backend.Config(), s.cfg.Backend.Members(), leader, quorum, s.cfg.Now())
	st.LastChange = lastChange(s.cfg.Backend.Audit())
	if tn, ok := s.cfg.Backend.(TwoNodeReporter); ok && st.TwoNode != nil {
		st.TwoNode.Lost = tn.TwoNodeLost()
	}
	return st
}

// lastChange is the last accepted configuration change of the audit log
// (resources, constraints, properties, a configuration apply; not node
// attributes, cleanups or tokens), or nil.
func lastChange(entries []store.AuditEntry) *api.LastChange {
	for i := len(entries) - 1; i >= 0; i-- {
		if e := entries[i]; e.Result == "ok" && configChange(e.Action) {
			return &api.LastChange{At: time.UnixMilli(e.At).UTC(), By: e.Token, Role: e.Role, Action: e.Action}
		}
	}
	return nil
}

// configChange reports whether an audited request ("POST /v1/resources")
// changes the configuration.
func configChange(action string) bool {
	_, path, _ := strings.Cut(action, " ")
	for _, prefix := range []string{"/v1/resources", "/v1/constraints", "/v1/properties", "/v1/config"} {
		if strings.HasPrefix(path, prefix) && !strings.HasSuffix(path, "/cleanup") {
			return true
		}
	}
	return false
}

// BuildStatus derives the status view (see the package doc) from the
// configuration and the members at now (failure-timeouts expire by it). It
// is a pure function. Where each primitive is active, in which role, comes
// from the scheduler's view of the current state (sched.CurrentView), so
// that status and placement read the history the same way: clone
// instances whether recorded under the base id or instance ids, failed
// operations, promotions.
func BuildStatus(cfg *model.Config, members []store.Member, leader string, quorum bool, now time.Time) api.Status {
	return buildStatus(cfg, members, leader, quorum, now, true)
}

// BuildStatusWithoutVMs is BuildStatus without the VMs' states, for
// views that do not show them (the event recorder, metrics, a
// switchover's progress): a VM's state may take a schedule of the whole
// cluster (a VM that should start, explained), which the event recorder
// did at every change.
func BuildStatusWithoutVMs(cfg *model.Config, members []store.Member, leader string, quorum bool, now time.Time) api.Status {
	return buildStatus(cfg, members, leader, quorum, now, false)
}

func buildStatus(cfg *model.Config, members []store.Member, leader string, quorum bool, now time.Time, vms bool) api.Status {
	st := api.Status{Leader: leader, Quorum: quorum, Epoch: cfg.Epoch,
		Nodes: []api.NodeStatus{}, Resources: []api.ResourceStatus{},
		Collectives: collectives(cfg.Resources, ""), FailedActions: []api.FailedAction{}, VMs: []api.VMStatus{}}
	ms := &model.Status{HaveQuorum: quorum, DC: leader}
	attrs := map[string]map[string]string{} // node -> its attributes
	for i := range members {
		m := &members[i]
		attrs[m.Name] = m.Attributes
		ns := api.NodeStatus{Name: m.Name, State: string(m.Display()), Role: string(m.Role),
			Attributes: m.Attributes, Hold: m.Hold}
		if m.Fenced != nil {
			ns.FencedBy = m.Fenced.By
		}
		st.Nodes = append(st.Nodes, ns)
		ms.Nodes = append(ms.Nodes, m.NodeStatus())
		st.FailedActions = append(st.FailedActions, failedActions(m)...)
	}
	roles := store.Roles(members)
	st.Gate = fence.TwoNodeGate(cfg, roles)
	declared := model.ParseClusterOptions(cfg.Properties).TwoNode
	if _, ok := fence.TwoServers(roles); ok || declared {
		st.TwoNode = &api.TwoNodeStatus{Servers: fence.Members(roles, fence.RoleServer), Declared: declared}
	}
	leaves := map[string][]sched.ResourceView{}
	if view, err := sched.CurrentView(sched.Input{Config: cfg, Status: ms, Now: now}); err == nil {
		collectLeaves(view.Resources, leaves)
	}
	for _, p := range primitives(cfg.Resources, "") {
		rs := api.ResourceStatus{ID: p.res.ID, Agent: p.res.Agent(), Parent: p.parent, Role: api.RoleStopped,
			Nodes: []string{}, Instances: []api.Instance{}, Address: vipAddress(p.res), Managed: true}
		failed := false
		for _, lv := range leaves[p.res.ID] {
			failed = failed || lv.Failed
			rs.Managed = rs.Managed && lv.Managed
			for _, n := range lv.Nodes {
				role := lv.Role
				if lv.Failed {
					role = api.RoleFailed
				}
				rs.Instances = append(rs.Instances, api.Instance{Node: n, Role: role, Replication: replicationOf(attrs[n], p.res.ID)})
				if !slices.Contains(rs.Nodes, n) {
					rs.Nodes = append(rs.Nodes, n)
				}
				if roleRank(role) > roleRank(rs.Role) {
					rs.Role = role
				}
			}
		}
		if len(rs.Instances) == 0 && failed {
			rs.Role = api.RoleFailed
		}
		slices.Sort(rs.Nodes)
		slices.SortFunc(rs.Instances, func(a, b api.Instance) int { return strings.Compare(a.Node, b.Node) })
		st.Resources = append(st.Resources, rs)
	}
	if !vms {
		return st
	}
	if vms, err := vmha.States(vmha.Input{Config: cfg, Status: ms, Now: now}); err == nil {
		for _, v := range vms {
			st.VMs = append(st.VMs, api.VMStatus{ID: v.VM, State: string(v.State), Host: v.Host,
				HALevel: v.Level, Storage: v.Storage, Reason: v.Reason})
		}
	}
	return st
}

// roleRank orders the roles of a primitive's instances: the primitive
// shows the highest.
func roleRank(role string) int {
	switch role {
	case api.RolePromoted:
		return 4
	case api.RoleUnpromoted:
		return 3
	case api.RoleStarted:
		return 2
	case api.RoleFailed:
		return 1
	}
	return 0
}

// collectLeaves files the view's primitives (clone instances "id:N"
// included) under their configured id.
func collectLeaves(rvs []sched.ResourceView, out map[string][]sched.ResourceView) {
	for _, rv := range rvs {
		if len(rv.Children) > 0 {
			collectLeaves(rv.Children, out)
			continue
		}
		if rv.Kind != "primitive" {
			continue
		}
		out[model.BaseID(rv.ID)] = append(out[model.BaseID(rv.ID)], rv)
	}
}

type primitive struct {
	res    *model.Resource
	parent string // the enclosing group or clone ("" at the top level)
}

// primitives flattens groups, clones and bundles to their primitives in
// configuration order.
func primitives(rs []model.Resource, parent string) []primitive {
	var out []primitive
	for i := range rs {
		r := &rs[i]
		if r.Kind == model.KindPrimitive {
			out = append(out, primitive{res: r, parent: parent})
			continue
		}
		out = append(out, primitives(r.Children, r.ID)...)
	}
	return out
}

// collectives lists the groups and clones below parent, in order.
func collectives(rs []model.Resource, parent string) []api.CollectiveStatus {
	out := []api.CollectiveStatus{}
	for i := range rs {
		r := &rs[i]
		if r.Kind != model.KindGroup && r.Kind != model.KindClone {
			continue
		}
		cs := api.CollectiveStatus{ID: r.ID, Kind: string(r.Kind), Parent: parent, Children: []string{},
			Promotable: r.Kind == model.KindClone && isTrue(r.Meta["promotable"])}
		for _, ch := range r.Children {
			cs.Children = append(cs.Children, ch.ID)
		}
		out = append(out, cs)
		out = append(out, collectives(r.Children, r.ID)...)
	}
	return out
}

// isTrue reads a Pacemaker boolean.
func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "true", "on", "yes", "y", "1":
		return true
	}
	return false
}

// vipAddress is the address parameter of a virtual IP primitive.
func vipAddress(r *model.Resource) string {
	switch r.Agent() {
	case "builtin:vip", "ocf:heartbeat:IPaddr2", "ocf:heartbeat:IPaddr", "ocf:heartbeat:IPv6addr":
		for _, p := range r.Params {
			if p.Name == "ip" || p.Name == "ipv6addr" {
				return p.Value
			}
		}
	}
	return ""
}

// lastFailureSuffix ends the id of the record the store keeps of a
// resource's last failure on a node ("RSC_last_failure_0").
const lastFailureSuffix = "_last_failure_0"

// failedActions lists a member's kept last failures, by resource id.
func failedActions(m *store.Member) []api.FailedAction {
	var out []api.FailedAction
	for _, rh := range m.Resources {
		for _, op := range rh.Ops {
			if !strings.HasSuffix(op.ID, lastFailureSuffix) {
				continue
			}
			fa := api.FailedAction{Resource: rh.ID, Operation: op.Operation, Interval: op.Interval, Node: m.Name,
				ExitCode: op.RC, ExitReason: op.ExitReason, Status: model.OpStatusName(op.OpStatus), CallID: op.CallID}
			if at := op.LastRCChange; at != 0 {
				fa.At = time.Unix(at, 0).UTC()
			} else if op.LastRun != 0 {
				fa.At = time.Unix(op.LastRun, 0).UTC()
			}
			out = append(out, fa)
		}
	}
	slices.SortFunc(out, func(a, b api.FailedAction) int { return strings.Compare(a.Resource, b.Resource) })
	return out
}
