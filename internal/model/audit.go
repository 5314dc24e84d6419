package model

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// AuditLink is what the audit log's hash chain covers of one entry: the
// store keeps entries, the API serves them, and both check the chain with
// AuditLink.Sum and VerifyAuditChain, so a client verifies with no help
// from the server.
type AuditLink struct {
	Seq                                         uint64
	AtMs                                        int64
	Token, Role, Source, Action, Detail, Result string
	// Prev is the Hash of the entry before; Hash is Sum of this entry.
	Prev, Hash string
}

// Sum is the hex SHA-256 of the entry's canonical encoding: the line
// "paceline-audit-v1" and then the JSON array [seq, at_ms, token, role,
// source, action, detail, result, prev] as encoding/json writes it. Hash
// itself is not covered.
func (l AuditLink) Sum() string {
	b, err := json.Marshal([]any{l.Seq, l.AtMs, l.Token, l.Role, l.Source, l.Action, l.Detail, l.Result, l.Prev})
	if err != nil {
		panic(fmt.Sprintf("model: encode audit entry: %v", err)) // strings and integers only
	}
	sum := sha256.Sum256(append([]byte("paceline-audit-v1\n"), b...))
	return hex.EncodeToString(sum[:])
}

// ErrAuditChain is wrapped by VerifyAuditChain's errors.
var ErrAuditChain = errors.New("audit chain broken")

// VerifyAuditChain recomputes the chain of entries (oldest first) and
// returns an error wrapping ErrAuditChain naming the first bad entry, or
// nil. The first entry's Prev is taken on trust: it is the hash of an
// entry that is no longer kept.
func VerifyAuditChain(entries []AuditLink) error {
	for i, e := range entries {
		if e.Sum() != e.Hash {
			return fmt.Errorf("%w: entry %d (%s by token %s) does not match its hash: it was changed after it was written", ErrAuditChain, e.Seq, e.Action, e.Token)
		}
		if i == 0 {
			continue
		}
		p := entries[i-1]
		if e.Seq != p.Seq+1 {
			return fmt.Errorf("%w: entry %d follows entry %d: entries are missing", ErrAuditChain, e.Seq, p.Seq)
		}
		if e.Prev != p.Hash {
			return fmt.Errorf("%w: entry %d does not chain to entry %d (prev hash differs)", ErrAuditChain, e.Seq, p.Seq)
		}
	}
	return nil
}
