package webui

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/pki"
)

// Sentinel errors.
var (
	// ErrNoSession is a request without a session (no cookie, an unknown
	// or expired session, one that ended earlier).
	ErrNoSession = errors.New("webui: no session")
	// ErrSessionEnded is a session whose token was refused just now
	// (revoked, expired): it wraps the reason.
	ErrSessionEnded = errors.New("webui: your session has ended")
	// ErrBadCSRF is a form posted without its CSRF token.
	ErrBadCSRF = errors.New("webui: missing or wrong CSRF token")
)

// Event is one cluster event the overview lists.
type Event struct {
	At time.Time
	// Kind says what happened ("node-lost", "resource-recovered", ...).
	Kind string
	// Node and Resource are what it happened to (either may be empty).
	Node, Resource string
	// Message says it in words.
	Message string
}

// Hooks are optional parts the UI shows only when they are connected.
type Hooks struct {
	// Events returns the newest n cluster events, newest first (the
	// replicated event log). Nil: the overview lists the audit log's
	// newest entries instead. Called from request goroutines.
	Events func(n int) []Event
	// Switchover asks the API, through c (the session's client, so with
	// its token, role check and audit), for a planned switchover of the
	// promotable resource id to node ("" lets the cluster choose). Nil:
	// no switchover button.
	Switchover func(ctx context.Context, c *api.Client, id, node string) error
}

// Config configures the UI.
type Config struct {
	// API is the /v1 API handler every read and action goes through, in
	// process, with the session's bearer token (required).
	API http.Handler
	// Identify returns who holds an API token now, or why it is refused
	// (unknown, expired, revoked). Required; called on every request.
	Identify func(token string) (pki.Principal, error)
	// IsSecret reports whether a parameter name holds a secret; its
	// value is masked on the resource page besides the parameters the
	// configuration marks secret (nil: only those).
	IsSecret func(name string) bool
	// Hooks are the optional events and switchover.
	Hooks Hooks
	// Now is the clock (default time.Now).
	Now func() time.Time
	// SessionTTL is how long a session lives after login (default 8h);
	// the token's own expiry or revocation ends it sooner.
	SessionTTL time.Duration
	// MaxSessions bounds the sessions kept (default 1000); the oldest
	// goes first.
	MaxSessions int
}

// UI is the /ui/ handler.
type UI struct {
	cfg   Config
	mux   *http.ServeMux
	pages map[string]*template.Template
	mu    sync.Mutex
	// sessions by id; guarded by mu.
	sessions map[string]*session
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// csp is the Content-Security-Policy of every answer: nothing but this
// origin's own files, no inline script or style, no framing.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// New returns the UI; it panics without API or Identify (a wiring bug).
func New(cfg Config) *UI {
	if cfg.API == nil || cfg.Identify == nil {
		panic("webui: Config needs API and Identify")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	if cfg.MaxSessions == 0 {
		cfg.MaxSessions = 1000
	}
	if cfg.IsSecret == nil {
		cfg.IsSecret = func(string) bool { return false }
	}
	u := &UI{cfg: cfg, mux: http.NewServeMux(), pages: parsePages(), sessions: map[string]*session{}}
	static, _ := fs.Sub(staticFS, "static")
	u.mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static)))
	u.mux.HandleFunc("GET /ui/login", u.loginForm)
	u.mux.HandleFunc("POST /ui/login", u.login)
	u.mux.HandleFunc("POST /ui/logout", u.withSession(u.logout))
	u.mux.HandleFunc("GET /ui/{$}", u.withSession(u.overview))
	u.mux.HandleFunc("GET /ui/resources/{id}", u.withSession(u.resourcePage))
	u.mux.HandleFunc("GET /ui/nodes/{name}", u.withSession(u.nodePage))
	u.mux.HandleFunc("GET /ui/events", u.withSession(u.events))
	u.mux.HandleFunc("POST /ui/action", u.withSession(u.action))
	u.mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		u.fail(w, r, nil, http.StatusNotFound, "no such page: "+r.Method+" "+r.URL.Path)
	})
	return u
}

// ServeHTTP implements http.Handler.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	u.mux.ServeHTTP(w, r)
}

// parsePages parses each page with the layout it is shown in.
func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{"when": when, "ms": ms, "join": join, "roleClass": roleClass, "stateClass": stateClass,
		"on": isTrue, "act": act}
	pages := map[string]*template.Template{}
	for _, name := range []string{"login", "overview", "resource", "node", "error"} {
		pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return pages
}
