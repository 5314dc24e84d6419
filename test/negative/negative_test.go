package negative

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/agents"
	"github.com/paceline/paceline/internal/agents/ocf"
	"github.com/paceline/paceline/internal/cib"
	"github.com/paceline/paceline/internal/httpapi"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// secretValue is the stored value of resource db's secret parameter; it
// must never appear in an answer without ?secrets=true, nor in the log.
const secretValue = "s3cret-Hunter2"

// env is one API server over an in-memory store, driven in-process: each
// request names its source address, so the authentication failure limit
// can be exercised without locking out the rest of the suite.
type env struct {
	srv     *httpapi.Server
	backend *httpapi.MemBackend
	log     *bytes.Buffer
	tokens  map[string]string // by name: admin, operator, viewer, expired, revoked
}

// reply is what one case got: an HTTP answer, or for offline inputs (the
// CIB importer) only the error message.
type reply struct {
	status int
	msg    string
	header http.Header
	body   string
}

const defaultSource = "192.0.2.10"

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvAgents(t, nil)
}

// newEnvAgents is newEnv with the agent catalogue cat (nil: none).
func newEnvAgents(t *testing.T, cat httpapi.AgentCatalog) *env {
	t.Helper()
	now := time.Now()
	e := &env{log: &bytes.Buffer{}, tokens: map[string]string{}}
	var recs []pki.TokenRecord
	for name, role := range map[string]pki.Role{"admin": pki.RoleAdmin, "operator": pki.RoleOperator, "viewer": pki.RoleViewer} {
		tok, rec, err := pki.NewToken(role, now, 0)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[name] = tok
		recs = append(recs, rec)
	}
	tok, rec, err := pki.NewToken(pki.RoleAdmin, now.Add(-2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e.tokens["expired"] = tok
	recs = append(recs, rec)
	// A token revoked in the replicated store.
	tok, rec, err = pki.NewToken(pki.RoleAdmin, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	e.tokens["revoked"] = tok
	recs = append(recs, rec)
	revokedID := rec.ID

	st := store.New()
	for _, c := range []store.Command{
		store.NewNodeJoin("n1", store.RoleServer, "127.0.0.1:7101"),
		store.NewNodeState("n1", store.StateOnline, store.Lease{}),
	} {
		if r := st.Apply(c); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if r := st.Apply(store.NewTokenRevoke(revokedID, "admin", now.UnixMilli())); r.Err != nil {
		t.Fatal(r.Err)
	}
	e.backend = httpapi.NewMemBackend(st, "n1")
	e.srv = httpapi.New(httpapi.Config{
		Backend: e.backend,
		Tokens:  pki.NewTokenSet(recs...),
		Join:    pki.NewJoinTokens("fingerprint"),
		Agents:  cat,
		Logger:  slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	// The resource the secret cases read: a secret password.
	// (force: "user" and "password" are not pgsql's parameter names.)
	r := e.send("POST", "/v1/resources?force=true", "admin", "application/json",
		`{"id":"db","agent":"ocf:heartbeat:pgsql","params":[{"name":"user","value":"pg"},{"name":"password","value":"`+secretValue+`","secret":true}]}`)
	if r.status != http.StatusCreated {
		t.Fatalf("setup: create db: %d %s", r.status, r.msg)
	}
	return e
}

// sendFrom makes one request from source address src with the named
// token ("" for none, anything not in e.tokens is sent as is).
func (e *env) sendFrom(src, method, path, token, ctype, body string, hdr ...string) reply {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr = src + ":40000"
	if tok, ok := e.tokens[token]; ok {
		req.Header.Set("Authorization", "Bearer "+tok)
	} else if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	var ae api.Error
	_ = json.Unmarshal(rec.Body.Bytes(), &ae)
	return reply{status: rec.Code, msg: ae.Message, header: rec.Header(), body: rec.Body.String()}
}

func (e *env) send(method, path, token, ctype, body string, hdr ...string) reply {
	return e.sendFrom(defaultSource, method, path, token, ctype, body, hdr...)
}

func post(path, token, ctype, body string) func(*testing.T, *env) reply {
	return func(_ *testing.T, e *env) reply { return e.send("POST", path, token, ctype, body) }
}

func get(path, token string, hdr ...string) func(*testing.T, *env) reply {
	return func(_ *testing.T, e *env) reply { return e.send("GET", path, token, "", "", hdr...) }
}

// offline runs an input through the CIB importer: the reply carries its
// error message.
func cibImport(doc string) func(*testing.T, *env) reply {
	return func(t *testing.T, _ *env) reply {
		_, _, err := cib.Parse(strings.NewReader(doc))
		if err == nil {
			return reply{msg: "<accepted>"}
		}
		if !errors.Is(err, cib.ErrInputLimit) && !strings.Contains(err.Error(), "entity") {
			t.Errorf("error %v is neither ErrInputLimit nor an entity refusal", err)
		}
		return reply{msg: err.Error()}
	}
}

// negCase is one hostile request or input.
type negCase struct {
	name string
	// run sends it.
	run func(t *testing.T, e *env) reply
	// status is the HTTP status it must get (0: an offline input, which
	// must be refused with an error).
	status int
	// msg are words the error message must contain (the problem, the
	// field's path).
	msg []string
	// writes marks a case whose input is legitimately stored (parameter
	// values with shell metacharacters, a masked export applied back: the
	// store gives every accepted apply a new epoch); every other case
	// must leave the configuration epoch unchanged.
	writes bool
	// check makes further assertions on the reply.
	check func(t *testing.T, e *env, r reply)
}

func nested(open, close string, n int) string {
	return strings.Repeat(open, n) + strings.Repeat(close, n)
}

func yamlAliasBomb() string {
	doc := "epoch: 1\nproperties:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		doc += "  " + n + ": &" + n + " [" + strings.TrimSuffix(strings.Repeat("*"+prev+", ", 10), ", ") + "]\n"
		prev = n
	}
	return doc
}

const billionLaughs = `<?xml version="1.0"?>
<!DOCTYPE cib [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<cib><configuration><crm_config><cluster_property_set id="o"><nvpair id="n" name="x" value="&lol3;"/></cluster_property_set></crm_config></configuration></cib>`

// evilValue is a parameter value full of shell metacharacters.
const evilValue = "; touch PWNED $(touch PWNED2) `touch PWNED3` \" ' | & > < \n*"

// cases is the suite. New refusals (revoked tokens, foreign node
// certificates, reused join tokens, key file modes) are added here as
// more entries.
func cases() []negCase {
	return []negCase{
		// Authentication and authorisation.
		{name: "no token", run: get("/v1/status", ""), status: 401, msg: []string{"missing bearer token"}},
		{name: "malformed token", run: get("/v1/status", "hunter2"), status: 401, msg: []string{"malformed token"}},
		{name: "unknown token", run: get("/v1/config", "plt1.abcdefgh.wrongsecret"), status: 401, msg: []string{"unknown token"}},
		{name: "revoked token", run: get("/v1/status", "revoked"), status: 401, msg: []string{"revoked"}},
		{name: "expired token", run: get("/v1/status", "expired"), status: 401, msg: []string{"expired"}},
		{name: "viewer creates a resource", run: post("/v1/resources", "viewer", "application/json", `{"id":"x","agent":"builtin:dummy"}`),
			status: 403, msg: []string{"role viewer", "needs admin"}},
		{name: "viewer sets a property", run: func(_ *testing.T, e *env) reply {
			return e.send("PUT", "/v1/properties/stonith-enabled", "viewer", "application/json", `{"value":"false"}`)
		}, status: 403, msg: []string{"role viewer"}},
		{name: "viewer applies a configuration", run: post("/v1/config", "viewer", "application/json", `{"epoch":2}`),
			status: 403, msg: []string{"role viewer"}},
		{name: "operator creates a resource", run: post("/v1/resources", "operator", "application/json", `{"id":"x","agent":"builtin:dummy"}`),
			status: 403, msg: []string{"role operator", "needs admin"}},
		{name: "operator deletes a resource", run: func(_ *testing.T, e *env) reply {
			return e.send("DELETE", "/v1/resources/db", "operator", "", "")
		}, status: 403, msg: []string{"role operator"}},
		{name: "viewer issues a join token", run: post("/v1/tokens", "viewer", "application/json", `{"kind":"join"}`),
			status: 403, msg: []string{"role viewer"}},
		{name: "viewer exports secrets", run: get("/v1/config?secrets=true", "viewer"), status: 403, msg: []string{"secret", "needs admin"}},
		{name: "operator exports secrets", run: get("/v1/config?secrets=true", "operator", "Accept", "application/yaml"),
			status: 403, msg: []string{"secret"}},

		// Sizes and shapes.
		{name: "oversized JSON body", run: post("/v1/resources", "admin", "application/json",
			`{"id":"web","agent":"builtin:dummy","params":[{"name":"x","value":"`+strings.Repeat("a", 2<<20)+`"}]}`),
			status: 413, msg: []string{"over 1048576 bytes"}},
		{name: "oversized YAML body", run: post("/v1/config", "admin", "application/yaml", "epoch: 1\n# "+strings.Repeat("a", 2<<20)),
			status: 413, msg: []string{"over"}},
		{name: "JSON nesting bomb", run: post("/v1/config", "admin", "application/json", `{"epoch":2,"resources":`+nested("[", "]", 5000)+`}`),
			status: 400, msg: []string{"deeper than 64"}},
		{name: "JSON nesting in a resource", run: post("/v1/resources", "admin", "application/json",
			`{"id":"x","agent":"builtin:dummy","meta":{"a":`+nested("[", "]", 100)+`}}`),
			status: 400, msg: []string{"deeper than"}},
		{name: "huge JSON array", run: post("/v1/resources", "admin", "application/json",
			`{"id":"x","agent":"builtin:dummy","params":[`+strings.TrimSuffix(strings.Repeat(`{},`, 20000), ",")+`]}`),
			status: 400, msg: []string{"more than 10000 elements"}},
		{name: "huge JSON object", run: func(_ *testing.T, e *env) reply {
			var b strings.Builder
			b.WriteString(`{"epoch":2,"properties":{`)
			for i := range 10001 {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `"p%d":"v"`, i)
			}
			b.WriteString("}}")
			return e.send("POST", "/v1/config", "admin", "application/json", b.String())
		}, status: 400, msg: []string{"more than 10000 members"}},
		{name: "YAML anchor bomb", run: post("/v1/config", "admin", "application/yaml", yamlAliasBomb()),
			status: 400, msg: []string{"expanding aliases"}},
		{name: "YAML nesting bomb", run: post("/v1/config", "admin", "application/yaml", "epoch: 1\nproperties: "+nested("[", "]", 1000)+"\n"),
			status: 400, msg: []string{"deeper than"}},
		{name: "two YAML documents", run: post("/v1/config", "admin", "application/yaml", "epoch: 1\n---\nepoch: 2\n"),
			status: 400, msg: []string{"more than one YAML document"}},
		{name: "data after the JSON value", run: post("/v1/resources", "admin", "application/json", `{"id":"x","agent":"builtin:dummy"} {}`),
			status: 400, msg: []string{"after the JSON value"}},
		{name: "empty body", run: post("/v1/resources", "admin", "application/json", ""), status: 400, msg: []string{"empty request body"}},
		{name: "XML sent as a configuration", run: post("/v1/config", "admin", "application/xml", billionLaughs),
			status: 415, msg: []string{"application/xml", "want application/json or application/yaml"}},

		// Unknown fields, with their path, and wrong types.
		{name: "unknown field", run: post("/v1/resources", "admin", "application/json", `{"id":"x","agent":"builtin:dummy","colour":"red"}`),
			status: 400, msg: []string{`unknown field "colour"`}},
		{name: "unknown nested JSON field", run: post("/v1/config", "admin", "application/json",
			`{"epoch":2,"resources":[{"id":"a","kind":"primitive","class":"builtin","type":"dummy","ops":[{"name":"monitor","colour":"red"}]}]}`),
			status: 400, msg: []string{`"resources[0].ops[0].colour"`}},
		{name: "unknown nested YAML field", run: post("/v1/config", "admin", "application/yaml",
			"epoch: 2\nresources:\n- id: a\n  kind: primitive\n  params:\n  - name: x\n    value: y\n    flavour: z\n"),
			status: 400, msg: []string{`"resources[0].params[0].flavour"`}},
		{name: "unknown token request field", run: post("/v1/tokens", "admin", "application/json", `{"kind":"join","colour":"blue"}`),
			status: 400, msg: []string{`"colour"`}},
		{name: "join token with a role", run: post("/v1/tokens", "admin", "application/json", `{"kind":"join","role":"admin"}`),
			status: 400, msg: []string{"token kind"}},
		{name: "params of the wrong type", run: post("/v1/resources", "admin", "application/json", `{"id":"x","agent":"builtin:dummy","params":"a=b"}`),
			status: 400, msg: []string{"cannot unmarshal string", "params"}},
		{name: "epoch of the wrong type", run: post("/v1/config", "admin", "application/json", `{"epoch":"2"}`),
			status: 400, msg: []string{"cannot unmarshal string", "epoch"}},
		{name: "YAML value of the wrong type", run: post("/v1/config", "admin", "application/yaml", "epoch: [2]\n"),
			status: 400, msg: []string{"cannot unmarshal"}},
		{name: "garbage epoch header", run: get("/v1/status", "admin", "Paceline-Min-Epoch", "x; rm -rf /"),
			status: 400, msg: []string{"Paceline-Min-Epoch", "not an epoch"}},

		// Hostile XML through the CIB importer.
		{name: "XML billion laughs", run: cibImport(billionLaughs), msg: []string{"DOCTYPE", "not accepted"}},
		{name: "XML external entity", run: cibImport(`<!DOCTYPE cib [<!ENTITY x SYSTEM "file:///etc/shadow">]><cib>&x;</cib>`),
			msg: []string{"DOCTYPE"}},
		{name: "XML undeclared entity", run: cibImport(`<cib><configuration><crm_config><cluster_property_set id="o"><nvpair id="n" name="x" value="&lol;"/></cluster_property_set></crm_config></configuration></cib>`),
			msg: []string{"entity"}},
		{name: "XML nesting bomb", run: cibImport("<cib><configuration>" + nested("<a>", "</a>", 100000) + "</configuration></cib>"),
			msg: []string{"deeper than 256"}},

		// Secret parameters are write-only.
		{name: "secret masked in GET resource", run: get("/v1/resources/db", "viewer"), status: 200, check: secretMasked},
		{name: "secret masked in the resource list", run: get("/v1/resources", "admin"), status: 200, check: secretMasked},
		{name: "secret masked in config export", run: get("/v1/config", "admin", "Accept", "application/yaml"), status: 200, check: secretMasked},
		{name: "secret absent from status", run: get("/v1/status", "admin"), status: 200, check: secretMasked},
		{name: "secret shown to an admin asking for it", run: get("/v1/config?secrets=true", "admin", "Accept", "application/yaml"), status: 200,
			check: func(t *testing.T, _ *env, r reply) {
				if !strings.Contains(r.body, secretValue) {
					t.Errorf("config export --secrets lacks the secret:\n%s", r.body)
				}
			}},
		{name: "masked export applied back keeps the secret", run: func(t *testing.T, e *env) reply {
			doc := e.send("GET", "/v1/config", "admin", "", "", "Accept", "application/yaml")
			return e.send("POST", "/v1/config", "admin", "application/yaml", doc.body)
		}, status: 200, writes: true, check: func(t *testing.T, e *env, r reply) {
			if secretOf(e) != secretValue {
				t.Errorf("stored secret is %q after re-applying the masked export", secretOf(e))
			}
		}},
		{name: "masked secret with nothing stored", run: post("/v1/resources", "admin", "application/json",
			`{"id":"db2","agent":"ocf:heartbeat:pgsql","params":[{"name":"password","value":"*****","secret":true}]}`),
			status: 400, msg: []string{"password", "masked secret without a stored value"}},

		// Shell metacharacters are stored and reach an agent literally.
		{name: "shell metacharacters reach an OCF agent literally", run: func(_ *testing.T, e *env) reply {
			b, _ := json.Marshal(api.ResourceRequest{ID: "evil", Agent: "ocf:test:Env", Params: []api.NV{{Name: "evil", Value: evilValue}}})
			return e.send("POST", "/v1/resources", "admin", "application/json", string(b))
		}, status: 201, writes: true, check: metacharactersLiteral},

		// Authentication failures are rate limited per source address.
		{name: "authentication failures rate limited", run: func(t *testing.T, e *env) reply {
			const src = "198.51.100.7"
			for i := range httpapi.DefaultAuthFailures {
				if r := e.sendFrom(src, "GET", "/v1/status", fmt.Sprintf("plt1.guess%d.x", i), "", ""); r.status != 401 {
					t.Fatalf("guess %d: %d, want 401", i, r.status)
				}
			}
			// Even the right token is refused now: a guesser must not
			// learn which guess was right.
			return e.sendFrom(src, "GET", "/v1/status", "admin", "", "")
		}, status: 429, msg: []string{"too many failed authentications", "198.51.100.7"},
			check: func(t *testing.T, e *env, r reply) {
				if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
					t.Errorf("Retry-After = %q", ra)
				}
				if r := e.sendFrom("198.51.100.8", "GET", "/v1/status", "admin", "", ""); r.status != 200 {
					t.Errorf("another address: %d %s, want 200", r.status, r.msg)
				}
			}},
	}
}

func secretOf(e *env) string {
	for _, r := range e.backend.Config().Resources {
		if r.ID == "db" {
			for _, p := range r.Params {
				if p.Name == "password" {
					return p.Value
				}
			}
		}
	}
	return ""
}

func secretMasked(t *testing.T, e *env, r reply) {
	t.Helper()
	if strings.Contains(r.body, secretValue) {
		t.Errorf("the answer shows the secret:\n%s", r.body)
	}
	if !strings.Contains(r.body, "db") {
		t.Errorf("the answer lacks resource db:\n%s", r.body)
	}
	if secretOf(e) != secretValue {
		t.Errorf("stored secret is %q", secretOf(e))
	}
}

// metacharactersLiteral runs the stored resource's monitor through a real
// OCF agent script and checks it saw the value byte for byte and that no
// part of it ran.
func metacharactersLiteral(t *testing.T, e *env, _ reply) {
	root := t.TempDir()
	dir := filepath.Join(root, "resource.d", "test")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\ncd \"$OCF_RESKEY_dir\" || exit 1\nprintf '%s' \"$OCF_RESKEY_evil\" > seen\nprintf '%s' \"$OCF_RESKEY_password\" > password\nexit 0\n"
	if err := os.WriteFile(filepath.Join(dir, "Env"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := ocf.New(ocf.Config{Root: filepath.Join(t.TempDir(), "none"), ExtraRoots: []string{root},
		TrustedUIDs: []uint32{0, uint32(os.Getuid())}, RunDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	params := map[string]string{"dir": work}
	for _, r := range e.backend.Config().Resources {
		if r.ID == "evil" || r.ID == "db" {
			for _, p := range r.Params {
				params[p.Name] = p.Value
			}
		}
	}
	res := c.Run(context.Background(), agents.Request{ResourceID: "evil", Op: "monitor", Timeout: 10 * time.Second,
		Agent: agents.Type{Class: "ocf", Provider: "test", Name: "Env"}, Params: params})
	if res.Status != agents.StatusDone || res.RC != agents.RCOK {
		t.Fatalf("agent: %v %v %s", res.Status, res.RC, res.Output)
	}
	if got, _ := os.ReadFile(filepath.Join(work, "seen")); string(got) != evilValue {
		t.Errorf("agent saw %q, want %q", got, evilValue)
	}
	if got, _ := os.ReadFile(filepath.Join(work, "password")); string(got) != secretValue {
		t.Errorf("the secret reached the agent as %q", got)
	}
	for _, f := range []string{"PWNED", "PWNED2", "PWNED3"} {
		if _, err := os.Stat(filepath.Join(work, f)); err == nil {
			t.Errorf("a shell ran part of the parameter: %s exists", f)
		}
	}
}

// TestNegative runs every case against one server and checks, for each,
// the status, the message, that nothing changed and that the server
// still serves.
func TestNegative(t *testing.T) {
	e := newEnv(t)
	list := cases()
	if len(list) < 30 {
		t.Fatalf("%d cases; issue 5 wants at least 30", len(list))
	}
	for _, tc := range list {
		t.Run(tc.name, func(t *testing.T) { runCase(t, e, tc) })
	}
	if strings.Contains(e.log.String(), secretValue) {
		t.Errorf("the log shows the secret:\n%s", e.log.String())
	}
	for name, tok := range e.tokens {
		if strings.Contains(e.log.String(), tok) {
			t.Errorf("the log shows the %s token", name)
		}
	}
}

// runCase runs one case and checks the status, the message, that nothing
// changed (unless the case writes) and that the server still serves.
func runCase(t *testing.T, e *env, tc negCase) {
	t.Helper()
	before := e.backend.Config().Epoch
	r := tc.run(t, e)
	if tc.status == 0 {
		if r.msg == "" || r.msg == "<accepted>" {
			t.Errorf("input accepted, want a refusal")
		}
	} else if r.status != tc.status {
		t.Errorf("status %d (%s), want %d", r.status, r.msg, tc.status)
	}
	for _, w := range tc.msg {
		if !strings.Contains(r.msg, w) {
			t.Errorf("message %q does not contain %q", r.msg, w)
		}
	}
	if after := e.backend.Config().Epoch; !tc.writes && after != before {
		t.Errorf("epoch moved from %d to %d", before, after)
	} else if tc.writes && after == before {
		t.Errorf("epoch stayed %d; the write was lost", after)
	}
	if tc.check != nil {
		tc.check(t, e, r)
	}
	if ok := e.send("GET", "/v1/status", "admin", "", ""); ok.status != http.StatusOK {
		t.Errorf("server no longer answers: %d %s", ok.status, ok.msg)
	}
}
