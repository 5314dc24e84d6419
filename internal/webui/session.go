package webui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/pki"
)

// Cookie names. The __Host- prefix makes browsers insist on Secure,
// Path=/ and no Domain.
const (
	sessionCookie = "__Host-paceline-session"
	loginCookie   = "__Host-paceline-login" // binds the login form's CSRF token
)

// maxFormBytes bounds a posted form.
const maxFormBytes = 64 << 10

// session is one logged-in browser. The token stays on the server.
type session struct {
	id, csrf, token string
	created         time.Time
	// client speaks to the API as the session; it remembers the newest
	// configuration epoch it saw, so the page after an action reads the
	// action's result.
	client *api.Client
}

// caller is the request's session, who holds its token now, and an API
// client that speaks as them.
type caller struct {
	sess   *session
	p      pki.Principal
	client *api.Client
}

// CanOperate says whether the caller's role may run the operational
// actions (the API checks it again on every action).
func (c *caller) CanOperate() bool { return c.p.Role.Permits(pki.RoleOperator) }

// randomID returns 32 random bytes, base64url.
func randomID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("webui: no randomness: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func sameSecret(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// caller finds the request's session and checks its token again: a
// revoked or expired token ends the session at once.
func (u *UI) caller(r *http.Request) (*caller, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, ErrNoSession
	}
	u.mu.Lock()
	s := u.sessions[ck.Value]
	if s != nil && u.cfg.Now().After(s.created.Add(u.cfg.SessionTTL)) {
		delete(u.sessions, s.id)
		s = nil
	}
	u.mu.Unlock()
	if s == nil {
		return nil, ErrNoSession
	}
	p, err := u.cfg.Identify(s.token)
	if err != nil {
		u.endSession(s.id)
		return nil, fmt.Errorf("%w: %v", ErrSessionEnded, err)
	}
	return &caller{sess: s, p: p, client: s.client}, nil
}

func (u *UI) endSession(id string) {
	u.mu.Lock()
	delete(u.sessions, id)
	u.mu.Unlock()
}

// withSession serves h for a request with a live session (and, for a
// POST, the session's CSRF token); without one a page asks to log in, and
// everything else is 403.
func (u *UI) withSession(h func(http.ResponseWriter, *http.Request, *caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := u.caller(r)
		if err != nil {
			if errors.Is(err, ErrNoSession) && r.Method == http.MethodGet && !partial(r) {
				http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
				return
			}
			setCookie(w, sessionCookie, "", -1)
			u.showLogin(w, r, http.StatusForbidden, strings.TrimPrefix(err.Error(), "webui: "))
			return
		}
		r = r.WithContext(withRemote(r.Context(), r.RemoteAddr))
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				u.fail(w, r, c, http.StatusBadRequest, "bad form: "+err.Error())
				return
			}
			if !sameSecret(r.PostForm.Get("csrf"), c.sess.csrf) {
				u.fail(w, r, c, http.StatusForbidden, "the form has no valid CSRF token (reload the page and try again); nothing was done")
				return
			}
		}
		h(w, r, c)
	}
}

// partial reports whether r is a script's request (a fragment or the
// event stream), which gets a status rather than a redirect.
func partial(r *http.Request) bool {
	return r.URL.Query().Get("fragment") != "" || r.URL.Path == "/ui/events"
}

// loginForm shows the login form with a fresh CSRF token bound to a
// short-lived cookie.
func (u *UI) loginForm(w http.ResponseWriter, r *http.Request) {
	u.showLogin(w, r, http.StatusOK, "")
}

func (u *UI) showLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	csrf := randomID()
	setCookie(w, loginCookie, csrf, 600)
	u.render(w, r, status, "login", nil, map[string]any{"Error": msg, "LoginCSRF": csrf})
}

// login checks the posted token and starts a session.
func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		u.showLogin(w, r, http.StatusBadRequest, "bad form: "+err.Error())
		return
	}
	ck, err := r.Cookie(loginCookie)
	if err != nil || !sameSecret(r.PostForm.Get("csrf"), ck.Value) {
		u.showLogin(w, r, http.StatusForbidden, "the login form has no valid CSRF token (load it again); nobody was logged in")
		return
	}
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	if tok == "" {
		u.showLogin(w, r, http.StatusBadRequest, "no token given: paste an API token (paceline token create --role viewer|operator|admin)")
		return
	}
	if _, err := u.cfg.Identify(tok); err != nil {
		// 401 counts against the address in the API's failure limiter.
		u.showLogin(w, r, http.StatusUnauthorized, "token refused: "+err.Error())
		return
	}
	client, err := api.New(api.ClientConfig{Addrs: []string{inprocAddr}, Token: tok, Transport: inproc{h: u.cfg.API}})
	if err != nil {
		u.fail(w, r, nil, http.StatusInternalServerError, err.Error())
		return
	}
	s := &session{id: randomID(), csrf: randomID(), token: tok, created: u.cfg.Now(), client: client}
	u.mu.Lock()
	for len(u.sessions) >= u.cfg.MaxSessions {
		var oldest *session
		for _, o := range u.sessions {
			if oldest == nil || o.created.Before(oldest.created) {
				oldest = o
			}
		}
		delete(u.sessions, oldest.id)
	}
	u.sessions[s.id] = s
	u.mu.Unlock()
	setCookie(w, loginCookie, "", -1)
	setCookie(w, sessionCookie, s.id, int(u.cfg.SessionTTL/time.Second))
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request, c *caller) {
	u.endSession(c.sess.id)
	setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}
