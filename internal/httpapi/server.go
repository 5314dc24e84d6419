package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// MaxBodyBytes is the default limit on a request body.
const MaxBodyBytes = 1 << 20

// Config configures a Server.
type Config struct {
	// Backend is the cluster state (required).
	Backend Backend
	// Tokens authenticates API tokens (required).
	Tokens Authenticator
	// Join issues join tokens (nil: POST /v1/tokens answers 501).
	Join JoinIssuer
	// Now is the clock (default time.Now).
	Now func() time.Time
	// MaxBodyBytes limits request bodies (default MaxBodyBytes).
	MaxBodyBytes int64
	// ProposeTimeout bounds one write (default 10s).
	ProposeTimeout time.Duration
	// Logger receives one line per refused authentication and per failed
	// proposal (default: discard).
	Logger *slog.Logger
}

// Server is the /v1 API handler.
type Server struct {
	cfg Config
	mux *http.ServeMux
}

// New returns a server; it panics without a Backend or Tokens, which is a
// wiring bug.
func New(cfg Config) *Server {
	if cfg.Backend == nil || cfg.Tokens == nil {
		panic("httpapi: Config needs a Backend and Tokens")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = MaxBodyBytes
	}
	if cfg.ProposeTimeout == 0 {
		cfg.ProposeTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	s.routes()
	return s
}

type handler func(w http.ResponseWriter, r *http.Request, p pki.Principal) error

func (s *Server) routes() {
	viewer, operator, admin := pki.RoleViewer, pki.RoleOperator, pki.RoleAdmin
	s.handle("GET /v1/status", viewer, s.getStatus)
	s.handle("GET /v1/resources", viewer, s.listResources)
	s.handle("GET /v1/resources/{id}", viewer, s.getResource)
	s.handle("POST /v1/resources", admin, s.createResource)
	s.handle("PUT /v1/resources/{id}", admin, s.updateResource)
	s.handle("DELETE /v1/resources/{id}", admin, s.deleteResource)
	s.handle("POST /v1/resources/{id}/cleanup", operator, s.cleanupResource)
	s.handle("GET /v1/nodes", viewer, s.listNodes)
	s.handle("PUT /v1/nodes/{name}/attributes", operator, s.setNodeAttributes)
	s.handle("DELETE /v1/nodes/{name}", admin, s.removeNode)
	s.handle("POST /v1/constraints", admin, s.addConstraint)
	s.handle("DELETE /v1/constraints/{id}", admin, s.removeConstraint)
	s.handle("GET /v1/properties", viewer, s.listProperties)
	s.handle("GET /v1/properties/{name}", viewer, s.getProperty)
	s.handle("PUT /v1/properties/{name}", admin, s.setProperty)
	s.handle("GET /v1/config", viewer, s.getConfig)
	s.handle("POST /v1/config", admin, s.applyConfig)
	s.handle("GET /v1/events", viewer, s.events)
	s.handle("POST /v1/tokens", admin, s.createToken)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.authenticate(w, r); ok {
			writeError(w, errorf(http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
		}
	})
}

// handle registers h behind authentication and a role check.
func (s *Server) handle(pattern string, need pki.Role, h handler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		if !p.Role.Permits(need) {
			writeError(w, errorf(http.StatusForbidden, "token %s has role %s; this needs %s", p.TokenID, p.Role, need))
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		}
		// Read your writes: a client that saw epoch N (from another node,
		// or from a write this node forwarded) is answered from a copy at
		// least that new.
		if v := r.Header.Get("Paceline-Min-Epoch"); v != "" {
			min, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				writeError(w, errorf(http.StatusBadRequest, "header Paceline-Min-Epoch: %q is not an epoch", v))
				return
			}
			s.catchUp(r.Context(), min)
		}
		if err := h(w, r, p); err != nil {
			writeError(w, err)
		}
	})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// authenticate answers 401 and returns false unless the request carries a
// valid bearer token.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (pki.Principal, bool) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="paceline"`)
		writeError(w, errorf(http.StatusUnauthorized, "missing bearer token (Authorization: Bearer TOKEN)"))
		return pki.Principal{}, false
	}
	p, err := s.cfg.Tokens.Authenticate(strings.TrimSpace(tok), s.cfg.Now())
	if err != nil {
		s.cfg.Logger.Warn("api authentication refused", "remote", r.RemoteAddr, "reason", err)
		w.Header().Set("WWW-Authenticate", `Bearer realm="paceline", error="invalid_token"`)
		writeError(w, errorf(http.StatusUnauthorized, "invalid or expired token"))
		return pki.Principal{}, false
	}
	return p, true
}

// httpError is an error with the status it answers.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var he *httpError
	if errors.As(err, &he) {
		status = he.status
	}
	writeJSON(w, status, api.Error{Message: err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// readBody reads the whole (limited) body: 413 when over the limit.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errorf(http.StatusRequestEntityTooLarge, "request body over %d bytes", mbe.Limit)
		}
		return nil, errorf(http.StatusBadRequest, "read request body: %v", err)
	}
	return b, nil
}

// decodeJSON decodes the body into v strictly: one JSON value, no unknown
// fields (400 naming the field), within the size limit (413).
func decodeJSON(r *http.Request, v any) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return errorf(http.StatusBadRequest, "empty request body")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := strings.TrimPrefix(err.Error(), "json: ")
		return errorf(http.StatusBadRequest, "bad request body: %s", msg)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "bad request body: data after the JSON value")
	}
	return nil
}

// proposeErr maps a consensus failure and a store rejection to one error.
func (s *Server) propose(ctx context.Context, cmd store.Command) (store.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ProposeTimeout)
	defer cancel()
	res, err := s.cfg.Backend.Propose(ctx, cmd)
	if err != nil {
		s.cfg.Logger.Warn("api proposal failed", "type", cmd.Type, "err", err)
		return res, errorf(http.StatusServiceUnavailable, "change not committed: %v", err)
	}
	if res.Err != nil {
		if errors.Is(res.Err, store.ErrEpochMismatch) {
			return res, errorf(http.StatusConflict, "%v", res.Err)
		}
		return res, errorf(http.StatusBadRequest, "%v", res.Err)
	}
	return res, nil
}

func setEpoch(w http.ResponseWriter, epoch uint64) {
	w.Header().Set("Paceline-Epoch", strconv.FormatUint(epoch, 10))
}

// author names the principal in the configuration history.
func author(p pki.Principal) string { return "token:" + p.TokenID }
