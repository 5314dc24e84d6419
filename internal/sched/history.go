package sched

import (
	"sort"
	"strconv"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// Executor status codes as recorded in the history.
const (
	execPending      = -1
	execDone         = 0
	execCancelled    = 1
	execTimeout      = 2
	execNotSupported = 3
	execError        = 4
	execErrorHard    = 5
	execErrorFatal   = 6
	execNotInstalled = 7
	execNotConnected = 8
	execInvalid      = 9
	execNoFenceDev   = 10
	execNoSecrets    = 11
)

// OCF exit codes.
const (
	ocfOK              = 0
	ocfError           = 1
	ocfInvalidParam    = 2
	ocfUnimplemented   = 3
	ocfInsufficentPriv = 4
	ocfNotInstalled    = 5
	ocfNotConfigured   = 6
	ocfNotRunning      = 7
	ocfRunningPromoted = 8
	ocfFailedPromoted  = 9
	ocfDegraded        = 190
	ocfDegradedPromo   = 191
)

func isProbe(op *model.OpRecord) bool {
	return op.Operation == "monitor" && op.Interval == 0
}

// configuredOp finds the configured operation matching name and interval.
func (r *resource) configuredOp(name string, intervalMS int64) *model.Op {
	for i := range r.ops {
		o := &r.ops[i]
		if o.Name == name && o.Interval.Milliseconds() == intervalMS {
			return o
		}
	}
	return nil
}

// opOnFail computes an operation's on-fail policy and the role a failure
// sends the resource to (Pacemaker's unpack_operation).
func (ws *workingSet) opOnFail(r *resource, task string, intervalMS int64) (onFail, Role) {
	value := ""
	if o := r.configuredOp(task, intervalMS); o != nil {
		value = o.OnFail
		if value == "" && o.Meta != nil {
			value = o.Meta["on-fail"]
		}
	}
	if value == "" {
		value = ws.opDefaults(r, task, intervalMS)["on-fail"]
	}
	value = strings.ToLower(value)
	switch {
	case task == "stop" && (value == "standby" || value == "demote" || value == "stop"):
		value = "" // not valid for stop: back to the default
	case task == "demote" && value == "":
		// demote inherits the on-fail of the Promoted-role monitor
		for _, o := range r.ops {
			of := strings.ToLower(o.OnFail)
			if of == "" || !o.IsEnabled() || o.Name != "monitor" || o.Interval <= 0 || of == "demote" {
				continue
			}
			if parseRole(o.Role) != RolePromoted {
				continue
			}
			value = of
			break
		}
	}
	failRole := RoleUnknown
	of := onFail(-1)
	switch value {
	case "block":
		of = failBlock
	case "fence":
		if ws.stonithEnabled {
			of = failFence
		} else {
			of, failRole = failStop, RoleStopped
		}
	case "standby":
		of = failStandby
	case "ignore", "nothing":
		of = failIgnore
	case "migrate":
		of = failMigrate
	case "stop":
		of, failRole = failStop, RoleStopped
	case "restart":
		of = failRestart
	case "restart-container":
		if r.container != nil {
			of = failRestartContainer
		}
	case "demote":
		of = failDemote
	}
	if of < 0 {
		if rof, role, ok := ws.remoteOnFail(r, task, intervalMS, ""); ok {
			of, failRole = rof, role
		} else if task == "stop" {
			if ws.stonithEnabled {
				of = failFence
			} else {
				of = failBlock
			}
		} else {
			of = failRestart
		}
	} else if of != failRestartContainer {
		if rof, role, ok := ws.remoteOnFail(r, task, intervalMS, value); ok && !r.managed {
			of, failRole = rof, role
		}
	}
	if failRole == RoleUnknown {
		if task == "promote" {
			failRole = RoleUnpromoted
		} else {
			failRole = RoleStarted
		}
	}
	return of, failRole
}

// unpackOp applies one history entry to the resource's state on n, as
// unpack_rsc_op does.
func (ws *workingSet) unpackOp(rsc *resource, n *node, op *model.OpRecord, lastFailure **model.OpRecord, on *onFail, all []model.OpRecord) {
	task := op.Operation
	switch task {
	case "notify", "meta-data", "reload", "reload-agent":
		if task == "reload" || task == "reload-agent" {
			// a reload is a successful restart for state purposes
		}
		return
	}
	status := op.OpStatus
	rc := op.RC
	target := op.TargetRC
	probe := isProbe(op)
	if status == execCancelled {
		return
	}
	// The expiry check sees the recorded result (check_operation_expiry).
	expired := false
	if status != execNotInstalled && status != execPending && rsc.failureTimeout > 0 && op.LastRCChange > 0 {
		if ws.now >= op.LastRCChange+rsc.failureTimeout {
			if ws.failCount(n, rsc, false) > 0 && ws.failCount(n, rsc, true) == 0 {
				expired = true
			} else if ws.failCount(n, rsc, false) == 0 {
				expired = true
			}
			if ws.failCount(n, rsc, false) > 0 && ws.failCount(n, rsc, true) > 0 {
				expired = false
			}
		}
		if expired && probe {
			switch rc {
			case ocfOK, ocfNotRunning, ocfRunningPromoted, ocfDegraded, ocfDegradedPromo:
				expired = false
			}
		}
	}

	// remap_operation: judge the result against the expected one.
	if task == "monitor" {
		switch rc {
		case ocfDegraded:
			rc = ocfOK
		case ocfDegradedPromo:
			rc = ocfRunningPromoted
		}
	}
	// A probe saying the agent is missing or misconfigured only means the
	// resource is not running here (pcmk_xe_mask_probe_failure).
	masked := rsc.bundleOf() == nil && maskedProbeFailure(op)
	if masked {
		status, rc = execDone, ocfNotRunning
	}
	if status == execDone || status == execError {
		status = execDone
		if target != rc {
			status = execError
		}
		switch rc {
		case ocfOK:
			if probe && target == ocfNotRunning {
				status = execDone // probe found it active
			}
		case ocfNotRunning:
			if probe || target == rc || !rsc.managed {
				status = execDone
				rsc.role = RoleStopped
				*on = failIgnore
				rsc.setNextRole(RoleUnknown, "not running")
			}
		case ocfRunningPromoted:
			if probe && rc != target {
				status = execDone // probe found it promoted
			}
			rsc.role = RolePromoted
		case ocfDegradedPromo, ocfFailedPromoted:
			rsc.role = RolePromoted
			status = execError
		case ocfNotConfigured:
			status = execErrorFatal
		case ocfUnimplemented:
			if op.Interval == 0 {
				ws.checkRecoverable(rsc, n, task)
				status = execErrorHard
			} else {
				status = execNotSupported
			}
		case ocfNotInstalled, ocfInvalidParam, ocfInsufficentPriv:
			ws.checkRecoverable(rsc, n, task)
			status = execErrorHard
		default:
			if status == execDone {
				status = execError
			}
		}
	}

	if expired && masked && op.RC != op.TargetRC {
		if rsc.role <= RoleStopped {
			rsc.role = RoleUnknown
		}
		return
	}
	if expired && rc != target {
		// An expired failure is as if it never happened.
		return
	}
	if masked {
		ws.updateResourceState(rsc, n, op, task, target, *lastFailure, on)
		ban := rsc
		if !rsc.unique {
			ban = rsc.top()
		}
		ws.addLocation(ban, n, -model.Infinity, "probe found the agent missing or misconfigured")
		return
	}

	switch status {
	case execPending:
		switch task {
		case "start":
			rsc.startPending = true
			rsc.setActive()
		case "promote":
			rsc.role = RolePromoted
		case "migrate_to":
			if n.unclean && op.MigrateTarget != "" {
				// forced stop on the target happens at action time
			}
		}
		if rsc.pendingTask == "" && (op.Interval != 0 || task != "monitor") {
			rsc.pendingTask = task
			rsc.pendingNode = n
		}
		return
	case execDone:
		ws.updateResourceState(rsc, n, op, task, rc, *lastFailure, on)
		return
	case execNotInstalled:
		of, _ := ws.opOnFail(rsc, task, op.Interval)
		if of == failIgnore {
			// A missing agent cannot be ignored: recover elsewhere.
			*on = failMigrate
		}
		ws.banTop(rsc, n, "hard-error")
		ws.unpackFailure(rsc, n, rc, op, lastFailure, on)
		return
	case execNoFenceDev, execNoSecrets:
		status = execErrorHard
	}

	of, _ := ws.opOnFail(rsc, task, op.Interval)
	if of == failIgnore || (of == failRestartContainer && task == "stop") {
		// Pretend the failed operation succeeded.
		ws.updateResourceState(rsc, n, op, task, target, *lastFailure, on)
		rsc.failureIgnored = true
		if of == failRestartContainer && *on <= failRestart {
			*on = of
		}
		return
	}
	ws.unpackFailure(rsc, n, rc, op, lastFailure, on)
	if status == execErrorHard {
		ws.banTop(rsc, n, "hard-error")
	} else if status == execErrorFatal {
		top := rsc.top()
		for _, x := range ws.nodes {
			ws.addLocation(top, x, -model.Infinity, "fatal-error")
		}
	}
}

// maskedProbeFailure is pcmk_xe_mask_probe_failure: a probe that found the
// agent missing or misconfigured.
func maskedProbeFailure(op *model.OpRecord) bool {
	return isProbe(op) && (op.RC == ocfNotInstalled || op.RC == ocfInvalidParam || op.OpStatus == execNotInstalled)
}

// checkRecoverable is check_recoverable: a stop that failed hard on a node
// that cannot be fenced leaves the resource blocked (unmanaged).
func (ws *workingSet) checkRecoverable(rsc *resource, n *node, task string) {
	if task != "stop" || ws.canFence(n) {
		return
	}
	rsc.managed = false
	rsc.block = true
	rsc.explain("stop failed on %s, which cannot be fenced: no further recovery", n.name)
}

// banTop bans the resource (its top-level parent) from a node.
func (ws *workingSet) banTop(rsc *resource, n *node, why string) {
	ws.addLocation(rsc.top(), n, -model.Infinity, why)
}

// addLocation is resource_location: add score for node n to r's allowed
// table (and its children's for collective resources).
func (ws *workingSet) addLocation(r *resource, n *node, s model.Score, why string) {
	if n == nil {
		return
	}
	if w := r.allowed.get(n); w != nil {
		w.score = model.AddScores(w.score, s)
	} else {
		r.allowed.set(n, s)
	}
	r.contrib(n, s, "%s", why)
	for _, c := range r.children {
		ws.addLocation(c, n, s, why)
	}
}

func (ws *workingSet) updateResourceState(rsc *resource, n *node, op *model.OpRecord, task string, rc int, lastFailure *model.OpRecord, on *onFail) {
	clear := false
	switch {
	case rc == ocfNotInstalled || (rsc.bundleOf() == nil && maskedProbeFailure(op)):
		rsc.role = RoleStopped
	case rc == ocfNotRunning:
		clear = true
	case task == "monitor":
		if lastFailure != nil && opKeyOf(rsc, op) == opKeyOf(rsc, lastFailure) {
			clear = true
		}
		if rsc.role < RoleStarted {
			rsc.setActive()
		}
	case task == "start":
		rsc.role = RoleStarted
		clear = true
	case task == "stop":
		rsc.role = RoleStopped
		clear = true
	case task == "promote":
		rsc.role = RolePromoted
		clear = true
	case task == "demote":
		if *on == failDemote {
			clear = true
		}
		rsc.role = RoleUnpromoted
	case task == "migrate_from":
		rsc.role = RoleStarted
		clear = true
	case task == "migrate_to":
		ws.migrateToSuccess(rsc, n, op)
	default:
		if rsc.role < RoleStarted {
			rsc.setActive()
		}
	}
	if clear {
		switch *on {
		case failStop, failFence, failStandby, failMigrate:
		default:
			*on = failIgnore
			rsc.setNextRole(RoleUnknown, "clear past failures")
		}
	}
}

func opKeyOf(rsc *resource, op *model.OpRecord) string {
	return op.Operation + "_" + strconv.FormatInt(op.Interval, 10)
}

func (ws *workingSet) unpackFailure(rsc *resource, n *node, rc int, op *model.OpRecord, lastFailure **model.OpRecord, on *onFail) {
	*lastFailure = op
	task := op.Operation
	of, failRole := ws.opOnFail(rsc, task, op.Interval)
	if of > *on {
		*on = of
	}
	switch task {
	case "stop":
		ws.addLocation(rsc, n, -model.Infinity, "__stop_fail__")
	case "migrate_to":
		ws.migrateToFailure(rsc, n, op)
	case "migrate_from":
		ws.migrateFromFailure(rsc, n, op)
	case "promote":
		rsc.role = RolePromoted
	case "demote":
		switch {
		case of == failBlock:
			rsc.role = RolePromoted
			rsc.setNextRole(RoleStopped, "demote with on-fail=block")
		case rc == ocfNotRunning:
			rsc.role = RoleStopped
		default:
			rsc.role = RoleUnpromoted
		}
	}
	if isProbe(op) && rc == ocfNotInstalled {
		rsc.role = RoleStopped
	} else if rsc.role < RoleStarted {
		rsc.setActive()
	}
	if failRole != RoleStarted && rsc.nextRole < failRole {
		rsc.setNextRole(failRole, "failure")
	}
	if failRole == RoleStopped {
		target := rsc
		if rsc.parent != nil {
			top := rsc.top()
			if top.variant == vClone && !top.unique {
				target = top
			}
		}
		for _, x := range ws.nodes {
			target.allowed.set(x, -model.Infinity)
		}
		for _, p := range target.primitives() {
			for _, x := range ws.nodes {
				p.allowed.set(x, -model.Infinity)
			}
		}
		target.explain("on-fail=stop: will not be started under current conditions")
	}
}

// processRscState is process_rsc_state: what the history of one node
// means for the resource.
func (ws *workingSet) processRscState(rsc *resource, n *node, on onFail) {
	if rsc.role != RoleUnknown {
		for it := rsc; it != nil; it = it.parent {
			it.knownOn[n] = true
			if it.unique {
				break
			}
		}
	}
	if rsc.role > RoleStopped && !n.online && !n.maintenance && rsc.managed {
		ws.activeOnDownNode(rsc, n)
	}
	saved := on
	if n.unclean {
		on = failIgnore
	}
	switch on {
	case failDemote:
		rsc.failed = true
	case failFence:
		ws.fenceNode(n, rsc.id+" failed there", false)
	case failStandby:
		n.standby = true
	case failMigrate:
		ws.addLocation(rsc, n, -model.Infinity, "failed here (recovered elsewhere)")
	case failBlock:
		rsc.managed = false
		rsc.block = true
	case failStop:
		rsc.setNextRole(RoleStopped, "on-fail=stop")
	case failRestart:
		if rsc.role != RoleStopped && rsc.role != RoleUnknown {
			rsc.failed = true
			rsc.stopFlag = true
		}
	case failRestartContainer:
		ws.restartContainer(rsc, n)
	case failResetRemote:
		ws.resetRemote(rsc, n)
	}
	ws.connectionFailed(rsc)
	if rsc.role != RoleStopped && rsc.role != RoleUnknown {
		ws.addRunning(rsc, n, saved != failIgnore)
		switch on {
		case failIgnore:
		case failDemote, failBlock:
			rsc.failed = true
		default:
			rsc.failed = true
			rsc.stopFlag = true
		}
	}
	if rsc.role == RoleStopped && rsc.partialSource == n && rsc.partialTarget != nil && len(rsc.runningOn) > 0 {
		rsc.role = RoleStarted
	}
}

// addRunning is native_add_running.
func (ws *workingSet) addRunning(rsc *resource, n *node, failed bool) {
	for _, x := range rsc.runningOn {
		if x == n {
			return
		}
	}
	rsc.runningOn = append(rsc.runningOn, n)
	if rsc.variant == vPrimitive && n.maintenance {
		rsc.managed = false
		rsc.maintenance = true
	}
	if !rsc.managed {
		ws.addLocation(rsc, n, model.Infinity, "not managed: stays where it is")
		for p := rsc.parent; p != nil && n.online; p = p.parent {
			p.runningOn = appendNode(p.runningOn, n)
		}
		return
	}
	if len(rsc.runningOn) > 1 {
		switch rsc.recovery {
		case "stop_only":
			for _, x := range ws.nodes {
				rsc.allowed.set(x, -model.Infinity)
			}
		case "block":
			rsc.managed = false
			rsc.block = true
			if rsc.parent != nil && rsc.parent.variant == vGroup && rsc.parent.recovery == "block" {
				for _, c := range rsc.parent.children {
					c.managed = false
					c.block = true
				}
			}
		}
	}
	if rsc.parent != nil {
		ws.addRunning(rsc.parent, n, false)
	}
}

func appendNode(list []*node, n *node) []*node {
	for _, x := range list {
		if x == n {
			return list
		}
	}
	return append(list, n)
}

// failInfo is what a node's attributes say about one resource's failures.
type failInfo struct {
	count model.Score
	last  int64
}

// failIndex indexes a node's fail-count and last-failure attributes by
// resource id. Histories older than feature set 3.0.13 count failures per
// resource ("fail-count-rsc"); newer ones per operation
// ("fail-count-rsc#op_interval"); only the form of the history's era
// counts. An instance suffix (":N") is kept in the key.
func (ws *workingSet) failIndex(n *node) map[string]*failInfo {
	if ws.failIdx == nil {
		ws.failIdx = map[*node]map[string]*failInfo{}
	}
	if idx, ok := ws.failIdx[n]; ok {
		return idx
	}
	legacy := ws.st == nil || compareVersion(ws.st.FeatureSet, "3.0.13") < 0
	idx := map[string]*failInfo{}
	for k, v := range n.attrs {
		var rest string
		var isCount bool
		switch {
		case strings.HasPrefix(k, "fail-count-"):
			rest, isCount = k[len("fail-count-"):], true
		case strings.HasPrefix(k, "last-failure-"):
			rest = k[len("last-failure-"):]
		default:
			continue
		}
		i := strings.IndexByte(rest, '#')
		if legacy != (i < 0) {
			continue
		}
		if i >= 0 {
			rest = rest[:i]
		}
		fi := idx[rest]
		if fi == nil {
			fi = &failInfo{}
			idx[rest] = fi
		}
		if isCount {
			fi.count = model.AddScores(fi.count, scoreOf(v))
		} else if t, err := strconv.ParseInt(v, 10, 64); err == nil && t > fi.last {
			fi.last = t
		}
	}
	ws.failIdx[n] = idx
	if ws.failInstanceKeys == nil {
		ws.failInstanceKeys = map[*node]map[string][]string{}
	}
	byBase := map[string][]string{}
	for key := range idx {
		if b := baseID(key); b != key && isInstanceSuffix(key[len(b):]) {
			byBase[b] = append(byBase[b], key)
		}
	}
	for _, keys := range byBase {
		sort.Strings(keys)
	}
	ws.failInstanceKeys[n] = byBase
	return idx
}

// failCount sums the fail counts of rsc on n from the node attributes;
// effective drops counts whose last failure is older than failure-timeout.
// For resources that are not globally unique, counts recorded with an
// instance number count too.
func (ws *workingSet) failCount(n *node, rsc *resource, effective bool) int {
	name := rsc.id
	if rsc.historyID != "" {
		name = rsc.historyID
	}
	unique := rsc.top().unique
	if !unique {
		name = baseID(name)
	}
	idx := ws.failIndex(n)
	if len(idx) == 0 {
		return 0
	}
	var count model.Score
	var last int64
	add := func(fi *failInfo) {
		count = model.AddScores(count, fi.count)
		if fi.last > last {
			last = fi.last
		}
	}
	if fi := idx[name]; fi != nil {
		add(fi)
	}
	if !unique {
		// Counts recorded with an instance number (":N") count too.
		for _, key := range ws.failInstanceKeys[n][name] {
			add(idx[key])
		}
	}
	if effective && count > 0 && rsc.failureTimeout > 0 && last > 0 {
		if ws.now > last+rsc.failureTimeout {
			return 0
		}
	}
	return int(count)
}

func isInstanceSuffix(s string) bool {
	if len(s) < 2 || s[0] != ':' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
