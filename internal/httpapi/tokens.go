package httpapi

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// API tokens live in two places, checked in this order:
//
//   - the replicated store (store.Token): every token made with
//     "paceline token create --role", and every revocation;
//   - each node's local tokens file (Config.Tokens): the bootstrap admin
//     token "paceline init" wrote, copied to a node when it joins.
//
// A revocation in the store applies to both, so the bootstrap token can be
// revoked cluster-wide once other admin tokens exist.

// maxAPITokenTTL caps an API token's lifetime when one is given.
const maxAPITokenTTL = 5 * 366 * 24 * time.Hour

// defaultAPITokenTTL is an API token's lifetime when the request names none.
const defaultAPITokenTTL = 30 * 24 * time.Hour

// authError is a refused token: its message is for the client, and it
// wraps the pki error saying why.
type authError struct {
	msg string
	err error
}

func (e *authError) Error() string { return e.msg }
func (e *authError) Unwrap() error { return e.err }

func refused(err error, format string, args ...any) error {
	return &authError{msg: fmt.Sprintf(format, args...), err: err}
}

// identify returns who holds tok at now. Its errors are shown to the
// client, so they name the token only once the secret has matched.
func (s *Server) identify(tok string, now time.Time) (pki.Principal, error) {
	id, err := pki.TokenID(tok)
	if err != nil {
		return pki.Principal{}, refused(err, "malformed token (want plt1.ID.SECRET)")
	}
	rec, inStore := s.cfg.Backend.Token(id)
	var p pki.Principal
	if inStore && rec.Hash != "" {
		if subtle.ConstantTimeCompare([]byte(pki.HashToken(tok)), []byte(rec.Hash)) != 1 {
			return pki.Principal{}, refused(pki.ErrUnknownToken, "unknown token")
		}
		if rec.Revoked == 0 && rec.Expires != 0 && now.Unix() > rec.Expires {
			return pki.Principal{}, refused(pki.ErrTokenExpired, "token %s expired at %s", id, time.Unix(rec.Expires, 0).UTC().Format(time.RFC3339))
		}
		p = pki.Principal{TokenID: id, Role: pki.Role(rec.Role)}
	} else {
		p, err = s.cfg.Tokens.Authenticate(tok, now)
		switch {
		case errors.Is(err, pki.ErrTokenExpired):
			return pki.Principal{}, refused(err, "token %s expired", id)
		case err != nil:
			return pki.Principal{}, refused(err, "unknown token")
		}
	}
	if inStore && rec.Revoked != 0 {
		return pki.Principal{}, refused(pki.ErrTokenRevoked, "token %s was revoked at %s by %s", id,
			time.UnixMilli(rec.Revoked).UTC().Format(time.RFC3339), orUnknown(rec.RevokedBy))
	}
	return p, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// createAPIToken makes a token of req.Role, stores its record (never the
// token) and answers the token, shown only this once.
func (s *Server) createAPIToken(w http.ResponseWriter, r *http.Request, p pki.Principal, req api.TokenRequest) error {
	role := pki.Role(req.Role)
	if !role.TokenRole() {
		return errorf(http.StatusBadRequest, "token role %q: want viewer, operator or admin", req.Role)
	}
	ttl := defaultAPITokenTTL
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d < 0 || d > maxAPITokenTTL {
			return errorf(http.StatusBadRequest, "ttl %q: want a duration up to %v (0: never expires)", req.TTL, maxAPITokenTTL)
		}
		ttl = d
	}
	now := s.cfg.Now()
	tok, rec, err := pki.NewToken(role, now, ttl)
	if err != nil {
		return err
	}
	if _, err := s.propose(r.Context(), store.NewTokenAdd(store.Token{ID: rec.ID, Hash: rec.Hash, Role: string(rec.Role),
		Created: now.UnixMilli(), Expires: rec.Expires, Creator: author(p)})); err != nil {
		return err
	}
	resp := api.TokenResponse{Token: tok, ID: rec.ID, Role: string(rec.Role)}
	if rec.Expires != 0 {
		resp.Expires = time.Unix(rec.Expires, 0).UTC()
	}
	writeJSON(w, http.StatusCreated, resp)
	return nil
}

// listTokens answers the store's token records and the local file's, without
// hashes.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	out := []api.TokenInfo{}
	for _, t := range s.cfg.Backend.Tokens() {
		if t.Hash == "" { // the revocation of a local token: listed below
			continue
		}
		out = append(out, tokenInfo(t, api.TokenSourceCluster))
	}
	if lister, ok := s.cfg.Tokens.(interface{ Records() []pki.TokenRecord }); ok {
		for _, rec := range lister.Records() {
			t := store.Token{ID: rec.ID, Role: string(rec.Role), Expires: rec.Expires}
			if st, ok := s.cfg.Backend.Token(rec.ID); ok {
				t.Revoked, t.RevokedBy = st.Revoked, st.RevokedBy
			}
			out = append(out, tokenInfo(t, api.TokenSourceLocal))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func tokenInfo(t store.Token, source string) api.TokenInfo {
	ti := api.TokenInfo{ID: t.ID, Role: t.Role, Source: source, Creator: t.Creator, RevokedBy: t.RevokedBy}
	if t.Created != 0 {
		ti.Created = time.UnixMilli(t.Created).UTC()
	}
	if t.Expires != 0 {
		ti.Expires = time.Unix(t.Expires, 0).UTC()
	}
	if t.Revoked != 0 {
		ti.Revoked = time.UnixMilli(t.Revoked).UTC()
	}
	return ti
}

// revokeToken revokes a token of the store or of the local file; 404 for
// an id neither knows.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p pki.Principal) error {
	id := r.PathValue("id")
	_, known := s.cfg.Backend.Token(id)
	if lister, ok := s.cfg.Tokens.(interface{ Records() []pki.TokenRecord }); ok && !known {
		for _, rec := range lister.Records() {
			known = known || rec.ID == id
		}
	}
	if !known {
		return errorf(http.StatusNotFound, "no token %q (paceline token list shows them)", id)
	}
	if _, err := s.propose(r.Context(), store.NewTokenRevoke(id, author(p), s.cfg.Now().UnixMilli())); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
