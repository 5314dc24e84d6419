package webui_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"net/http/httptest"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/httpapi"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
	"github.com/paceline/paceline/internal/webui"
)

// env is one API server (with the UI at /ui/) over TLS on loopback, on a
// store with three nodes: web runs on n1, db is promoted on n1 and
// unpromoted on n2, vip (10.9.8.7) on n1; web's start failed on n2.
type env struct {
	ts      *httptest.Server
	backend *httpapi.MemBackend
	admin   *api.Client
	tokens  map[string]*api.TokenResponse // operator, viewer
}

func newEnv(t *testing.T, hooks webui.Hooks) *env {
	t.Helper()
	now := time.Now()
	adminTok, adminRec, _ := pki.NewToken(pki.RoleAdmin, now, 0)
	st := store.New()
	cfg := model.Config{Resources: []model.Resource{
		{ID: "web", Kind: model.KindPrimitive, Class: "builtin", Type: "dummy", Params: []model.NV{
			{Name: "db_password", Value: "hunter2"}, {Name: "opaque", Value: "s3cr3t-flagged", Secret: true}, {Name: "port", Value: "8080"}}},
		{ID: "vip", Kind: model.KindPrimitive, Class: "builtin", Type: "vip", Params: []model.NV{{Name: "ip", Value: "10.9.8.7"}}},
		{ID: "db-clone", Kind: model.KindClone, Meta: map[string]string{"promotable": "true"}, Children: []model.Resource{
			{ID: "db", Kind: model.KindPrimitive, Class: "ocf", Provider: "pacemaker", Type: "Stateful"}}},
	}, Colocations: []model.Colocation{{ID: "vip-with-web", Resource: "vip", With: "web", Score: model.Infinity}}}
	op := func(node, rsc, name string, call, rc int) store.Command {
		return store.NewOpResult(store.OpResult{Node: node, Resource: model.ResourceHistory{ID: rsc, Class: "builtin", Type: "dummy"},
			Op: model.OpRecord{Operation: name, CallID: call, RC: rc, LastRun: now.Unix(), ExitReason: map[bool]string{true: "boom"}[rc != 0]}})
	}
	for _, c := range []store.Command{
		store.NewConfigPut(0, cfg, store.Change{}),
		store.NewNodeJoin("n1", store.RoleServer, "127.0.0.1:7101"),
		store.NewNodeJoin("n2", store.RoleServer, "127.0.0.1:7102"),
		store.NewNodeJoin("n3", store.RoleServer, "127.0.0.1:7103"),
		store.NewNodeState("n1", store.StateOnline, store.Lease{}),
		store.NewNodeState("n2", store.StateOnline, store.Lease{}),
		store.NewNodeState("n3", store.StateOnline, store.Lease{}),
		op("n1", "web", "start", 1, 0),
		op("n1", "vip", "start", 2, 0),
		op("n1", "db:0", "promote", 3, 0),
		op("n2", "db:1", "start", 4, 0),
		op("n2", "web", "start", 5, 1),
		op("n2", "web", "stop", 6, 0),
	} {
		if r := st.Apply(c); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	b := httpapi.NewMemBackend(st, "n1")
	srv := httpapi.New(httpapi.Config{Backend: b, Tokens: pki.NewTokenSet(adminRec), UI: hooks})
	ts := httptest.NewTLSServer(srv)
	t.Cleanup(ts.Close)
	e := &env{ts: ts, backend: b, tokens: map[string]*api.TokenResponse{}}
	e.admin = e.client(t, adminTok)
	for _, role := range []string{"operator", "viewer"} {
		tr, err := e.admin.CreateToken(context.Background(), role, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[role] = tr
	}
	return e
}

func (e *env) client(t *testing.T, token string) *api.Client {
	c, err := api.New(api.ClientConfig{Addrs: []string{e.ts.URL}, Token: token, Transport: e.ts.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	t  *testing.T
	e  *env
	hc *http.Client
}

func (e *env) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Transport: e.ts.Client().Transport, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &browser{t: t, e: e, hc: hc}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (b *browser) get(path string) answer {
	b.t.Helper()
	resp, err := b.hc.Get(b.e.ts.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(body)}
}

func (b *browser) post(path string, form url.Values) answer {
	b.t.Helper()
	resp, err := b.hc.PostForm(b.e.ts.URL+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(body)}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF token of the first form on the page.
func (b *browser) csrf(page string) string {
	b.t.Helper()
	m := csrfRE.FindStringSubmatch(b.get(page).body)
	if m == nil {
		b.t.Fatalf("no CSRF token on %s", page)
	}
	return m[1]
}

// login logs in with token and checks it worked.
func (b *browser) login(token string) {
	b.t.Helper()
	a := b.post("/ui/login", url.Values{"csrf": {b.csrf("/ui/login")}, "token": {token}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/ui/" {
		b.t.Fatalf("login: %d %s %q", a.status, a.header.Get("Location"), a.body)
	}
}

func TestLoginSessionCookieAndLogout(t *testing.T) {
	e := newEnv(t, webui.Hooks{})
	b := e.browser(t)
	if a := b.get("/ui/"); a.status != http.StatusSeeOther || a.header.Get("Location") != "/ui/login" {
		t.Fatalf("overview without a session: %d %q, want 303 to /ui/login", a.status, a.header.Get("Location"))
	}
	a := b.get("/ui/login")
	for _, want := range []string{`name="token"`, `name="viewport"`, `src="/ui/static/app.js"`} {
		if !strings.Contains(a.body, want) {
			t.Errorf("login page lacks %s", want)
		}
	}
	if strings.Contains(a.body, "<script>") || strings.Contains(a.body, "style=") {
		t.Error("inline script or style on the login page")
	}
	csp := a.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	for file, ctype := range map[string]string{"app.js": "text/javascript", "style.css": "text/css"} {
		if a := b.get("/ui/static/" + file); a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), ctype) ||
			a.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %s", file, a.status, a.header.Get("Content-Type"))
		}
	}
	// Without its CSRF token, with no token, with a bad token.
	if a := b.post("/ui/login", url.Values{"token": {e.tokens["operator"].Token}}); a.status != http.StatusForbidden {
		t.Errorf("login without CSRF: %d, want 403", a.status)
	}
	if a := b.post("/ui/login", url.Values{"csrf": {b.csrf("/ui/login")}, "token": {"plt1.nosuchid.nosecret"}}); a.status != http.StatusUnauthorized || !strings.Contains(a.body, "token refused") {
		t.Errorf("login with a bad token: %d %q, want 401", a.status, a.body)
	}
	a = b.post("/ui/login", url.Values{"csrf": {b.csrf("/ui/login")}, "token": {e.tokens["operator"].Token}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("login: %d %s", a.status, a.body)
	}
	var ck string
	for _, c := range a.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "__Host-paceline-session=") {
			ck = c
		}
	}
	for _, attr := range []string{"HttpOnly", "Secure", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(ck, attr) {
			t.Errorf("session cookie %q lacks %s", ck, attr)
		}
	}
	if strings.Contains(ck, e.tokens["operator"].Token) {
		t.Error("the session cookie carries the API token")
	}
	ov := b.get("/ui/")
	if ov.status != http.StatusOK || !strings.Contains(ov.body, e.tokens["operator"].ID) || !strings.Contains(ov.body, `data-action="standby"`) {
		t.Fatalf("overview: %d %s", ov.status, ov.body)
	}
	if a := b.post("/ui/logout", url.Values{"csrf": {b.csrf("/ui/")}}); a.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", a.status)
	}
	if a := b.get("/ui/"); a.status != http.StatusSeeOther {
		t.Errorf("overview after logout: %d, want 303 to the login", a.status)
	}
}

func TestOverviewShowsTheCluster(t *testing.T) {
	e := newEnv(t, webui.Hooks{})
	b := e.browser(t)
	b.login(e.tokens["viewer"].Token)
	ov := b.get("/ui/")
	for _, want := range []string{
		`id="leader"><a href="/ui/nodes/n1">n1</a>`, `id="quorum" class="ok">yes`,
		`data-node="n2"`, `data-node="n3"`,
		`data-resource="web" data-role="Started" data-nodes="n1"`,
		`data-resource="db" data-role="Promoted" data-nodes="n1 n2"`,
		`<td class="addr">10.9.8.7</td>`,
		`Promoted: [ n1 ] Unpromoted: [ n2 ]`,
		`web</a> start on n2: exit 1`, // failed action
		`POST /v1/tokens by`,          // newest changes: the audit log
	} {
		if !strings.Contains(ov.body, want) {
			t.Errorf("overview lacks %s", want)
		}
	}
	// The fragment is the live part alone.
	fr := b.get("/ui/?fragment=1")
	if fr.status != http.StatusOK || strings.Contains(fr.body, "<html") || !strings.Contains(fr.body, `data-resource="web"`) {
		t.Errorf("fragment: %d %q", fr.status, fr.body)
	}
	// Events from the hook replace the audit log's entries.
	e2 := newEnv(t, webui.Hooks{Events: func(n int) []webui.Event {
		return []webui.Event{{At: time.Now(), Kind: "node-lost", Node: "n3", Message: "node n3 lost"}}
	}})
	b2 := e2.browser(t)
	b2.login(e2.tokens["viewer"].Token)
	if ov := b2.get("/ui/"); !strings.Contains(ov.body, "<b>node-lost</b> node n3 lost") {
		t.Errorf("overview does not list the hook's events")
	}
}

func TestResourceAndNodePages(t *testing.T) {
	e := newEnv(t, webui.Hooks{})
	b := e.browser(t)
	b.login(e.tokens["operator"].Token)
	rp := b.get("/ui/resources/web")
	if rp.status != http.StatusOK {
		t.Fatalf("resource page: %d %s", rp.status, rp.body)
	}
	for _, secret := range []string{"hunter2", "s3cr3t-flagged"} {
		if strings.Contains(rp.body, secret) {
			t.Errorf("the resource page shows the secret %q", secret)
		}
	}
	for _, want := range []string{"<th>port</th><td>8080</td>", `<th>db_password</th><td class="masked">*****</td>`,
		"colocation vip-with-web: vip with web score INFINITY", "exit 1 (expected 0), complete: boom", `data-action="move"`} {
		if !strings.Contains(rp.body, want) {
			t.Errorf("resource page lacks %s", want)
		}
	}
	if a := b.get("/ui/resources/nosuch"); a.status != http.StatusNotFound || !strings.Contains(a.body, `no resource &#34;nosuch&#34;`) {
		t.Errorf("unknown resource: %d", a.status)
	}
	np := b.get("/ui/nodes/n1")
	for _, want := range []string{`id="node-state" class="state state-online">online`, `<a href="/ui/resources/web">web</a>`,
		`<span class="role role-promoted">Promoted</span>`, "address 127.0.0.1:7101", `data-action="standby"`} {
		if !strings.Contains(np.body, want) {
			t.Errorf("node page lacks %s", want)
		}
	}
	if a := b.get("/ui/nodes/nx"); a.status != http.StatusNotFound {
		t.Errorf("unknown node: %d", a.status)
	}
}

// Guessing tokens through the login form meets the API's limit on failed
// authentications per address.
func TestFailedLoginsAreLimited(t *testing.T) {
	e := newEnv(t, webui.Hooks{})
	b := e.browser(t)
	csrf := b.csrf("/ui/login")
	codes := map[int]int{}
	for range httpapi.DefaultAuthFailures + 2 {
		a := b.post("/ui/login", url.Values{"csrf": {csrf}, "token": {"plt1.guessing.wrong"}})
		codes[a.status]++
		if m := csrfRE.FindStringSubmatch(a.body); m != nil {
			csrf = m[1] // the form shown again has a new one
		}
	}
	if codes[http.StatusUnauthorized] != httpapi.DefaultAuthFailures || codes[http.StatusTooManyRequests] != 2 {
		t.Errorf("answers to %d bad logins: %v, want %d 401s then 429s", httpapi.DefaultAuthFailures+2, codes, httpapi.DefaultAuthFailures)
	}
}

// A session lives SessionTTL after its login; past MaxSessions the oldest
// goes first.
func TestSessionLifetimeAndBound(t *testing.T) {
	e := newEnv(t, webui.Hooks{})
	srv := e.ts.Config.Handler.(*httpapi.Server)
	now := time.Now()
	clock := func() time.Time { return now }
	ui := webui.New(webui.Config{API: srv, Identify: srv.Identify, Now: clock, SessionTTL: time.Hour, MaxSessions: 2})
	mux := http.NewServeMux()
	mux.Handle("/ui/", ui)
	e.ts.Config.Handler = mux
	a, b, c := e.browser(t), e.browser(t), e.browser(t)
	a.login(e.tokens["viewer"].Token)
	now = now.Add(time.Minute)
	b.login(e.tokens["viewer"].Token)
	now = now.Add(time.Minute)
	c.login(e.tokens["viewer"].Token) // the third: a's session goes
	if got := a.get("/ui/"); got.status != http.StatusSeeOther {
		t.Errorf("the oldest session past MaxSessions: %d, want 303 to the login", got.status)
	}
	if got := b.get("/ui/nodes/n1"); got.status != http.StatusOK {
		t.Errorf("a newer session: %d", got.status)
	}
	now = now.Add(time.Hour - time.Second) // b is past an hour old, c not yet
	if got := b.get("/ui/"); got.status != http.StatusSeeOther {
		t.Errorf("a session past its TTL: %d, want 303 to the login", got.status)
	}
	if got := c.get("/ui/"); got.status != http.StatusOK {
		t.Errorf("a session within its TTL: %d", got.status)
	}
}
