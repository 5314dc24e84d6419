package sched

import (
	"strconv"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// Parameter digests let the scheduler notice that a running resource's
// definition changed since it was started: the history records an MD5 of
// the parameters each operation ran with (op-digest) and of the
// parameters that cannot be reloaded (op-restart-digest).

// params evaluates a primitive's instance parameters for node n.
func (ws *workingSet) params(r *resource, n *node) map[string]string {
	out := map[string]string{}
	if r.cfg == nil {
		return out
	}
	// By descending score, the later set first among equal scores (see
	// orderSets).
	sets := make([]model.AttrSet, 0, len(r.cfg.RuleParams))
	for _, i := range orderSets(r.cfg.RuleParams, "") {
		sets = append(sets, r.cfg.RuleParams[i])
	}
	apply := func(vals []model.NV) {
		for _, nv := range vals {
			if _, ok := out[nv.Name]; !ok {
				out[nv.Name] = nv.Value
			}
		}
	}
	for _, s := range sets {
		if s.Score > 0 && (s.Rule == nil || ws.evalRule(s.Rule, n, r, nil)) {
			apply(s.Values)
		}
	}
	apply(r.cfg.Params)
	for _, s := range sets {
		if s.Score <= 0 && (s.Rule == nil || ws.evalRule(s.Rule, n, r, nil)) {
			apply(s.Values)
		}
	}
	// Instance attributes of the enclosing group or clone apply too
	// (get_rsc_attributes), where the resource does not set them.
	if r.parent != nil {
		for k, v := range ws.params(r.parent, n) {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	return out
}

// digest is Pacemaker's operation digest of a parameter set.
func digest(params map[string]string) string { return model.ParamDigest(params) }

type digestResult int

const (
	digestMatch digestResult = iota
	digestAll
	digestRestart
	digestUnknown
)

// opTimeoutMS is the timeout of r's operation task with the given
// interval: its own (o, nil if not configured), else the op_defaults'.
func (ws *workingSet) opTimeoutMS(r *resource, task string, intervalMS int64, o *model.Op) int64 {
	if o != nil && o.Timeout > 0 {
		return o.Timeout.Milliseconds()
	}
	if v, ok := ws.opDefaults(r, task, intervalMS)["timeout"]; ok {
		return parseIntervalMS(v)
	}
	return 20000
}

// compareDigest computes what changed for one recorded operation.
func (ws *workingSet) compareDigest(r *resource, n *node, op *model.OpRecord, task string, o *model.Op) digestResult {
	if r.implicit {
		// A bundle's implicit resources are derived from the bundle,
		// whose container parameters Paceline does not reproduce
		// byte for byte; treat their definition as unchanged.
		return digestMatch
	}
	all := ws.params(r, n)
	extra := false
	if o != nil && len(o.Params) > 0 {
		for _, nv := range o.Params {
			all[nv.Name] = nv.Value
		}
		extra = true
	}
	if op.Interval > 0 {
		all["CRM_meta_timeout"] = strconv.FormatInt(ws.opTimeoutMS(r, task, op.Interval, o), 10)
	}
	calcAll := digest(all)
	if op.SecureDigest != "" && calcAll != op.Digest {
		// Histories may be sanitized (private values masked): when only
		// private parameters differ, nothing changed.
		if ws.secureDigest(r, all, op) == op.SecureDigest {
			return digestMatch
		}
	}
	if op.RestartDigest != "" {
		// The restart digest covers the parameters that cannot be
		// reloaded (op-force-restart), or all of them when none is named.
		keep := all
		if op.ForceRestart != "" {
			keep = map[string]string{}
			for k, v := range all {
				if strings.Contains(" "+strings.TrimSpace(op.ForceRestart)+" ", " "+k+" ") {
					keep[k] = v
				}
			}
		}
		if digest(keep) != op.RestartDigest {
			return digestRestart
		}
	}
	if op.Digest == "" {
		return digestUnknown
	}
	if calcAll != op.Digest {
		if op.Interval == 0 && extra {
			return digestRestart
		}
		return digestAll
	}
	return digestMatch
}

// checkConfigChanges is pcmk__handle_rsc_config_changes: restarts or
// reloads resources whose definition changed since they were started.
func (ws *workingSet) checkConfigChanges() {
	if ws.st == nil {
		return
	}
	for _, n := range ws.nodes {
		if !(n.maintenance || n.canRun()) {
			continue
		}
		var ns *model.NodeStatus
		for i := range ws.st.Nodes {
			if ws.st.Nodes[i].Name == n.name {
				ns = &ws.st.Nodes[i]
			}
		}
		if ns == nil {
			continue
		}
		for hi := range ns.Resources {
			h := &ns.Resources[hi]
			r := ws.historyOwner(n, h.ID)
			if r == nil || r.orphan {
				continue
			}
			active := false
			for _, x := range r.runningOn {
				if x == n {
					active = true
				}
			}
			if !active {
				continue
			}
			if r.cfg != nil && (r.cfg.Type != h.Type || r.cfg.Class != h.Class || r.cfg.Provider != h.Provider) && h.Type != "" {
				ws.stopAction(r, n, false)
				r.startPending = true
				continue
			}
			ops := sortOps(h.Ops)
			startIdx, stopIdx := activeOps(ops)
			if startIdx < stopIdx {
				continue
			}
			for i := range ops {
				if i < startIdx {
					continue
				}
				op := &ops[i]
				task := op.Operation
				if op.Interval > 0 && (r.maintenance || n.maintenance) {
					continue
				}
				if !(op.Interval > 0 || task == "monitor" || task == "start" || task == "promote" || task == "migrate_from") {
					continue
				}
				var cfgOp *model.Op
				if op.Interval > 0 {
					cfgOp = r.configuredOp(task, op.Interval)
					if cfgOp == nil || !cfgOp.IsEnabled() {
						continue
					}
				} else {
					task = "start"
					cfgOp = r.configuredOp("start", 0)
				}
				switch ws.compareDigest(r, n, op, task, cfgOp) {
				case digestRestart:
					ws.requireStart(r)
				case digestAll, digestUnknown:
					if op.Digest == "" {
						continue
					}
					if op.Interval > 0 {
						continue
					}
					if op.RestartDigest != "" {
						ws.reload(r, n)
					} else {
						ws.requireStart(r)
					}
				}
			}
		}
	}
}

// requireStart makes the resource's start mandatory ("resource definition
// change"): a restart where it is.
func (ws *workingSet) requireStart(r *resource) {
	a := ws.customAction(r, opKey(r.id, "start", 0), "start", nil, false)
	a.setReason("resource definition change", true)
	a.clear(afOptional)
}

func (ws *workingSet) reload(r *resource, n *node) {
	switch {
	case !r.managed, r.failed:
		return
	case r.startPending:
		ws.stopAction(r, n, false)
		return
	}
	r.reload = true
	a := ws.customAction(r, opKey(r.id, "reload-agent", 0), "reload-agent", n, false)
	a.setReason("resource definition change", false)
	ws.newOrdering(nil, "", a, r, opKey(r.id, "stop", 0), nil, ofOptional|ofThenCancelsFirst)
	ws.newOrdering(nil, "", a, r, opKey(r.id, "demote", 0), nil, ofOptional|ofThenCancelsFirst)
}

// activeOps is calculate_active_ops: the index of the last start and stop.
func activeOps(ops []model.OpRecord) (int, int) {
	start, stop := -1, -1
	impliedMonitor, impliedClone := -1, -1
	for i := range ops {
		op := &ops[i]
		switch {
		case op.Operation == "stop" && op.OpStatus == execDone && op.RC == 0:
			stop = i
		case op.Operation == "start" || op.Operation == "migrate_from":
			start = i
		case impliedMonitor <= stop && isProbe(op):
			if op.RC == ocfOK || op.RC == ocfRunningPromoted {
				impliedMonitor = i
			}
		case op.Operation == "promote" || op.Operation == "demote":
			impliedClone = i
		}
	}
	if start == -1 {
		if impliedClone != -1 {
			start = impliedClone
		} else if impliedMonitor != -1 {
			start = impliedMonitor
		}
	}
	return start, stop
}

// historyOwner maps a history id on node n to the resource it describes.
func (ws *workingSet) historyOwner(n *node, id string) *resource {
	if r, ok := ws.byID[id]; ok && r.variant == vPrimitive {
		if !r.isCloneInstance() {
			return r
		}
	}
	base := id
	if i := strings.IndexByte(id, ':'); i >= 0 {
		base = id[:i]
	}
	if clone := ws.cloneOfChild(base); clone != nil {
		for _, inst := range clone.children {
			for _, p := range inst.primitives() {
				if p.historyID == id || (baseID(p.id) == base && containsNode(p.runningOn, n)) {
					if containsNode(p.runningOn, n) {
						return p
					}
				}
			}
		}
	}
	return nil
}

func baseID(id string) string {
	if i := strings.IndexByte(id, ':'); i >= 0 {
		return id[:i]
	}
	return id
}

func containsNode(list []*node, n *node) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

// secureDigest is the digest of the parameters that are not private.
func (ws *workingSet) secureDigest(r *resource, all map[string]string, op *model.OpRecord) string {
	secure := " passwd password user "
	if op.SecureParams != "" {
		secure = op.SecureParams
	}
	old := compareVersion(op.FeatureSet, "3.16.0") < 0
	isFence := r.cfg != nil && r.cfg.Class == "stonith"
	keep := map[string]string{}
	for k, v := range all {
		if strings.Contains(secure, " "+k+" ") {
			continue
		}
		if old && isFence && isFenceParam(k) {
			continue
		}
		if old && k == "CRM_meta_timeout" {
			continue
		}
		keep[k] = v
	}
	return digest(keep)
}

// isFenceParam reports the pcmk_* parameters the fencer adds.
func isFenceParam(p string) bool {
	switch p {
	case "provides", "stonith-timeout", "pcmk_action_limit", "pcmk_delay_base", "pcmk_delay_max",
		"pcmk_host_argument", "pcmk_host_check", "pcmk_host_list", "pcmk_host_map":
		return true
	}
	if !strings.HasPrefix(p, "pcmk_") {
		return false
	}
	rest := p[5:]
	i := strings.IndexByte(rest, '_')
	if i < 0 {
		return false
	}
	switch rest[i:] {
	case "_action", "_timeout", "_retries":
		return true
	}
	return false
}
