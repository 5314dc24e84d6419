package store

import (
	"fmt"
	"sort"
)

// Token is a replicated API token record: who may call the API with which
// role. It never holds the token itself, only its hash.
type Token struct {
	// ID is the token's public id (the middle part of "plt1.ID.SECRET").
	ID string `json:"id"`
	// Hash is the hex SHA-256 of the whole token. It is empty in a
	// revocation of a token kept outside the store (the bootstrap admin
	// token in each node's tokens file).
	Hash string `json:"hash,omitempty"`
	// Role is "viewer", "operator" or "admin" (empty with an empty Hash).
	Role string `json:"role,omitempty"`
	// Created is when the token was made, in Unix milliseconds.
	Created int64 `json:"created_ms,omitempty"`
	// Expires is the Unix second after which the token is refused (0:
	// never), as in pki.TokenRecord.
	Expires int64 `json:"expires,omitempty"`
	// Creator names who made it ("token:ID").
	Creator string `json:"creator,omitempty"`
	// Revoked is when the token was revoked, in Unix milliseconds (0: it
	// is not).
	Revoked int64 `json:"revoked_ms,omitempty"`
	// RevokedBy names who revoked it.
	RevokedBy string `json:"revoked_by,omitempty"`
}

// TokenAdd adds an API token record. Its ID must be new (revoked ids are
// never reused).
type TokenAdd struct {
	Token Token `json:"token"`
}

// TokenRevoke revokes the token ID. Revoking an id the store does not hold
// records a revocation for it, so a token kept outside the store (the
// bootstrap admin token) can be revoked cluster-wide too; revoking twice
// changes nothing.
type TokenRevoke struct {
	ID string `json:"id"`
	By string `json:"by,omitempty"`
	At int64  `json:"at_ms,omitempty"` // Unix milliseconds
}

func validTokenRole(r string) bool { return r == "viewer" || r == "operator" || r == "admin" }

func (s *Store) tokenAdd(c *TokenAdd) (bool, error) {
	t := c.Token
	switch {
	case t.ID == "":
		return false, fmt.Errorf("%w: token id", ErrEmptyName)
	case len(t.Hash) != 64:
		return false, fmt.Errorf("%w: token %s: hash must be 64 hex digits", ErrInvalidToken, t.ID)
	case !validTokenRole(t.Role):
		return false, fmt.Errorf("%w: token %s: role %q (want viewer, operator or admin)", ErrInvalidToken, t.ID, t.Role)
	case t.Revoked != 0:
		return false, fmt.Errorf("%w: token %s: a new token cannot be revoked", ErrInvalidToken, t.ID)
	}
	if s.tokens[t.ID] != nil {
		return false, fmt.Errorf("%w: %s", ErrTokenExists, t.ID)
	}
	s.tokens[t.ID] = &t
	return true, nil
}

func (s *Store) tokenRevoke(c *TokenRevoke) (bool, error) {
	if c.ID == "" {
		return false, fmt.Errorf("%w: token id", ErrEmptyName)
	}
	t := s.tokens[c.ID]
	if t == nil {
		t = &Token{ID: c.ID}
		s.tokens[c.ID] = t
	} else if t.Revoked != 0 {
		return false, nil
	}
	t.Revoked, t.RevokedBy = c.At, c.By
	if t.Revoked == 0 {
		t.Revoked = 1 // "revoked" even when the proposer gave no time
	}
	return true, nil
}

// Token returns a copy of the token record with the id.
func (s *Store) Token(id string) (Token, bool) {
	t := s.tokens[id]
	if t == nil {
		return Token{}, false
	}
	return *t, true
}

// Tokens returns copies of the token records, by id.
func (s *Store) Tokens() []Token {
	out := make([]Token, 0, len(s.tokens))
	for _, t := range s.tokens {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
