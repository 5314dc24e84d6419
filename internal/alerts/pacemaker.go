package alerts

import (
	"fmt"
	"strconv"
	"time"

	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/store"
)

// PacemakerVersion is what CRM_alert_version says: the Pacemaker release
// whose alert interface Paceline follows.
const PacemakerVersion = "2.1.5"

// crmAlert is an event as a Pacemaker alert agent sees it.
type crmAlert struct {
	kind     string // node, fencing, resource
	node     string
	desc     string
	task     string
	rsc      string
	interval int64
	rc       int
}

// pacemakerAlert maps an event onto Pacemaker's alert kinds, as
// pacemaker-controld and pacemaker-fenced would have sent it: a node that
// is a "member" or "lost", a fencing operation, a resource operation with
// its node and result. ok is false for events Pacemaker has no alert for
// (quorum, leader, configuration, VIP moves: the resource's own event says
// it); they reach a script only when its alert names them, as kind
// "paceline" (Pacemaker's samples log them as unhandled).
func pacemakerAlert(e store.Event) (a crmAlert, ok bool) {
	switch e.Kind {
	case store.EventNodeOnline, store.EventNodeBack, store.EventNodeJoined:
		return crmAlert{kind: "node", node: e.Node, desc: "member"}, true
	case store.EventNodeLost, store.EventNodeOffline, store.EventNodeLeft:
		return crmAlert{kind: "node", node: e.Node, desc: "lost"}, true
	case store.EventNodeFenced:
		return crmAlert{kind: "fencing", node: e.Node, task: "off",
			desc: fmt.Sprintf("Operation off of %s by paceline for paceline: OK (%s)", e.Node, e.Detail)}, true
	case store.EventResourceStarted:
		return crmAlert{kind: "resource", node: e.Node, rsc: e.Resource, task: "start", desc: "ok"}, true
	case store.EventResourceStopped:
		return crmAlert{kind: "resource", node: e.Node, rsc: e.Resource, task: "stop", desc: "ok"}, true
	case store.EventRecovered, store.EventMoved:
		return crmAlert{kind: "resource", node: e.To, rsc: e.Resource, task: "start", desc: "ok"}, true
	case store.EventMigrated:
		return crmAlert{kind: "resource", node: e.To, rsc: e.Resource, task: "migrate_from", desc: "ok"}, true
	case store.EventPromoted:
		return crmAlert{kind: "resource", node: e.Node, rsc: e.Resource, task: "promote", desc: "ok"}, true
	case store.EventDemoted:
		return crmAlert{kind: "resource", node: e.Node, rsc: e.Resource, task: "demote", desc: "ok"}, true
	case store.EventResourceFailed:
		desc := model.ExitCodeName(e.RC)
		if e.Reason != "" && e.Reason != desc {
			desc += " (" + e.Reason + ")"
		}
		return crmAlert{kind: "resource", node: e.Node, rsc: e.Resource, task: e.Operation, interval: e.Interval,
			rc: e.RC, desc: desc}, true
	}
	desc := string(e.Kind)
	for _, s := range []string{e.Detail, e.Reason} {
		if s != "" {
			desc += ": " + s
		}
	}
	return crmAlert{kind: "paceline", node: e.Node, rsc: e.Resource, desc: desc}, false
}

// Environment returns the CRM_alert_* variables (and their CRM_notify_*
// twins, as Pacemaker also sets them for ClusterMon-era scripts) for
// event e delivered to recipient as this node's seq-th alert.
func Environment(e store.Event, recipient string, seq uint64) []string {
	a, _ := pacemakerAlert(e)
	at := time.UnixMilli(e.At)
	vars := [][2]string{
		{"kind", a.kind},
		{"version", PacemakerVersion},
		{"recipient", recipient},
		{"node_sequence", strconv.FormatUint(seq, 10)},
		// Pacemaker's default timestamp-format, %H:%M:%S.%06N.
		{"timestamp", at.Format("15:04:05.000000")},
		{"timestamp_epoch", strconv.FormatInt(at.Unix(), 10)},
		{"timestamp_usec", strconv.FormatInt(int64(at.Nanosecond()/1000), 10)},
		{"node", a.node},
		{"desc", a.desc},
	}
	switch a.kind {
	case "node":
		vars = append(vars, [2]string{"nodeid", a.node})
	case "fencing":
		vars = append(vars, [2]string{"task", a.task}, [2]string{"rc", "0"})
	case "resource":
		vars = append(vars, [2]string{"rsc", a.rsc}, [2]string{"task", a.task},
			[2]string{"interval", strconv.FormatInt(a.interval, 10)}, [2]string{"rc", strconv.Itoa(a.rc)},
			[2]string{"target_rc", "0"}, [2]string{"status", "0"})
	default:
		vars = append(vars, [2]string{"rsc", a.rsc}, [2]string{"paceline_kind", string(e.Kind)})
	}
	env := make([]string, 0, 2*len(vars))
	for _, prefix := range []string{"CRM_alert_", "CRM_notify_"} {
		for _, v := range vars {
			env = append(env, prefix+v[0]+"="+v[1])
		}
	}
	return env
}
