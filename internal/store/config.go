package store

import (
	"fmt"

	"github.com/paceline/paceline/internal/model"
)

func (s *Store) checkEpoch(expected uint64) error {
	if expected != s.config.Epoch {
		return fmt.Errorf("%w: expected %d, current %d", ErrEpochMismatch, expected, s.config.Epoch)
	}
	return nil
}

func (s *Store) configPut(p *ConfigPut) (bool, error) {
	if err := s.checkEpoch(p.ExpectedEpoch); err != nil {
		return false, err
	}
	s.commit(clone(p.Config), p.Change)
	return true, nil
}

func (s *Store) configRollback(p *ConfigRollback) (bool, error) {
	if err := s.checkEpoch(p.ExpectedEpoch); err != nil {
		return false, err
	}
	e := s.historyEntry(p.ToEpoch)
	if e == nil {
		return false, fmt.Errorf("%w: %d (kept: %s)", ErrUnknownEpoch, p.ToEpoch, s.keptEpochs())
	}
	ch := p.Change
	if ch.Message == "" {
		ch.Message = fmt.Sprintf("rollback to epoch %d", p.ToEpoch)
	}
	s.commit(clone(e.Config), ch)
	return true, nil
}

// commit makes cfg (owned by the store) the configuration of the next
// epoch and records it in the history.
func (s *Store) commit(cfg model.Config, ch Change) {
	cfg.Epoch = s.config.Epoch + 1
	s.config = cfg
	s.options = model.ParseClusterOptions(cfg.Properties)
	s.ensureMemberNodes()
	s.history = append(s.history, HistoryEntry{Epoch: cfg.Epoch, Config: clone(s.config), Change: ch})
	if over := len(s.history) - HistoryLimit; over > 0 {
		s.history = append([]HistoryEntry(nil), s.history[over:]...)
	}
}

// ensureMemberNodes gives every member without a node entry its default
// entry, in member name order.
func (s *Store) ensureMemberNodes() {
	have := make(map[string]bool, len(s.config.Nodes))
	for _, n := range s.config.Nodes {
		have[n.Name] = true
	}
	for _, name := range s.memberNames() {
		if !have[name] {
			s.config.Nodes = append(s.config.Nodes, defaultNode(s.members[name]))
		}
	}
}

// defaultNode is the configuration entry a member gets when it joins: a
// witness is a quorum-only node that runs nothing.
func defaultNode(m *Member) model.Node {
	n := model.Node{Name: m.Name, Type: model.NodeMember}
	if m.Role == RoleWitness {
		n.Type = model.NodePing
	}
	return n
}

func (s *Store) historyEntry(epoch uint64) *HistoryEntry {
	for i := range s.history {
		if s.history[i].Epoch == epoch {
			return &s.history[i]
		}
	}
	return nil
}

func (s *Store) keptEpochs() string {
	if len(s.history) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d..%d", s.history[0].Epoch, s.history[len(s.history)-1].Epoch)
}

// Config returns a deep copy of the current configuration; its Epoch is
// the current epoch, and every member has a node entry.
func (s *Store) Config() *model.Config {
	c := clone(s.config)
	return &c
}

// ConfigAt returns a deep copy of the configuration of a kept epoch, or
// ErrUnknownEpoch.
func (s *Store) ConfigAt(epoch uint64) (*model.Config, error) {
	e := s.historyEntry(epoch)
	if e == nil {
		return nil, fmt.Errorf("%w: %d (kept: %s)", ErrUnknownEpoch, epoch, s.keptEpochs())
	}
	c := clone(e.Config)
	return &c, nil
}

// History returns a deep copy of the kept history, oldest first (at most
// HistoryLimit entries).
func (s *Store) History() []HistoryEntry {
	return clone(s.history)
}
