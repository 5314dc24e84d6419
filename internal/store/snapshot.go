package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/paceline/paceline/internal/model"
)

// snapshotVersion is the snapshot format version.
const snapshotVersion = 1

// snapshot is the encoded whole state. Members are sorted by name, so the
// encoding of a state is unique: equal states give equal bytes.
type snapshot struct {
	Version int            `json:"v"`
	Config  model.Config   `json:"config"`
	History []HistoryEntry `json:"history,omitempty"`
	Members []Member       `json:"members,omitempty"`
	Tokens  []Token        `json:"tokens,omitempty"`
	Audit   []AuditEntry   `json:"audit,omitempty"`
	Revoked []Revocation   `json:"revoked,omitempty"`
	CA      *CA            `json:"ca,omitempty"`
	Fences  []FenceEntry   `json:"fences,omitempty"`
	// FenceSeq is the last fence entry's number.
	FenceSeq uint64  `json:"fence_seq,omitempty"`
	Events   []Event `json:"events,omitempty"`
	Alerts   []Alert `json:"alerts,omitempty"`
}

// Snapshot encodes the whole state. Equal states encode to equal bytes.
func (s *Store) Snapshot() ([]byte, error) {
	snap := snapshot{Version: snapshotVersion, Config: s.config, History: s.history, Tokens: s.Tokens(), Audit: s.audit,
		Revoked: s.Revocations(), Fences: s.fences, FenceSeq: s.fenceSeq, Events: s.events, Alerts: s.Alerts()}
	if len(snap.Alerts) == 0 {
		snap.Alerts = nil
	}
	if len(snap.Revoked) == 0 {
		snap.Revoked = nil
	}
	if len(s.ca.Certs) > 0 {
		ca := s.CA()
		snap.CA = &ca
	}
	for _, n := range s.memberNames() {
		snap.Members = append(snap.Members, *s.members[n])
	}
	b, err := json.Marshal(snap)
	if err != nil {
		return nil, fmt.Errorf("store: encode snapshot: %w", err)
	}
	return b, nil
}

// Restore replaces the whole state with a snapshot's. On error the store
// is unchanged.
func (s *Store) Restore(b []byte) error {
	var snap snapshot
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&snap); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
	if snap.Version != snapshotVersion {
		return fmt.Errorf("%w: version %d (this node reads %d)", ErrBadSnapshot, snap.Version, snapshotVersion)
	}
	members := make(map[string]*Member, len(snap.Members))
	for i := range snap.Members {
		m := &snap.Members[i]
		if m.Name == "" || members[m.Name] != nil {
			return fmt.Errorf("%w: empty or duplicate member name %q", ErrBadSnapshot, m.Name)
		}
		members[m.Name] = m
	}
	if len(snap.History) > HistoryLimit {
		snap.History = snap.History[len(snap.History)-HistoryLimit:]
	}
	tokens := make(map[string]*Token, len(snap.Tokens))
	for i := range snap.Tokens {
		t := &snap.Tokens[i]
		if t.ID == "" || tokens[t.ID] != nil {
			return fmt.Errorf("%w: empty or duplicate token id %q", ErrBadSnapshot, t.ID)
		}
		tokens[t.ID] = t
	}
	if len(snap.Audit) > AuditLimit {
		snap.Audit = snap.Audit[len(snap.Audit)-AuditLimit:]
	}
	// The audit chain is not checked here: a tampered entry must stay
	// visible to VerifyAudit ("paceline audit --verify"), not vanish.
	var revoked map[string]Revocation
	for _, r := range snap.Revoked {
		if !validSerial(r.Serial) {
			return fmt.Errorf("%w: revoked serial %q", ErrBadSnapshot, r.Serial)
		}
		if revoked == nil {
			revoked = map[string]Revocation{}
		}
		revoked[r.Serial] = r
	}
	var ca CA
	if snap.CA != nil {
		ca = *snap.CA
		if len(ca.Certs) == 0 || len(ca.Certs) > MaxCAs {
			return fmt.Errorf("%w: CA state with %d certificates held by %q", ErrBadSnapshot, len(ca.Certs), ca.Holder)
		}
	}
	s.config, s.history, s.members, s.revoked, s.ca = snap.Config, snap.History, members, revoked, ca
	s.options = model.ParseClusterOptions(s.config.Properties)
	if len(snap.Fences) > FenceHistoryLimit {
		snap.Fences = snap.Fences[len(snap.Fences)-FenceHistoryLimit:]
	}
	s.fences, s.fenceSeq = snap.Fences, snap.FenceSeq
	if len(snap.Events) > EventLimit {
		snap.Events = snap.Events[len(snap.Events)-EventLimit:]
	}
	var alerts map[string]*Alert
	for i := range snap.Alerts {
		a := &snap.Alerts[i]
		if a.ID == "" || alerts[a.ID] != nil {
			return fmt.Errorf("%w: empty or duplicate alert id %q", ErrBadSnapshot, a.ID)
		}
		if alerts == nil {
			alerts = map[string]*Alert{}
		}
		alerts[a.ID] = a
	}
	s.tokens, s.audit, s.events, s.alerts = tokens, snap.Audit, snap.Events, alerts
	return nil
}

// clone returns a deep copy of a plain-data value by a JSON round trip.
// The store's values (model types, members, history) hold only strings,
// numbers, bools, slices, maps and pointers to those, so it cannot fail.
func clone[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("store: clone %T: %v", v, err))
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("store: clone %T: %v", v, err))
	}
	return out
}
