package events

import (
	"slices"
	"strconv"
	"strings"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/store"
)

// View is what the recorder compares: the parts of the replicated state
// events are made of, as one node sees them at one moment. Build one with
// FromStatus; tests write them by hand.
type View struct {
	// Self is the observing node (quorum events name it).
	Self string
	// Leader is the Raft leader this node follows ("" during an election
	// or without quorum); Quorum whether its partition has quorum.
	Leader string
	Quorum bool
	// Epoch is the configuration epoch; Who and Message its change's
	// author and message.
	Epoch   uint64
	Who     string
	Message string
	// Nodes are the members by name.
	Nodes map[string]Node
	// Resources are the primitives by id.
	Resources map[string]Resource
	// Failures are the kept last failures by FailureKey.
	Failures map[string]Failure
}

// Node is a member in a View.
type Node struct {
	// State is the stored liveness: online, offline or unclean.
	State store.State
	// Shutdown is set while the node drains (its shutdown attribute).
	Shutdown bool
}

// Resource is a primitive in a View.
type Resource struct {
	// Clone is set for a clone's primitive (instances are per node).
	Clone bool
	// Address is a virtual IP's address.
	Address string
	// Instances are the active instances by node.
	Instances map[string]Instance
}

// Instance is one active instance of a primitive.
type Instance struct {
	// Role is Started, Promoted, Unpromoted or Failed.
	Role string
	// Via is the last one-shot operation recorded on the node
	// (migrate_from for an instance that arrived by live migration).
	Via string
}

// Failure is a resource's kept last failure on a node.
type Failure struct {
	Resource, Node, Operation string
	Interval                  int64
	RC, CallID                int
	// At is when the result changed, in Unix seconds (0 unknown).
	At     int64
	Reason string
}

// FailureKey identifies a failure's record: resource, node, operation and
// interval.
func FailureKey(f Failure) string {
	return f.Resource + "|" + f.Node + "|" + f.Operation + "|" + strconv.FormatInt(f.Interval, 10)
}

// FromStatus builds the view of st (httpapi.BuildStatus of this node's
// copy of the state) for node self; members give the operation histories
// (how an instance arrived), who and message the current epoch's change.
func FromStatus(self string, st api.Status, members []store.Member, who, message string) View {
	v := View{Self: self, Leader: st.Leader, Quorum: st.Quorum, Epoch: st.Epoch, Who: who, Message: message,
		Nodes: map[string]Node{}, Resources: map[string]Resource{}, Failures: map[string]Failure{}}
	via := map[[2]string]string{} // node, resource -> last one-shot op
	for i := range members {
		m := &members[i]
		_, shutdown := m.Attributes["shutdown"]
		v.Nodes[m.Name] = Node{State: m.State, Shutdown: shutdown}
		for _, rh := range m.Resources {
			best := -1
			for _, op := range rh.Ops {
				if op.Interval == 0 && op.Operation != "monitor" && op.CallID > best && !strings.HasSuffix(op.ID, "_last_failure_0") {
					best, via[[2]string{m.Name, model.BaseID(rh.ID)}] = op.CallID, op.Operation
				}
			}
		}
	}
	clones := map[string]bool{}
	parent := map[string]string{}
	for _, c := range st.Collectives {
		clones[c.ID] = c.Kind == "clone"
		parent[c.ID] = c.Parent
	}
	for _, rs := range st.Resources {
		r := Resource{Address: rs.Address, Instances: map[string]Instance{}}
		for p := rs.Parent; p != ""; p = parent[p] {
			r.Clone = r.Clone || clones[p]
		}
		for _, in := range rs.Instances {
			r.Instances[in.Node] = Instance{Role: in.Role, Via: via[[2]string{in.Node, rs.ID}]}
		}
		v.Resources[rs.ID] = r
	}
	for _, fa := range st.FailedActions {
		f := Failure{Resource: model.BaseID(fa.Resource), Node: fa.Node, Operation: fa.Operation, Interval: fa.Interval,
			RC: fa.ExitCode, CallID: fa.CallID, Reason: fa.ExitReason}
		if f.Reason == "" && fa.Status != "complete" {
			f.Reason = fa.Status
		}
		if f.Reason == "" {
			f.Reason = "unexpected result '" + model.ExitCodeName(fa.ExitCode) + "'"
		}
		if !fa.At.IsZero() {
			f.At = fa.At.Unix()
		}
		v.Failures[FailureKey(f)] = f
	}
	return v
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
