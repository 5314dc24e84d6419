package store

import (
	"fmt"
	"maps"
	"slices"

	"github.com/paceline/paceline/internal/model"
)

func (s *Store) nodeJoin(p *NodeJoin) (bool, error) {
	if p.Name == "" {
		return false, fmt.Errorf("%w: node name", ErrEmptyName)
	}
	if !p.Role.Valid() {
		return false, fmt.Errorf("%w: %q (want server, witness or client)", ErrInvalidRole, p.Role)
	}
	if m := s.members[p.Name]; m != nil {
		changed := m.Role != p.Role || m.Address != p.Address
		m.Role, m.Address = p.Role, p.Address
		return changed, nil
	}
	s.members[p.Name] = &Member{Name: p.Name, Role: p.Role, Address: p.Address, State: StateOffline}
	if s.configNode(p.Name) < 0 {
		s.commit(clone(s.config), Change{Author: "paceline", Message: fmt.Sprintf("node %s joined as %s", p.Name, p.Role), At: p.At})
	}
	return true, nil
}

func (s *Store) nodeLeave(p *NodeLeave) (bool, error) {
	if _, err := s.member(p.Name); err != nil {
		return false, err
	}
	delete(s.members, p.Name)
	if i := s.configNode(p.Name); i >= 0 {
		cfg := clone(s.config)
		cfg.Nodes = slices.Delete(cfg.Nodes, i, i+1)
		s.commit(cfg, Change{Author: "paceline", Message: fmt.Sprintf("node %s left", p.Name), At: p.At})
	}
	return true, nil
}

// configNode returns the index of the named node's configuration entry,
// or -1.
func (s *Store) configNode(name string) int {
	return slices.IndexFunc(s.config.Nodes, func(n model.Node) bool { return n.Name == name })
}

func (s *Store) nodeState(p *NodeState) (bool, error) {
	m, err := s.member(p.Name)
	if err != nil {
		return false, err
	}
	if !p.State.liveness() {
		return false, fmt.Errorf("%w: %q (want online, offline or unclean; standby and maintenance are node attributes)", ErrInvalidState, p.State)
	}
	changed := m.State != p.State || m.Lease != p.Lease
	m.State, m.Lease = p.State, p.Lease
	m.stateChanged()
	return changed, nil
}

func (s *Store) nodeBoot(p *NodeBoot) (bool, error) {
	m, err := s.member(p.Name)
	if err != nil {
		return false, err
	}
	if p.Boot == "" {
		return false, fmt.Errorf("%w: boot of node %q", ErrEmptyName, p.Name)
	}
	if m.Boot == p.Boot {
		return false, nil
	}
	m.Boot, m.Resources, m.Private = p.Boot, nil, nil
	return true, nil
}

func (s *Store) nodeAttrSet(p *NodeAttrSet) (bool, error) {
	m, err := s.member(p.Name)
	if err != nil {
		return false, err
	}
	for k := range p.Attrs {
		if k == "" {
			return false, fmt.Errorf("%w: attribute name on node %q", ErrEmptyName, p.Name)
		}
	}
	if p.Private {
		return setAttrs(&m.Private, p.Attrs), nil
	}
	return setAttrs(&m.Attributes, p.Attrs), nil
}

func setAttrs(to *map[string]string, attrs map[string]string) bool {
	changed := false
	for k, v := range attrs {
		if old, ok := (*to)[k]; ok && old == v {
			continue
		}
		if *to == nil {
			*to = map[string]string{}
		}
		(*to)[k] = v
		changed = true
	}
	return changed
}

func (s *Store) nodeAttrDelete(p *NodeAttrDelete) (bool, error) {
	m, err := s.member(p.Name)
	if err != nil {
		return false, err
	}
	attrs := m.Attributes
	if p.Private {
		attrs = m.Private
	}
	changed := false
	for _, k := range p.Attrs {
		if _, ok := attrs[k]; ok {
			delete(attrs, k)
			changed = true
		}
	}
	return changed, nil
}

// memberNames returns the members' names in order.
func (s *Store) memberNames() []string {
	names := make([]string, 0, len(s.members))
	for n := range s.members {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Members returns deep copies of every member, by name.
func (s *Store) Members() []Member {
	ms := make([]Member, 0, len(s.members))
	for _, n := range s.memberNames() {
		ms = append(ms, cloneMember(s.members[n]))
	}
	return ms
}

// Member returns a deep copy of the named member.
func (s *Store) Member(name string) (Member, bool) {
	m := s.members[name]
	if m == nil {
		return Member{}, false
	}
	return cloneMember(m), true
}

// Status returns the observed status as the scheduler reads it (a deep
// copy): one entry per member, by name, with its transient attributes and
// operation history. Liveness maps to Pacemaker's node state: online is a
// member in the cluster; offline a node that is down as expected; unclean
// a node that is down but expected up, which the scheduler fences.
// HaveQuorum, DC and Now are not replicated state: the caller (the
// controller on the leader) fills them in.
func (s *Store) Status() *model.Status {
	st := &model.Status{}
	for _, n := range s.memberNames() {
		st.Nodes = append(st.Nodes, s.members[n].NodeStatus())
	}
	return st
}

// NodeStatus returns the member as the scheduler reads it (a deep copy;
// see Store.Status for how liveness maps to Pacemaker's node state).
func (m *Member) NodeStatus() model.NodeStatus {
	ns := model.NodeStatus{
		Name:       m.Name,
		Attributes: maps.Clone(m.Attributes),
		Resources:  cloneHistory(m.Resources),
	}
	switch m.State {
	case StateOnline:
		ns.InCluster, ns.Peer, ns.Join, ns.Expected = "true", "online", "member", "member"
	case StateUnclean:
		ns.InCluster, ns.Peer, ns.Join, ns.Expected = "false", "offline", "down", "member"
	default:
		ns.InCluster, ns.Peer, ns.Join, ns.Expected = "false", "offline", "down", "down"
	}
	return ns
}

// MemberState returns the named member without its attributes and
// operation history (cheap to copy: what a look at its state, address or
// certificate needs).
func (s *Store) MemberState(name string) (Member, bool) {
	m := s.members[name]
	if m == nil {
		return Member{}, false
	}
	c := *m
	c.Attributes, c.Private, c.Resources = nil, nil, nil
	return c, true
}

// MemberStates returns every member without its attributes and operation
// history: what liveness bookkeeping needs, cheap to copy.
func (s *Store) MemberStates() []Member {
	ms := make([]Member, 0, len(s.members))
	for _, n := range s.memberNames() {
		m := *s.members[n]
		m.Attributes, m.Private, m.Resources = nil, nil, nil
		ms = append(ms, m)
	}
	return ms
}

// OpRecord returns a copy of the recorded operation of resource rsc on
// node with that name and interval (the newest, when the history holds a
// last and a last-failure entry of it).
func (s *Store) OpRecord(node, rsc, operation string, interval int64) (model.OpRecord, bool) {
	m := s.members[node]
	if m == nil {
		return model.OpRecord{}, false
	}
	var out model.OpRecord
	found := false
	for i := range m.Resources {
		if m.Resources[i].ID != rsc {
			continue
		}
		for _, op := range m.Resources[i].Ops {
			if op.Operation == operation && op.Interval == interval && (!found || op.CallID >= out.CallID) {
				out, found = op, true
			}
		}
	}
	return out, found
}

// cloneMember deep-copies a member without a JSON round trip (the
// controller and the API copy members often).
func cloneMember(m *Member) Member {
	c := *m
	c.Attributes = maps.Clone(m.Attributes)
	c.Private = maps.Clone(m.Private)
	c.Resources = cloneHistory(m.Resources)
	if m.Fenced != nil {
		f := *m.Fenced
		c.Fenced = &f
	}
	return c
}

// cloneHistory deep-copies operation histories (an OpRecord holds only
// values).
func cloneHistory(rs []model.ResourceHistory) []model.ResourceHistory {
	if rs == nil {
		return nil
	}
	out := make([]model.ResourceHistory, len(rs))
	for i := range rs {
		out[i] = rs[i]
		out[i].Ops = slices.Clone(rs[i].Ops)
	}
	return out
}

// Roles maps every member of ms to its role's name (for rules that count
// voters by role, such as fence.TwoNodeGate).
func Roles(ms []Member) map[string]string {
	roles := make(map[string]string, len(ms))
	for _, m := range ms {
		roles[m.Name] = string(m.Role)
	}
	return roles
}
