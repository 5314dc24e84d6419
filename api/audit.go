package api

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/paceline/paceline/internal/model"
)

// AuditLog is GET /v1/audit: the kept entries, oldest first.
type AuditLog struct {
	Entries []AuditEntry `json:"entries"`
}

// AuditEntry is one change request as the API saw it. The entries form a
// hash chain (see VerifyAudit).
type AuditEntry struct {
	// Seq numbers the entries from 1 without gaps.
	Seq uint64 `json:"seq"`
	// At is when the API answered; AtMs is the same in Unix milliseconds,
	// as it is hashed.
	At   time.Time `json:"at"`
	AtMs int64     `json:"at_ms"`
	// Token and Role are the caller's token id and role; Source its
	// network address.
	Token  string `json:"token,omitempty"`
	Role   string `json:"role,omitempty"`
	Source string `json:"source,omitempty"`
	// Action is the request ("POST /v1/resources"); Detail the request
	// body with secret values masked ("***").
	Action string `json:"action"`
	Detail string `json:"detail,omitempty"`
	// Result is "ok" or the error the caller got.
	Result string `json:"result"`
	// Prev is the Hash of the entry before; Hash is the hex SHA-256 of
	// this entry's canonical encoding.
	Prev string `json:"prev,omitempty"`
	Hash string `json:"hash"`
}

// ErrAuditChain is wrapped by VerifyAudit's errors.
var ErrAuditChain = model.ErrAuditChain

// link is what the hash chain covers of e.
func (e AuditEntry) link() model.AuditLink {
	return model.AuditLink{Seq: e.Seq, AtMs: e.AtMs, Token: e.Token, Role: e.Role, Source: e.Source,
		Action: e.Action, Detail: e.Detail, Result: e.Result, Prev: e.Prev, Hash: e.Hash}
}

// AuditHash recomputes an entry's hash (model.AuditLink.Sum, the same as
// the server's): the hex SHA-256 of the line "paceline-audit-v1" followed
// by the JSON array [seq, at_ms, token, role, source, action, detail,
// result, prev].
func AuditHash(e AuditEntry) string { return e.link().Sum() }

// VerifyAudit recomputes the chain of entries (oldest first) and returns
// an error wrapping ErrAuditChain naming the first bad entry, or nil. The
// first entry's Prev is taken on trust (it names an entry no longer kept).
func VerifyAudit(entries []AuditEntry) error {
	links := make([]model.AuditLink, len(entries))
	for i, e := range entries {
		links[i] = e.link()
	}
	return model.VerifyAuditChain(links)
}

// Audit returns the cluster's kept audit entries, oldest first.
func (c *Client) Audit(ctx context.Context) (*AuditLog, error) {
	var l AuditLog
	return &l, c.call(ctx, http.MethodGet, "/v1/audit", nil, &l)
}

// CreateToken returns a new API token of role ("viewer", "operator",
// "admin") valid for ttl (0: never expires).
func (c *Client) CreateToken(ctx context.Context, role string, ttl time.Duration) (*TokenResponse, error) {
	var t TokenResponse
	return &t, c.call(ctx, http.MethodPost, "/v1/tokens", TokenRequest{Kind: TokenAPI, Role: role, TTL: ttl.String()}, &t)
}

// Tokens lists the API tokens (never the tokens themselves).
func (c *Client) Tokens(ctx context.Context) ([]TokenInfo, error) {
	var ts []TokenInfo
	return ts, c.call(ctx, http.MethodGet, "/v1/tokens", nil, &ts)
}

// RevokeToken revokes the API token id everywhere in the cluster.
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, "/v1/tokens/"+url.PathEscape(id), nil, nil)
}
