package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// Issue 5: every refused request gets the right status and a message that
// says why; nothing changes; the server goes on serving; refusals of
// authenticated callers and every change are in the audit log.
func TestTokenRolesAndRefusals(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	op, err := c.client.CreateToken(ctx, "operator", time.Hour)
	if err != nil || op.ID == "" || op.Role != "operator" || op.Expires.IsZero() {
		t.Fatalf("create operator token: %+v, %v", op, err)
	}
	view, err := c.client.CreateToken(ctx, "viewer", 0)
	if err != nil || !view.Expires.IsZero() {
		t.Fatalf("create viewer token that never expires: %+v, %v", view, err)
	}
	if _, err := c.client.CreateToken(ctx, "root", time.Hour); statusOf(err) != http.StatusBadRequest {
		t.Errorf("create token of role root: %v, want 400", err)
	}
	gone, err := c.client.CreateToken(ctx, "admin", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.client.RevokeToken(ctx, gone.ID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if err := c.client.RevokeToken(ctx, "nosuchid"); statusOf(err) != http.StatusNotFound {
		t.Errorf("revoke an unknown id: %v, want 404", err)
	}
	// An expired token, as if created two hours ago for one hour.
	expired, rec, _ := pki.NewToken(pki.RoleAdmin, time.Now().Add(-2*time.Hour), time.Hour)
	if r, err := c.backend.Propose(ctx, store.NewTokenAdd(store.Token{ID: rec.ID, Hash: rec.Hash, Role: "admin", Expires: rec.Expires})); err != nil || r.Err != nil {
		t.Fatal(err, r.Err)
	}
	before := len(c.backend.Audit())

	body := []byte(`{"id":"web","agent":"builtin:dummy"}`)
	for _, tc := range []struct {
		name, token string
		want        int
		msg         string
	}{
		{"no token", "", http.StatusUnauthorized, "missing bearer token"},
		{"garbage token", "hello", http.StatusUnauthorized, "malformed token"},
		{"wrong secret", "plt1." + op.ID + ".wrong", http.StatusUnauthorized, "unknown token"},
		{"expired token", expired, http.StatusUnauthorized, "token " + rec.ID + " expired at "},
		{"revoked token", gone.Token, http.StatusUnauthorized, "token " + gone.ID + " was revoked at "},
		{"viewer writes", view.Token, http.StatusForbidden, "token " + view.ID + " has role viewer; POST /v1/resources needs admin"},
		{"operator creates a resource", op.Token, http.StatusForbidden, "has role operator; POST /v1/resources needs admin"},
	} {
		code, msg := c.raw(t, "POST", "/v1/resources", tc.token, "application/json", body)
		if code != tc.want || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s: %d %q, want %d with %q", tc.name, code, msg, tc.want, tc.msg)
		}
	}
	if n := len(c.backend.Config().Resources); n != 0 {
		t.Errorf("refused requests created %d resources", n)
	}
	// Only the two 403s were recorded (401s are not), with their author.
	audit := c.backend.Audit()[before:]
	if len(audit) != 2 || audit[0].Token != view.ID || audit[1].Token != op.ID || audit[1].Role != "operator" ||
		!strings.Contains(audit[1].Result, "needs admin") || !strings.HasPrefix(audit[1].Source, "127.0.0.1:") {
		t.Errorf("audit of the refusals: %+v", audit)
	}
	// The operator can do operational things; the server still serves.
	if err := c.newClient(t, op.Token, c.ts.URL).SetNodeAttributes(ctx, "n1", map[string]string{"standby": "on"}); err != nil {
		t.Errorf("operator sets standby: %v", err)
	}
	if _, err := c.newClient(t, view.Token, c.ts.URL).Status(ctx); err != nil {
		t.Errorf("viewer reads status after the refusals: %v", err)
	}
	// Viewers and operators cannot see, make or revoke tokens.
	if _, err := c.newClient(t, op.Token, c.ts.URL).CreateToken(ctx, "admin", 0); statusOf(err) != http.StatusForbidden {
		t.Errorf("operator creates an admin token: %v, want 403", err)
	}
	if _, err := c.newClient(t, view.Token, c.ts.URL).Tokens(ctx); statusOf(err) != http.StatusForbidden {
		t.Errorf("viewer lists tokens: %v, want 403", err)
	}
}

// The bootstrap admin token lives in the node's tokens file, not in the
// store; revoking it in the store refuses it everywhere.
func TestBootstrapTokenCanBeRevoked(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	second, err := c.client.CreateToken(ctx, "admin", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	boot, _ := pki.TokenID(c.admin)
	list, err := c.client.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, ti := range list {
		sources = append(sources, ti.ID+"="+ti.Source)
	}
	if !strings.Contains(strings.Join(sources, " "), boot+"="+api.TokenSourceLocal) ||
		!strings.Contains(strings.Join(sources, " "), second.ID+"="+api.TokenSourceCluster) {
		t.Errorf("token list %v: want %s local and %s cluster", sources, boot, second.ID)
	}
	if err := c.newClient(t, second.Token, c.ts.URL).RevokeToken(ctx, boot); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.Status(ctx); statusOf(err) != http.StatusUnauthorized || !strings.Contains(err.Error(), "was revoked") {
		t.Errorf("revoked bootstrap token: %v, want 401 naming the revocation", err)
	}
}

// Every change is audited with its author and result, secret values are
// masked, and the chain the server stores is the one clients verify.
func TestAuditRecordsChangesAndMasksSecrets(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	req := api.ResourceRequest{ID: "db", Agent: "builtin:dummy",
		Params: []api.NV{{Name: "user", Value: "app"}, {Name: "password", Value: "hunter2"}, {Name: "ssl_key", Value: "PRIVATE"}}}
	if _, err := c.client.CreateResource(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := c.client.DeleteResource(ctx, "nosuch"); statusOf(err) != http.StatusNotFound {
		t.Fatalf("delete nosuch: %v", err)
	}
	if _, err := c.client.Status(ctx); err != nil { // reads are not audited
		t.Fatal(err)
	}
	log, err := c.newClient(t, c.viewer, c.ts.URL).Audit(ctx)
	if err != nil {
		t.Fatalf("viewer reads the audit log: %v", err)
	}
	if len(log.Entries) != 2 {
		t.Fatalf("audit entries %+v, want 2", log.Entries)
	}
	create, del := log.Entries[0], log.Entries[1]
	adminID, _ := pki.TokenID(c.admin)
	if create.Action != "POST /v1/resources" || create.Token != adminID || create.Role != "admin" || create.Result != "ok" {
		t.Errorf("create entry %+v", create)
	}
	if strings.Contains(create.Detail, "hunter2") || strings.Contains(create.Detail, "PRIVATE") ||
		!strings.Contains(create.Detail, `"value":"***"`) || !strings.Contains(create.Detail, `"value":"app"`) {
		t.Errorf("create detail %s: secrets must be masked, the rest kept", create.Detail)
	}
	if del.Action != "DELETE /v1/resources/nosuch" || !strings.Contains(del.Result, "no resource") {
		t.Errorf("failed delete entry %+v: want its error", del)
	}
	if err := api.VerifyAudit(log.Entries); err != nil {
		t.Errorf("client-side verify of the server's chain: %v", err)
	}
	log.Entries[0].Detail = strings.Replace(log.Entries[0].Detail, "app", "root", 1)
	if err := api.VerifyAudit(log.Entries); err == nil || !strings.Contains(err.Error(), "entry 1 ") {
		t.Errorf("verify of an edited entry: %v, want entry 1 named", err)
	}
}
