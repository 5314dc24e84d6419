package store

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
