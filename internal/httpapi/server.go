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
	"sync/atomic"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
	"github.com/paceline/paceline/internal/webui"
)

// MaxBodyBytes is the default limit on a request body.
const MaxBodyBytes = 1 << 20

// Config configures a Server.
type Config struct {
	// Backend is the cluster state (required).
	Backend Backend
	// Tokens authenticates the API tokens kept in this node's tokens file
	// (required); tokens in the replicated store are checked first (see
	// tokens.go).
	Tokens Authenticator
	// IsSecret reports whether a parameter or field name holds a secret,
	// whose value the audit log masks (default DefaultIsSecret).
	IsSecret func(name string) bool
	// Join issues join tokens (nil: POST /v1/tokens answers 501).
	Join JoinIssuer
	// Agents lists this node's resource agents and reads their meta-data
	// (agentcatalog.Catalog). With it, creating or updating a primitive
	// checks it against its agent (unless ?force=true); nil: GET
	// /v1/agents answers 501 and nothing is checked. Server.SetAgents
	// sets it later (the agent classes may need the server first).
	Agents AgentCatalog
	// Now is the clock (default time.Now).
	Now func() time.Time
	// MaxBodyBytes limits request bodies (default MaxBodyBytes).
	MaxBodyBytes int64
	// ProposeTimeout bounds one write (default 10s).
	ProposeTimeout time.Duration
	// AuthFailures and AuthFailureWindow limit failed authentications per
	// source address: a burst of AuthFailures (default
	// DefaultAuthFailures), refilled over AuthFailureWindow (default
	// DefaultAuthFailureWindow); past it every request from that address
	// gets 429 with Retry-After. Successes are not counted.
	AuthFailures      int
	AuthFailureWindow time.Duration
	// Logger receives one line per refused authentication and per failed
	// proposal (default: discard).
	Logger *slog.Logger
	// Node is this node's name (paceline_is_leader, the report's log
	// endpoint). Optional.
	Node string
	// Metrics serves GET /metrics behind a viewer token (metrics.Set's
	// Handler; nil: 404).
	Metrics http.Handler
	// Info describes this node for GET /v1/node (nil: 404); Log is its
	// agent log for GET /v1/node/log (nil: 404). See report.go.
	Info func() api.NodeInfo
	Log  LogReader
	// UI connects the web UI's optional parts (the event log, the
	// switchover); the UI itself is always served at /ui/ (webui.go).
	UI webui.Hooks
	// Alerts checks alerts when they are added and delivers test events
	// (alerts.Deliverer; nil: no check, POST /v1/alerts/{id}/test
	// answers 501). See events.go.
	Alerts AlertChecker
}

// Server is the /v1 API handler.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	handler http.Handler // mux behind the failure limiter
	// agents holds the catalogue (Config.Agents, or SetAgents later).
	agents atomic.Pointer[agentsRef]
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
	if cfg.IsSecret == nil {
		cfg.IsSecret = DefaultIsSecret
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	s.routes()
	s.handler = newFailureLimiter(cfg.AuthFailures, cfg.AuthFailureWindow, cfg.Now).wrap(s.mux)
	return s
}

type handler func(w http.ResponseWriter, r *http.Request, p pki.Principal) error

func (s *Server) routes() {
	viewer, operator, admin := pki.RoleViewer, pki.RoleOperator, pki.RoleAdmin
	s.handle("GET /v1/status", viewer, s.getStatus)
	s.handle("GET /v1/resources", viewer, s.listResources)
	s.handle("GET /v1/resources/{id}", viewer, s.getResource)
	s.handle("GET /v1/resources/{id}/operations", viewer, s.getOperations)
	s.handle("POST /v1/resources", admin, s.createResource)
	s.handle("PUT /v1/resources/{id}", admin, s.updateResource)
	s.handle("DELETE /v1/resources/{id}", admin, s.deleteResource)
	s.handle("POST /v1/resources/{id}/cleanup", operator, s.cleanupResource)
	s.handle("POST /v1/resources/{id}/switchover", operator, s.switchover)
	s.handle("GET /v1/agents", viewer, s.listAgents)
	s.handle("GET /v1/agents/{agent}", viewer, s.describeAgent)
	s.handle("GET /v1/nodes", viewer, s.listNodes)
	s.handle("PUT /v1/nodes/{name}/attributes", operator, s.setNodeAttributes)
	s.handle("DELETE /v1/nodes/{name}", admin, s.removeNode)
	s.handle("POST /v1/constraints", operator, s.addConstraint) // admin unless move/ban (authz.go)
	s.handle("DELETE /v1/constraints/{id}", operator, s.removeConstraint)
	s.handle("GET /v1/properties", viewer, s.listProperties)
	s.handle("GET /v1/properties/{name}", viewer, s.getProperty)
	s.handle("PUT /v1/properties/{name}", admin, s.setProperty)
	s.handle("GET /v1/config", viewer, s.getConfig)
	s.handle("POST /v1/config", operator, s.applyConfig) // admin unless operational (authz.go)
	s.handle("GET /v1/config/history", viewer, s.getHistory)
	s.handle("POST /v1/config/rollback", admin, s.rollback)
	s.handle("GET /v1/events", viewer, s.events)
	s.handle("GET /v1/events/history", viewer, s.eventHistory)
	s.handle("GET /v1/alerts", viewer, s.listAlerts)
	s.handle("POST /v1/alerts", admin, s.putAlert)
	s.handle("DELETE /v1/alerts/{id}", admin, s.removeAlert)
	s.handle("POST /v1/alerts/{id}/test", operator, s.testAlert)
	s.handle("POST /v1/tokens", admin, s.createToken)
	s.handle("GET /v1/tokens", admin, s.listTokens)
	s.handle("DELETE /v1/tokens/{id}", admin, s.revokeToken)
	s.handle("GET /v1/audit", viewer, s.getAudit)
	s.handle("GET /v1/ca", viewer, s.getCA)
	s.handle("POST /v1/ca/rotate", admin, s.rotateCA)
	s.handle("GET /metrics", viewer, s.getMetrics)
	s.handle("GET /v1/fence/history", viewer, s.getFenceHistory)
	s.handle("GET /v1/fence/levels", viewer, s.getFenceLevels)
	s.handle("POST /v1/fence/levels", admin, s.addFenceLevel)
	s.handle("DELETE /v1/fence/levels/{target}/{index}", admin, s.removeFenceLevel)
	s.handle("GET /v1/fence/devices", viewer, s.getFenceDevices)
	s.handle("POST /v1/nodes/{name}/fence", admin, s.fenceNode)
	s.handle("POST /v1/nodes/{name}/confirm-down", admin, s.confirmDown)
	s.handle("GET /v1/node", viewer, s.getNode)
	s.handle("GET /v1/node/log", admin, s.getNodeLog)
	s.mux.Handle("/ui/", s.webUI())
	// Browsers ask for /favicon.ico on their own, without the session's
	// token: an empty answer, not a 401 that would count against the
	// address's failed authentications (a browser tab reloading the UI
	// would lock its operator out).
	s.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.authenticate(w, r); ok {
			writeError(w, errorf(http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
		}
	})
}

// handle registers h behind authentication and a role check (default
// deny: a route names the least role it needs). A route that needs more
// than viewer is a change: its requests are audited (audit.go).
func (s *Server) handle(pattern string, need pki.Role, h handler) {
	change := need != pki.RoleViewer
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		// Before authentication: a restarted node may not know a token
		// created while it was down yet.
		if f, ok := s.cfg.Backend.(Freshness); ok && !nodeLocal(pattern) {
			if err := f.Fresh(r.Context()); err != nil {
				w.Header().Set(api.HeaderRetryElsewhere, "1")
				writeError(w, errorf(http.StatusServiceUnavailable, "%v", err))
				return
			}
		}
		p, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		if !p.Role.Permits(need) {
			err := errorf(http.StatusForbidden, "%s has role %s; %s %s needs %s", who(p), p.Role, r.Method, r.URL.Path, need)
			writeError(w, err)
			if change {
				s.record(r, p, nil, http.StatusForbidden, err)
			}
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		}
		var herr error // the handler's error, for the audit entry
		if change {
			tap := &bodyTap{ReadCloser: r.Body}
			if r.Body != nil {
				r.Body = tap
			}
			sw := &statusRecorder{ResponseWriter: w}
			w = sw
			defer func() { s.record(r, p, tap.buf.Bytes(), sw.status, herr) }()
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
		if herr = h(w, r, p); herr != nil {
			writeError(w, herr)
		}
	})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// localKey is the context key under which ServeLocal passes its
// principal. The type is unexported, so nothing outside this package (and
// nothing that arrives over the network) can set it.
type localKey struct{}

// localPrefix starts the TokenID of a local principal. Token ids are
// base64url (pki.NewToken) and never contain ':', so no token can be
// taken for one.
const localPrefix = "local:"

// LocalPrincipal is an in-process caller for ServeLocal: name says who it
// is (e.g. "uid=0@n1" for a root process on node n1's local socket), role
// what it may do. Its TokenID is "local:NAME", which the audit log and the
// configuration history record as its author.
func LocalPrincipal(name string, role pki.Role) pki.Principal {
	return pki.Principal{TokenID: localPrefix + name, Role: role}
}

// ServeLocal serves r as p, for an in-process caller that has
// authenticated its client itself (the daemon's local socket): the same
// routes, role checks (403 when p's role is too low), body limits and
// audit entries as ServeHTTP, without a bearer token; an Authorization
// header is ignored. p must come from LocalPrincipal (500 otherwise).
// r.RemoteAddr is recorded as the audit entry's source: set it to say
// where the request came from (e.g. "unix:/var/lib/paceline/compat.sock");
// empty, it is "local". It blocks until the handler has answered.
func (s *Server) ServeLocal(w http.ResponseWriter, r *http.Request, p pki.Principal) {
	if !strings.HasPrefix(p.TokenID, localPrefix) {
		writeError(w, errorf(http.StatusInternalServerError, "httpapi: ServeLocal with %q, not a local principal", p.TokenID))
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), localKey{}, p))
	if r.RemoteAddr == "" {
		r.RemoteAddr = "local"
	}
	// Not through the failure limiter: a local request never fails to
	// authenticate.
	s.mux.ServeHTTP(w, r)
}

// authenticate answers 401 and returns false unless the request carries a
// valid bearer token or was passed in by ServeLocal.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (pki.Principal, bool) {
	if p, ok := r.Context().Value(localKey{}).(pki.Principal); ok {
		return p, true
	}
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="paceline"`)
		writeError(w, errorf(http.StatusUnauthorized, "missing bearer token (Authorization: Bearer TOKEN)"))
		return pki.Principal{}, false
	}
	p, err := s.identify(strings.TrimSpace(tok), s.cfg.Now())
	if err != nil {
		s.cfg.Logger.Warn("api authentication refused", "remote", r.RemoteAddr, "reason", err)
		w.Header().Set("WWW-Authenticate", `Bearer realm="paceline", error="invalid_token"`)
		writeError(w, errorf(http.StatusUnauthorized, "%v", err))
		return pki.Principal{}, false
	}
	return p, true
}

// httpError is an error with the status it answers.
type httpError struct {
	status  int
	msg     string
	wrapped error // a sentinel the message wraps (optional)
}

func (e *httpError) Error() string { return e.msg }

func (e *httpError) Unwrap() error { return e.wrapped }

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

// decodeJSON decodes the body into v strictly (see api.DecodeJSON): one
// JSON value within api.DefaultLimits (depth, items, values), no unknown
// fields (400 naming the field's path), within the size limit (413).
func decodeJSON(r *http.Request, v any) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return errorf(http.StatusBadRequest, "empty request body")
	}
	if err := api.DecodeJSON(b, v, api.DefaultLimits()); err != nil {
		return errorf(http.StatusBadRequest, "bad request body: %v", err)
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

// author names the principal in the configuration history: "token:ID",
// or a local principal's "local:NAME".
func author(p pki.Principal) string {
	if strings.HasPrefix(p.TokenID, localPrefix) {
		return p.TokenID
	}
	return "token:" + p.TokenID
}

// who names the principal in error messages: "token ID", or "local caller
// local:NAME".
func who(p pki.Principal) string {
	if strings.HasPrefix(p.TokenID, localPrefix) {
		return "local caller " + p.TokenID
	}
	return "token " + p.TokenID
}
