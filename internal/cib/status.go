package cib

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// nodeState reads one <node_state>. ok is false for an entry that names no
// known node: a node_state without uname whose id is not configured. A
// remote or guest node's entry (remote_node="true") is kept even when no
// <node> names it, since such nodes are usually defined by their
// connection resource; the scheduler ignores entries for nodes that no
// longer exist.
func (p *parser) nodeState(n *node, nameByID map[string]string) (ns model.NodeStatus, ok bool, err error) {
	if ns.ID, err = required(n, "id"); err != nil {
		return ns, false, err
	}
	configured, known := nameByID[ns.ID]
	ns.Remote, _ = parseBool(n.get("remote_node"))
	if v := n.get("node_fenced"); v != "" && v != "0" {
		ns.RemoteFenced = true
	}
	ns.Name = n.get("uname")
	if ns.Name == "" {
		if !known {
			return ns, false, nil
		}
		ns.Name = configured
	}
	ns.InCluster = n.get("in_ccm")
	ns.Peer = n.get("crmd")
	ns.Join = n.get("join")
	ns.Expected = n.get("expected")
	for _, c := range n.children {
		switch c.name {
		case "transient_attributes":
			sets, err := p.attrSets(c, "instance_attributes", "")
			if err != nil {
				return ns, false, err
			}
			ns.Attributes = mergeMap(ns.Attributes, sets)
		case "lrm":
			for _, rs := range c.children {
				if rs.name != "lrm_resources" {
					continue
				}
				for _, lr := range rs.children {
					if lr.name != "lrm_resource" {
						continue
					}
					h, err := lrmResource(lr)
					if err != nil {
						return ns, false, err
					}
					ns.Resources = append(ns.Resources, h)
				}
			}
		}
	}
	return ns, true, nil
}

func lrmResource(n *node) (model.ResourceHistory, error) {
	var h model.ResourceHistory
	var err error
	if h.ID, err = required(n, "id"); err != nil {
		return h, err
	}
	h.Class, h.Provider, h.Type = n.get("class"), n.get("provider"), n.get("type")
	h.Container = n.get("container")
	if v := n.get("shutdown-lock"); v != "" {
		if t, err := strconv.ParseInt(v, 10, 64); err == nil {
			h.ShutdownLock = t
		}
	}
	for _, c := range n.children {
		if c.name != "lrm_rsc_op" {
			continue
		}
		op, err := lrmRscOp(c)
		if err != nil {
			return h, err
		}
		h.Ops = append(h.Ops, op)
	}
	return h, nil
}

// lrmRscOp reads one operation history entry. Numeric attributes that are
// absent read as zero.
func lrmRscOp(n *node) (model.OpRecord, error) {
	var o model.OpRecord
	var err error
	if o.ID, err = required(n, "id"); err != nil {
		return o, err
	}
	if o.Operation, err = required(n, "operation"); err != nil {
		return o, err
	}
	num := func(attr string) int64 {
		v, ok := n.attr(attr)
		if !ok || v == "" || err != nil {
			return 0
		}
		x, e := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if e != nil {
			err = invalid(n, attr, fmt.Errorf("%q is not an integer", v))
		}
		return x
	}
	o.Interval = num("interval")
	o.CallID = int(num("call-id"))
	o.RC = int(num("rc-code"))
	o.OpStatus = int(num("op-status"))
	o.LastRun = num("last-run")
	o.LastRCChange = num("last-rc-change")
	o.ExecTime = int(num("exec-time"))
	if err != nil {
		return o, err
	}
	o.TransitionKey = n.get("transition-key")
	if o.TargetRC, err = targetRC(o.TransitionKey); err != nil {
		return o, invalid(n, "transition-key", err)
	}
	o.Digest = n.get("op-digest")
	o.RestartDigest = n.get("op-restart-digest")
	o.SecureDigest = n.get("op-secure-digest")
	o.SecureParams = n.get("op-secure-params")
	o.FeatureSet = n.get("crm_feature_set")
	o.ForceRestart = n.get("op-force-restart")
	o.MigrateSource = n.get("migrate_source")
	o.MigrateTarget = n.get("migrate_target")
	o.OnNode = n.get("on_node")
	o.ExitReason = n.get("exit-reason")
	return o, nil
}

// targetRC returns the expected exit code recorded in a transition key
// ("action:transition:target_rc:uuid"); 0 when there is no key.
func targetRC(key string) (int, error) {
	if key == "" {
		return 0, nil
	}
	f := strings.SplitN(key, ":", 4)
	if len(f) < 4 {
		return 0, fmt.Errorf("%q is not action:transition:target_rc:uuid", key)
	}
	rc, err := strconv.Atoi(f[2])
	if err != nil {
		return 0, fmt.Errorf("%q: target rc %q is not a number", key, f[2])
	}
	return rc, nil
}

// ticketStates reads a status <tickets> section into dst (created when
// needed), as Pacemaker's unpack_tickets_state does: granted and standby
// are true only for a true value (anything else, or nothing, is false),
// and a later ticket_state with the same id replaces an earlier one's
// values attribute by attribute.
func ticketStates(sec *node, dst map[string]model.TicketState) map[string]model.TicketState {
	for _, t := range sec.children {
		id := t.get("id")
		if t.name != "ticket_state" || id == "" {
			continue
		}
		if dst == nil {
			dst = make(map[string]model.TicketState)
		}
		ts := dst[id]
		if v, ok := t.attr("granted"); ok {
			ts.Granted, _ = parseBool(v)
		}
		if v, ok := t.attr("standby"); ok {
			ts.Standby, _ = parseBool(v)
		}
		if v, ok := t.attr("last-granted"); ok {
			ts.LastGranted, _ = strconv.ParseInt(v, 10, 64)
		}
		dst[id] = ts
	}
	return dst
}
