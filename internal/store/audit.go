package store

import (
	"fmt"

	"github.com/paceline/paceline/internal/model"
)

// AuditLimit is how many audit entries the store keeps (the newest). The
// chain continues across the cap: the oldest kept entry's Prev is the hash
// of the last dropped one.
const AuditLimit = 10000

// AuditEntry is one change request as the API saw it. Entries form a hash
// chain: Prev is the Hash of the entry before (empty for the very first),
// and Hash is AuditHash of the entry's other fields, so editing a stored
// entry is detected by VerifyAudit.
type AuditEntry struct {
	// Seq numbers the entries from 1, without gaps.
	Seq uint64 `json:"seq"`
	// At is when the API answered, in Unix milliseconds (proposer's clock).
	At int64 `json:"at_ms"`
	// Token and Role are the caller's token id and role.
	Token string `json:"token,omitempty"`
	Role  string `json:"role,omitempty"`
	// Source is the caller's network address.
	Source string `json:"source,omitempty"`
	// Action is the request ("POST /v1/resources").
	Action string `json:"action"`
	// Detail is the request body with secret values masked.
	Detail string `json:"detail,omitempty"`
	// Result is "ok" or the error the caller got.
	Result string `json:"result"`
	// Prev is the previous entry's Hash.
	Prev string `json:"prev,omitempty"`
	// Hash is AuditHash(entry).
	Hash string `json:"hash"`
}

// AuditAppend appends an entry; Apply numbers it and chains it (the
// payload's Seq, Prev and Hash are ignored).
type AuditAppend struct {
	Entry AuditEntry `json:"entry"`
	// Quiet records the entry of a node attribute write: its append is a
	// quiet change (Result.Quiet), or every audited write, unchanged or
	// private, would wake the controller, which plans nothing from an
	// audit entry (the write, when it changed what the scheduler reads,
	// wakes it by itself).
	Quiet bool `json:"quiet,omitempty"`
}

// link is what the hash chain covers of e.
func (e AuditEntry) link() model.AuditLink {
	return model.AuditLink{Seq: e.Seq, AtMs: e.At, Token: e.Token, Role: e.Role, Source: e.Source,
		Action: e.Action, Detail: e.Detail, Result: e.Result, Prev: e.Prev, Hash: e.Hash}
}

// AuditHash is the hex SHA-256 of the entry's canonical encoding
// (model.AuditLink.Sum; api.VerifyAudit recomputes it the same way). Hash
// itself is not covered.
func AuditHash(e AuditEntry) string { return e.link().Sum() }

func (s *Store) auditAppend(c *AuditAppend) (bool, error) {
	e := c.Entry
	if e.Action == "" {
		return false, fmt.Errorf("%w: audit entry without an action", ErrMalformed)
	}
	e.Seq, e.Prev = 1, ""
	if n := len(s.audit); n > 0 {
		e.Seq, e.Prev = s.audit[n-1].Seq+1, s.audit[n-1].Hash
	}
	e.Hash = AuditHash(e)
	s.audit = append(s.audit, e)
	if over := len(s.audit) - AuditLimit; over > 0 {
		s.audit = append([]AuditEntry(nil), s.audit[over:]...)
	}
	return true, nil
}

// Audit returns a copy of the kept audit entries, oldest first.
func (s *Store) Audit() []AuditEntry {
	return append([]AuditEntry(nil), s.audit...)
}

// VerifyAudit recomputes the chain of entries (oldest first) and returns
// an error wrapping ErrAuditChain that names the first bad entry, or nil.
// The first entry's Prev is taken on trust: it is the hash of an entry
// that is no longer kept.
func VerifyAudit(entries []AuditEntry) error {
	links := make([]model.AuditLink, len(entries))
	for i, e := range entries {
		links[i] = e.link()
	}
	return model.VerifyAuditChain(links)
}
