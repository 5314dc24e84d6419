package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// The audit log. Every request to a route that needs operator or admin
// (a change) appends one store.AuditEntry after the handler answered: who
// (token id, role, source address), what (method and path, and the body
// with secret values masked), when, and the result ("ok" or the error the
// caller got). Requests refused with 403 (authenticated, not allowed) are
// recorded too; 401s are not, so that anyone who can reach the port cannot
// grow the replicated log. The entry is a second proposal after the
// change: if it cannot be committed the change stands and the failure is
// logged.

// maxAuditDetail bounds the recorded request body (masked).
const maxAuditDetail = 4096

// DefaultIsSecret reports whether a parameter or field name looks like it
// holds a secret: its value is masked in the audit log.
func DefaultIsSecret(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"password", "passwd", "secret", "token", "credential"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return n == "key" || strings.HasSuffix(n, "_key") || strings.HasSuffix(n, "-key") || strings.HasSuffix(n, "apikey")
}

// masked is what a secret value is recorded as.
const masked = "***"

// auditDetail returns body as recorded: JSON with the values of secret
// names masked (object keys, and {"name": N, "value": V} pairs as
// resource parameters are sent), cut at maxAuditDetail; anything else
// only by size and hash.
func (s *Server) auditDetail(body []byte) string {
	if len(bytes.TrimSpace(body)) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		sum := sha256.Sum256(body)
		return fmt.Sprintf("(%d bytes, not JSON; sha256 %s)", len(body), hex.EncodeToString(sum[:]))
	}
	b, err := json.Marshal(s.mask(v))
	if err != nil {
		return fmt.Sprintf("(%d bytes)", len(body))
	}
	if len(b) > maxAuditDetail {
		return string(b[:maxAuditDetail]) + "...(cut)"
	}
	return string(b)
}

func (s *Server) mask(v any) any {
	switch v := v.(type) {
	case map[string]any:
		// A parameter marked secret (model.NV.Secret), or named like one.
		if secret, _ := v["secret"].(bool); secret {
			if _, has := v["value"]; has {
				v["value"] = masked
			}
		}
		if name, ok := v["name"].(string); ok && s.cfg.IsSecret(name) {
			if _, has := v["value"]; has {
				v["value"] = masked
			}
		}
		for k, x := range v {
			if s.cfg.IsSecret(k) {
				v[k] = masked
			} else {
				v[k] = s.mask(x)
			}
		}
	case []any:
		for i := range v {
			v[i] = s.mask(v[i])
		}
	}
	return v
}

// bodyTap copies what a handler reads from the request body, up to a
// bound, for the audit entry.
type bodyTap struct {
	io.ReadCloser
	buf bytes.Buffer
}

func (t *bodyTap) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	if room := 4*maxAuditDetail - t.buf.Len(); room > 0 {
		t.buf.Write(p[:min(n, room)])
	}
	return n, err
}

// record appends the audit entry of a change request that reached a
// handler (or was refused with 403: then err is that refusal).
func (s *Server) record(r *http.Request, p pki.Principal, body []byte, status int, err error) {
	result := "ok"
	switch {
	case err != nil:
		result = err.Error()
	case status >= 400:
		result = fmt.Sprintf("status %d", status)
	}
	e := store.AuditEntry{At: s.cfg.Now().UnixMilli(), Token: p.TokenID, Role: string(p.Role), Source: r.RemoteAddr,
		Action: r.Method + " " + r.URL.Path, Detail: s.auditDetail(body), Result: result}
	// The caller may have gone: the entry is still written.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.cfg.ProposeTimeout)
	defer cancel()
	// A node attribute write is recorded quietly: the write itself wakes
	// the controller when it changed an attribute the scheduler reads; an
	// unchanged one (ocf:heartbeat:mysql and PAF set their promotion
	// score at every monitor) or a private one must not, or every monitor
	// aborted the transition under way (a promotion never got past its
	// pre-promote notifications).
	quiet := r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/attributes")
	res, perr := s.cfg.Backend.Propose(ctx, store.NewAuditAppend(store.AuditAppend{Entry: e, Quiet: quiet}))
	if perr == nil {
		perr = res.Err
	}
	if perr != nil {
		s.cfg.Logger.Error("audit entry not recorded", "action", e.Action, "token", e.Token, "result", e.Result, "err", perr)
	}
}

// getAudit answers the kept audit entries, oldest first. Viewers may read
// it: it holds no secret values.
func (s *Server) getAudit(w http.ResponseWriter, r *http.Request, _ pki.Principal) error {
	entries := s.cfg.Backend.Audit()
	out := api.AuditLog{Entries: make([]api.AuditEntry, 0, len(entries))}
	for _, e := range entries {
		out.Entries = append(out.Entries, api.AuditEntry{Seq: e.Seq, At: time.UnixMilli(e.At).UTC(), AtMs: e.At,
			Token: e.Token, Role: e.Role, Source: e.Source, Action: e.Action, Detail: e.Detail, Result: e.Result,
			Prev: e.Prev, Hash: e.Hash})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
