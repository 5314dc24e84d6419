package store

import "github.com/paceline/paceline/internal/model"

// Options returns the cluster options of the current configuration,
// parsed once when it changed (model.ParseClusterOptions): the
// controller and the node runtime read them here.
func (s *Store) Options() model.ClusterOptions { return s.options }

// InMaintenance reports whether node's resources are unmanaged: the node
// is in maintenance (its maintenance attribute) or the whole cluster is
// (maintenance-mode). The node runtime decides its drain by it, the
// controller whether a lapsed lease proves anything stopped.
func (s *Store) InMaintenance(node string) bool {
	if s.options.MaintenanceMode {
		return true
	}
	m := s.members[node]
	return m != nil && isTrue(m.Attributes["maintenance"])
}

// NodeAttr returns one transient attribute of a member ("" and false when
// the member or the attribute does not exist), without copying the
// member: for watchers that look at one value on every change.
func (s *Store) NodeAttr(node, name string) (string, bool) {
	m := s.members[node]
	if m == nil {
		return "", false
	}
	v, ok := m.Attributes[name]
	return v, ok
}

// ShutdownAttr is the transient node attribute that asks a node to shut
// down (Pacemaker's "shutdown": the request's time in Unix seconds); the
// node's drain and `paceline node stop` set it, the leader deletes it when
// the node has left.
const ShutdownAttr = "shutdown"
