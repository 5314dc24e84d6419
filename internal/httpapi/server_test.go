package httpapi_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/httpapi"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/pki/pkitest"
	"github.com/paceline/paceline/internal/store"
)

// cluster is one API server over real TLS on 127.0.0.1 with a random port.
type cluster struct {
	ts        *httptest.Server
	ca        *pki.CA
	caPEM     []byte
	backend   *httpapi.MemBackend
	admin     string // admin token
	viewer    string // viewer token
	client    *api.Client
	rawClient *http.Client // trusts the CA, sends no token by itself
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	now := time.Now()
	ca, cert := pkitest.Node(t, "n1")
	admin, adminRec, _ := pki.NewToken(pki.RoleAdmin, now, 0)
	viewer, viewerRec, _ := pki.NewToken(pki.RoleViewer, now, 0)

	st := store.New()
	for _, c := range []store.Command{
		store.NewNodeJoin("n1", store.RoleServer, "127.0.0.1:7101"),
		store.NewNodeJoin("n2", store.RoleServer, "127.0.0.1:7102"),
		store.NewNodeState("n1", store.StateOnline, store.Lease{}),
	} {
		if r := st.Apply(c); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	noStonith(t, st)
	b := httpapi.NewMemBackend(st, "n1")
	srv := httpapi.New(httpapi.Config{
		Backend: b,
		Tokens:  pki.NewTokenSet(adminRec, viewerRec),
		Join:    pki.NewJoinTokens(ca.Fingerprint()),
	})
	ts := httptest.NewUnstartedServer(srv)
	ts.TLS = pki.APIServerTLS(ca, cert)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	ts.StartTLS()
	t.Cleanup(ts.Close)

	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
	c := &cluster{ts: ts, ca: ca, caPEM: caPEM, backend: b, admin: admin, viewer: viewer}
	c.client = c.newClient(t, admin, ts.URL)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	c.rawClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}}}
	return c
}

func (c *cluster) newClient(t *testing.T, token string, addrs ...string) *api.Client {
	t.Helper()
	cl, err := api.New(api.ClientConfig{Addrs: addrs, Token: token, CACertPEM: c.caPEM, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// raw sends one request and returns the status and the decoded error
// message (if the body is an error).
func (c *cluster) raw(t *testing.T, method, path, token, contentType string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, c.ts.URL+path, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.rawClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e api.Error
	_ = json.Unmarshal(b, &e)
	return resp.StatusCode, e.Message
}

func statusOf(err error) int {
	var e *api.Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// Issue 3, "What must be shown": an unauthenticated API call gets 401.
func TestUnauthenticatedIs401(t *testing.T) {
	c := newCluster(t)
	for _, tc := range []struct{ name, token string }{
		{"no token", ""},
		{"wrong token", "plt1.abcdefgh.wrongsecret"},
		{"garbage", "hunter2"},
	} {
		for _, path := range []string{"/v1/status", "/v1/config", "/v1/nonexistent"} {
			code, msg := c.raw(t, "GET", path, tc.token, "", nil)
			if code != http.StatusUnauthorized || msg == "" {
				t.Errorf("%s, GET %s: %d %q, want 401 with a JSON error", tc.name, path, code, msg)
			}
		}
	}
	code, _ := c.raw(t, "POST", "/v1/resources", "", "application/json", []byte(`{"id":"x","agent":"builtin:dummy"}`))
	if code != http.StatusUnauthorized {
		t.Errorf("unauthenticated create: %d", code)
	}
	if rs, _ := c.client.Resources(context.Background()); len(rs) != 0 {
		t.Errorf("unauthenticated create changed the configuration: %+v", rs)
	}
}

// A browser's own request for /favicon.ico carries no token: it is
// answered empty, and however often the UI is reloaded it never counts as a
// failed authentication (the limit would lock the operator out).
func TestFaviconIsNoFailedAuthentication(t *testing.T) {
	c := newCluster(t)
	for i := 0; i < 3*httpapi.DefaultAuthFailures; i++ {
		if code, _ := c.raw(t, "GET", "/favicon.ico", "", "", nil); code != http.StatusNoContent {
			t.Fatalf("GET /favicon.ico #%d: %d, want 204", i+1, code)
		}
	}
	if _, err := c.client.Resources(context.Background()); err != nil {
		t.Errorf("after the favicon requests: %v", err)
	}
}

// Issue 3, "What must be shown": a wrong client certificate fails the
// handshake.
func TestForeignClientCertificateFailsHandshake(t *testing.T) {
	c := newCluster(t)
	other, _ := pki.NewCA("other", time.Now(), time.Hour)
	try := func(ca *pki.CA) error {
		nc, err := ca.Issue("intruder", pki.RoleServer, nil, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		cert, _ := nc.TLSCertificate()
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(c.caPEM)
		// GetClientCertificate sends the certificate even though the
		// server asks for the cluster CA (crypto/tls would otherwise
		// quietly send none), as an intruder would.
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: pool, MinVersion: tls.VersionTLS13,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil },
		}}}
		req, _ := http.NewRequest("GET", c.ts.URL+"/v1/status", nil)
		req.Header.Set("Authorization", "Bearer "+c.admin)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := try(other); err == nil || !strings.Contains(err.Error(), "tls") {
		t.Errorf("client certificate from another CA: err %v, want a TLS handshake failure", err)
	}
	if err := try(c.ca); err != nil {
		t.Errorf("client certificate from the cluster CA: %v", err)
	}
}

func TestViewerCannotWrite(t *testing.T) {
	c := newCluster(t)
	v := c.newClient(t, c.viewer, c.ts.URL)
	ctx := context.Background()
	if _, err := v.Status(ctx); err != nil {
		t.Fatalf("viewer read: %v", err)
	}
	_, err := v.CreateResource(ctx, api.ResourceRequest{ID: "web", Agent: "builtin:dummy"})
	if statusOf(err) != http.StatusForbidden {
		t.Errorf("viewer create: %v, want 403", err)
	}
	if _, err := v.CreateJoinToken(ctx, time.Minute); statusOf(err) != http.StatusForbidden {
		t.Errorf("viewer token create: %v, want 403", err)
	}
}

func TestResourceCreateListDelete(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	req := api.ResourceRequest{ID: "web", Agent: "builtin:dummy", Params: []api.NV{{Name: "state", Value: "/tmp/x"}},
		Meta: map[string]string{"target-role": "Started"}, Ops: []api.OpSpec{{Name: "monitor", Interval: "1s"}}}
	if _, err := c.client.CreateResource(ctx, req); err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := c.client.CreateResource(ctx, req); statusOf(err) != http.StatusConflict {
		t.Errorf("second create: %v, want 409", err)
	}
	rs, err := c.client.Resources(ctx)
	if err != nil || len(rs) != 1 || rs[0].ID != "web" || rs[0].Ops[0].Interval != time.Second || rs[0].Agent() != "builtin:dummy" {
		t.Fatalf("list: %+v %v", rs, err)
	}
	req.Params = []api.NV{{Name: "state", Value: "/tmp/y"}}
	if r, err := c.client.UpdateResource(ctx, "web", req); err != nil || r.Params[0].Value != "/tmp/y" {
		t.Errorf("update: %+v %v", r, err)
	}
	if err := c.client.AddConstraint(ctx, api.Constraint{Kind: api.ConstraintLocation,
		Location: &api.Location{ID: "web-prefers-n1", Resource: "web", Node: "n1", Score: 100}}); err != nil {
		t.Fatalf("add constraint: %v", err)
	}
	if err := c.client.AddConstraint(ctx, api.Constraint{Kind: api.ConstraintLocation,
		Location: &api.Location{ID: "bad", Resource: "nope", Node: "n1", Score: 100}}); statusOf(err) != http.StatusBadRequest {
		t.Errorf("constraint on an unknown resource: %v, want 400", err)
	}
	if err := c.client.DeleteResource(ctx, "web"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.client.Resource(ctx, "web"); statusOf(err) != http.StatusNotFound {
		t.Errorf("get after delete: %v, want 404", err)
	}
	cfg, _ := c.client.Config(ctx)
	if len(cfg.Locations) != 0 {
		t.Errorf("delete left constraints naming the resource: %+v", cfg.Locations)
	}
	if err := c.client.DeleteResource(ctx, "web"); statusOf(err) != http.StatusNotFound {
		t.Errorf("second delete: %v, want 404", err)
	}
}

func TestProperties(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	if err := c.client.SetProperty(ctx, "stonith-enabled", "false"); err != nil {
		t.Fatal(err)
	}
	if v, err := c.client.Property(ctx, "stonith-enabled"); err != nil || v != "false" {
		t.Errorf("get: %q %v", v, err)
	}
	if _, err := c.client.Property(ctx, "no-such"); statusOf(err) != http.StatusNotFound {
		t.Errorf("unset property: %v, want 404", err)
	}
}

// Config apply is compare-and-set: a stale epoch is refused with 409 and
// changes nothing.
func TestConfigApplyStaleEpochIs409(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	doc, err := c.client.ConfigYAML(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := api.DecodeConfigYAML(doc)
	if err != nil {
		t.Fatalf("exported YAML does not decode: %v\n%s", err, doc)
	}
	if err := c.client.SetProperty(ctx, "stonith-enabled", "false"); err != nil { // someone else writes
		t.Fatal(err)
	}
	before, _ := c.client.Config(ctx)
	stale.Properties = map[string]string{"no-quorum-policy": "ignore"}
	b, _ := api.EncodeConfigYAML(stale)
	_, err = c.client.ApplyConfigYAML(ctx, b, false)
	if statusOf(err) != http.StatusConflict || !strings.Contains(err.Error(), "epoch") {
		t.Fatalf("stale apply: %v, want 409 naming the epoch", err)
	}
	after, _ := c.client.Config(ctx)
	if !equalJSON(before, after) {
		t.Errorf("a refused apply changed the configuration:\nbefore %+v\nafter  %+v", before, after)
	}
	// The same change on the current epoch goes through.
	cur := after
	cur.Properties["no-quorum-policy"] = "ignore"
	b, _ = api.EncodeConfigYAML(cur)
	res, err := c.client.ApplyConfigYAML(ctx, b, false)
	if err != nil || res.Epoch != after.Epoch+1 {
		t.Fatalf("apply on the current epoch: %+v %v", res, err)
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestOversizedBodyIs413(t *testing.T) {
	c := newCluster(t)
	big := `{"id":"web","agent":"builtin:dummy","params":[{"name":"x","value":"` + strings.Repeat("a", 2<<20) + `"}]}`
	code, msg := c.raw(t, "POST", "/v1/resources", c.admin, "application/json", []byte(big))
	if code != http.StatusRequestEntityTooLarge || msg == "" {
		t.Errorf("2 MiB body: %d %q, want 413", code, msg)
	}
	code, _ = c.raw(t, "POST", "/v1/config", c.admin, "application/yaml", []byte("epoch: 1\n# "+strings.Repeat("a", 2<<20)))
	if code != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB YAML: %d, want 413", code)
	}
}

func TestUnknownFieldIs400NamingIt(t *testing.T) {
	c := newCluster(t)
	for _, tc := range []struct{ path, ct, body, field string }{
		{"/v1/resources", "application/json", `{"id":"web","agent":"builtin:dummy","colour":"red"}`, "colour"},
		{"/v1/config", "application/json", `{"epoch":3,"resorces":[]}`, "resorces"},
		{"/v1/config", "application/yaml", "epoch: 3\nresources:\n- id: a\n  kind: primitive\n  flavour: x\n", "flavour"},
		{"/v1/tokens", "application/json", `{"kind":"join","role":"admin"}`, "role"},
	} {
		code, msg := c.raw(t, "POST", tc.path, c.admin, tc.ct, []byte(tc.body))
		if code != http.StatusBadRequest || !strings.Contains(msg, tc.field) {
			t.Errorf("POST %s %s: %d %q, want 400 naming %q", tc.path, tc.body, code, msg, tc.field)
		}
	}
	if rs, _ := c.client.Resources(context.Background()); len(rs) != 0 {
		t.Errorf("a refused request created resources: %+v", rs)
	}
}

// The status JSON has the fields issue 3's "status --json" contract names.
func TestStatusJSONContract(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	if _, err := c.client.CreateResource(ctx, api.ResourceRequest{ID: "web", Agent: "builtin:dummy"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.CreateResource(ctx, api.ResourceRequest{ID: "db", Agent: "ocf:heartbeat:Dummy"}); err != nil {
		t.Fatal(err)
	}
	// web started on n1.
	if res, _ := c.backend.Propose(ctx, store.NewOpResult(store.OpResult{Node: "n1",
		Resource: model.ResourceHistory{ID: "web", Class: "builtin", Type: "dummy"},
		Op:       model.OpRecord{Operation: "start", CallID: 3, RC: 0, TargetRC: 0}})); res.Err != nil {
		t.Fatal(res.Err)
	}
	req, _ := http.NewRequest("GET", c.ts.URL+"/v1/status", nil)
	req.Header.Set("Authorization", "Bearer "+c.admin)
	resp, err := c.rawClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if st["leader"] != "n1" || st["quorum"] != true {
		t.Errorf("leader/quorum: %v %v", st["leader"], st["quorum"])
	}
	nodes := st["nodes"].([]any)
	want := map[string]string{"n1": "online", "n2": "offline"}
	for _, n := range nodes {
		n := n.(map[string]any)
		if want[n["name"].(string)] != n["state"] {
			t.Errorf("node %v: state %v", n["name"], n["state"])
		}
	}
	if len(nodes) != 2 {
		t.Errorf("nodes: %v", nodes)
	}
	got := map[string]map[string]any{}
	for _, r := range st["resources"].([]any) {
		r := r.(map[string]any)
		for _, k := range []string{"id", "agent", "role", "nodes"} {
			if _, ok := r[k]; !ok {
				t.Errorf("resource %v has no %q", r["id"], k)
			}
		}
		got[r["id"].(string)] = r
	}
	if r := got["web"]; r["role"] != "Started" || r["agent"] != "builtin:dummy" || len(r["nodes"].([]any)) != 1 || r["nodes"].([]any)[0] != "n1" {
		t.Errorf("web: %v", r)
	}
	if r := got["db"]; r["role"] != "Stopped" || len(r["nodes"].([]any)) != 0 {
		t.Errorf("db: %v", r)
	}
}

// PACELINE_ADDR may list several addresses; the client moves on when one
// does not answer.
func TestClientFailsOverToNextAddress(t *testing.T) {
	c := newCluster(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "https://" + ln.Addr().String()
	ln.Close() // connections to it are refused
	ctx := context.Background()
	st, err := c.newClient(t, c.admin, dead, c.ts.URL).Status(ctx)
	if err != nil || st.Leader != "n1" {
		t.Fatalf("failover: %+v %v", st, err)
	}
	_, err = c.newClient(t, c.admin, dead, dead).Status(ctx)
	if err == nil || !strings.Contains(err.Error(), "no server answered") || !strings.Contains(err.Error(), "refused") {
		t.Errorf("all addresses dead: %v, want one error listing the refusals", err)
	}
	// An answer that is an error (here 401) is not a reason to move on.
	_, err = c.newClient(t, "plt1.x.y", c.ts.URL, dead).Status(ctx)
	if statusOf(err) != http.StatusUnauthorized {
		t.Errorf("bad token with failover: %v, want the 401", err)
	}
}

func TestEventsStreamStatusChanges(t *testing.T) {
	c := newCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	events := make(chan api.Status, 10)
	go c.client.Watch(ctx, func(ev api.Event) error {
		events <- ev.Status
		return nil
	})
	first := <-events
	if len(first.Resources) != 0 {
		t.Fatalf("first event: %+v", first)
	}
	if _, err := c.client.CreateResource(ctx, api.ResourceRequest{ID: "web", Agent: "builtin:dummy"}); err != nil {
		t.Fatal(err)
	}
	select {
	case st := <-events:
		if len(st.Resources) != 1 || st.Resources[0].ID != "web" || st.Epoch != first.Epoch+1 {
			t.Errorf("event after create: %+v", st)
		}
	case <-ctx.Done():
		t.Fatal("no event after a change")
	}
}

func TestJoinTokenCarriesCAFingerprint(t *testing.T) {
	c := newCluster(t)
	tr, err := c.client.CreateJoinToken(context.Background(), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	jt, err := pki.ParseJoinToken(tr.Token)
	if err != nil || jt.CAFingerprint != c.ca.Fingerprint() {
		t.Errorf("join token %q: %+v %v", tr.Token, jt, err)
	}
	if d := time.Until(tr.Expires); d < 9*time.Minute || d > 11*time.Minute {
		t.Errorf("expires in %v, want 10m", d)
	}
}
