package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/httpapi"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// newLocalServer is a server over a fresh store with members n1 and n2,
// without a network listener: ServeLocal is its only caller.
func newLocalServer(t *testing.T) (*httpapi.Server, *httpapi.MemBackend, *store.Store, string) {
	t.Helper()
	st := store.New()
	for _, c := range []store.Command{
		store.NewNodeJoin("n1", store.RoleServer, "127.0.0.1:7101"),
		store.NewNodeJoin("n2", store.RoleServer, "127.0.0.1:7102"),
	} {
		if r := st.Apply(c); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	admin, rec, _ := pki.NewToken(pki.RoleAdmin, time.Now(), 0)
	b := httpapi.NewMemBackend(st, "n1")
	return httpapi.New(httpapi.Config{Backend: b, Tokens: pki.NewTokenSet(rec)}), b, st, admin
}

// noStonith sets stonith-enabled=false: the fixtures' two servers without
// fence devices would otherwise be a gated two-node cluster
// (docs/two-node.md; the CLI's TestTwoNodeGateOneLine covers the gate).
func noStonith(t *testing.T, st *store.Store) {
	t.Helper()
	cfg := st.Config()
	cfg.Properties = map[string]string{"stonith-enabled": "false"}
	if r := st.Apply(store.NewConfigPut(cfg.Epoch, *cfg, store.Change{Message: "test fixture"})); r.Err != nil {
		t.Fatal(r.Err)
	}
}

// serveLocal sends one request through ServeLocal and returns the status
// and the error message (if any).
func serveLocal(s *httpapi.Server, p pki.Principal, method, path, body string, header ...string) (int, string) {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = "unix:/var/lib/paceline/compat.sock"
	r.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	s.ServeLocal(w, r, p)
	var e api.Error
	_ = json.Unmarshal(w.Body.Bytes(), &e)
	return w.Code, e.Message
}

// A local principal goes through the route table as a token of its role
// would: an operator's transient attribute and permanent node attribute
// are changed and audited under the local name and source; a cluster
// option (admin) is refused with 403, changes nothing and is audited as
// refused, even when the request carries an admin token.
func TestServeLocalChecksRoleAndAudits(t *testing.T) {
	s, b, st, admin := newLocalServer(t)
	local := httpapi.LocalPrincipal("uid=0@n1", pki.RoleOperator)
	if local.TokenID != "local:uid=0@n1" {
		t.Fatalf("LocalPrincipal: %+v", local)
	}
	const src = "unix:/var/lib/paceline/compat.sock"

	if code, msg := serveLocal(s, local, "PUT", "/v1/nodes/n1/attributes", `{"pingd":"100"}`); code != http.StatusNoContent {
		t.Fatalf("transient attribute: %d %s", code, msg)
	}
	if m := b.Members(); m[0].Attributes["pingd"] != "100" {
		t.Errorf("transient attribute not set: %+v", m[0])
	}

	cfg := b.Config() // the joins made epoch 2, with the members' node entries
	cfg.Nodes[0].Attributes = map[string]string{"rack": "r7"}
	body, _ := json.Marshal(cfg)
	if code, msg := serveLocal(s, local, "POST", "/v1/config", string(body)); code != http.StatusOK {
		t.Fatalf("permanent node attribute: %d %s", code, msg)
	}
	if n := b.Config().Nodes; len(n) == 0 || n[0].Attributes["rack"] != "r7" {
		t.Errorf("permanent node attribute not set: %+v", n)
	}

	epoch := b.Config().Epoch
	for _, hdr := range [][]string{nil, {"Authorization", "Bearer " + admin}} {
		code, msg := serveLocal(s, local, "PUT", "/v1/properties/stonith-enabled", `{"value":"false"}`, hdr...)
		if code != http.StatusForbidden || !strings.Contains(msg, "local caller local:uid=0@n1 has role operator") ||
			!strings.Contains(msg, "needs admin") {
			t.Errorf("cluster option (headers %q): %d %q, want 403 naming the local caller", hdr, code, msg)
		}
	}
	if c := b.Config(); c.Epoch != epoch || c.Properties["stonith-enabled"] != "" {
		t.Errorf("a refused cluster option changed the configuration: epoch %d (was %d), %v", c.Epoch, epoch, c.Properties)
	}

	audit := b.Audit()
	if len(audit) != 4 {
		t.Fatalf("audit: %d entries, want 4: %+v", len(audit), audit)
	}
	for i, want := range []struct{ action, result string }{
		{"PUT /v1/nodes/n1/attributes", "ok"},
		{"POST /v1/config", "ok"},
		{"PUT /v1/properties/stonith-enabled", "needs admin"},
		{"PUT /v1/properties/stonith-enabled", "needs admin"},
	} {
		e := audit[i]
		if e.Token != "local:uid=0@n1" || e.Role != "operator" || e.Source != src || e.Action != want.action ||
			!strings.Contains(e.Result, want.result) {
			t.Errorf("audit entry %d: %+v, want %s by local:uid=0@n1 from %s: %s", i, e, want.action, src, want.result)
		}
	}
	if !strings.Contains(audit[0].Detail, `"pingd":"100"`) {
		t.Errorf("audit detail of the transient attribute: %q", audit[0].Detail)
	}
	// The configuration history names the local principal, not a token.
	// (Nothing else uses the store now.)
	if h := st.History(); h[len(h)-1].Author != "local:uid=0@n1" || h[len(h)-1].Epoch != epoch {
		t.Errorf("configuration history %+v, want the last change by local:uid=0@n1", h)
	}
}

// ServeLocal keeps the body limit, refuses a principal that is not a
// local one (a wiring bug), and names the source "local" when the caller
// gave none.
func TestServeLocalLimitsAndPrincipal(t *testing.T) {
	s, b, _, _ := newLocalServer(t)
	local := httpapi.LocalPrincipal("uid=0@n1", pki.RoleOperator)
	big := `{"x":"` + strings.Repeat("a", httpapi.MaxBodyBytes) + `"}`
	if code, _ := serveLocal(s, local, "PUT", "/v1/nodes/n1/attributes", big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d, want 413", code)
	}
	if code, _ := serveLocal(s, pki.Principal{TokenID: "abcdefgh", Role: pki.RoleAdmin}, "PUT", "/v1/nodes/n1/attributes", `{"a":"1"}`); code != http.StatusInternalServerError {
		t.Errorf("a token's principal through ServeLocal: %d, want 500", code)
	}
	if m := b.Members(); len(m[0].Attributes) != 0 {
		t.Errorf("refused requests set attributes: %+v", m[0].Attributes)
	}
	r := httptest.NewRequest("PUT", "/v1/nodes/n2/attributes", strings.NewReader(`{"a":"1"}`))
	r.RemoteAddr = ""
	w := httptest.NewRecorder()
	s.ServeLocal(w, r, local)
	audit := b.Audit()
	if w.Code != http.StatusNoContent || audit[len(audit)-1].Source != "local" {
		t.Errorf("no source: %d, audit %+v", w.Code, audit[len(audit)-1])
	}
}

// Nothing that arrives over the network is a local principal: neither no
// token, nor a local principal's name as a bearer token in any shape; none
// of them changes or is audited anything.
func TestNetworkCannotClaimLocalPrincipal(t *testing.T) {
	c := newCluster(t)
	before := len(c.backend.Audit())
	for _, tok := range []string{"", "local:uid=0@n1", "plt1.local:uid=0@n1.x", "plt1.local:uid=0@n1."} {
		code, msg := c.raw(t, "PUT", "/v1/nodes/n1/attributes", tok, "application/json", []byte(`{"pingd":"1"}`))
		if code != http.StatusUnauthorized {
			t.Errorf("bearer %q: %d %q, want 401", tok, code, msg)
		}
	}
	for _, m := range c.backend.Members() {
		if len(m.Attributes) != 0 {
			t.Errorf("%s got attributes %v", m.Name, m.Attributes)
		}
	}
	if n := len(c.backend.Audit()); n != before {
		t.Errorf("401s were audited: %d entries, was %d", n, before)
	}
}

// authz.go: operators may change permanent node attributes through a
// configuration apply (and add or drop a node entry that holds only
// attributes), not the rest of a node entry.
func TestOperatorAppliesNodeAttributes(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	if err := c.client.SetProperty(ctx, "stonith-enabled", "false"); err != nil { // epoch 1
		t.Fatal(err)
	}
	op, err := c.client.CreateToken(ctx, "operator", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	opc := c.newClient(t, op.Token, c.ts.URL)
	apply := func(what string, change func(*model.Config)) error {
		t.Helper()
		cfg, err := c.client.Config(ctx)
		if err != nil {
			t.Fatal(err)
		}
		change(cfg)
		_, err = opc.ApplyConfig(ctx, cfg, false)
		return err
	}
	node := func(cfg *model.Config, name string) *model.Node {
		for i := range cfg.Nodes {
			if cfg.Nodes[i].Name == name {
				return &cfg.Nodes[i]
			}
		}
		cfg.Nodes = append(cfg.Nodes, model.Node{Name: name})
		return &cfg.Nodes[len(cfg.Nodes)-1]
	}
	for _, tc := range []struct {
		what   string
		change func(*model.Config)
		want   int // 0: allowed
	}{
		{"set a member's attribute", func(cfg *model.Config) { node(cfg, "n1").Attributes = map[string]string{"standby": "on"} }, 0},
		{"change it", func(cfg *model.Config) { node(cfg, "n1").Attributes["standby"] = "off" }, 0},
		{"delete it", func(cfg *model.Config) { delete(node(cfg, "n1").Attributes, "standby") }, 0},
		{"add an entry with only attributes", func(cfg *model.Config) { node(cfg, "n9").Attributes = map[string]string{"site": "east"} }, 0},
		{"drop it", func(cfg *model.Config) {
			cfg.Nodes = cfg.Nodes[:len(cfg.Nodes)-1]
		}, 0},
		{"change a node's score", func(cfg *model.Config) { node(cfg, "n1").Score = 100 }, http.StatusForbidden},
		{"add a node with a type", func(cfg *model.Config) {
			n := node(cfg, "n9")
			n.Type, n.Attributes = model.NodeMember, map[string]string{"a": "1"}
		}, http.StatusForbidden},
		{"drop a member's entry", func(cfg *model.Config) { cfg.Nodes = cfg.Nodes[1:] }, http.StatusForbidden},
		{"attributes and a property", func(cfg *model.Config) {
			node(cfg, "n1").Attributes = map[string]string{"a": "1"}
			cfg.Properties["no-quorum-policy"] = "ignore"
		}, http.StatusForbidden},
	} {
		before, _ := c.client.Config(ctx)
		err := apply(tc.what, tc.change)
		after, _ := c.client.Config(ctx)
		switch {
		case tc.want == 0 && err != nil:
			t.Errorf("%s: %v, want allowed", tc.what, err)
		case tc.want != 0 && statusOf(err) != tc.want:
			t.Errorf("%s: %v, want %d", tc.what, err, tc.want)
		case tc.want != 0 && !equalJSON(before, after):
			t.Errorf("%s: refused, yet the configuration changed", tc.what)
		}
		if tc.want == 0 && err != nil {
			t.Fatalf("cannot go on after %s", tc.what)
		}
	}

	// A stale apply is a 409 (retry on the new epoch), not a 403, even when
	// what changed meanwhile is beyond an operator: the Pacemaker helper
	// commands' compare-and-set retries on it.
	stale, _ := c.client.Config(ctx)
	if _, err := c.client.CreateResource(ctx, api.ResourceRequest{ID: "web", Agent: "builtin:dummy"}); err != nil {
		t.Fatal(err)
	}
	node(stale, "n1").Attributes = map[string]string{"standby": "on"}
	if _, err := opc.ApplyConfig(ctx, stale, false); statusOf(err) != http.StatusConflict || !strings.Contains(err.Error(), "epoch") {
		t.Errorf("an operator's stale apply: %v, want 409 naming the epoch", err)
	}
}
