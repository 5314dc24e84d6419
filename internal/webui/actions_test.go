package webui_test

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/webui"
)

func (e *env) attr(node, name string) string {
	for _, m := range e.backend.Members() {
		if m.Name == node {
			return m.Attributes[name]
		}
	}
	return ""
}

func TestActionsGoThroughTheAPIWithTheSessionsToken(t *testing.T) {
	e := newEnv(t, webui.Hooks{})
	b := e.browser(t)
	b.login(e.tokens["operator"].Token)
	csrf := b.csrf("/ui/")
	act := func(form url.Values) answer {
		form.Set("csrf", csrf)
		return b.post("/ui/action", form)
	}
	audits := len(e.backend.Audit())
	a := act(url.Values{"action": {"standby"}, "node": {"n2"}, "back": {"/ui/nodes/n2"}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/ui/nodes/n2" || e.attr("n2", "standby") != "on" {
		t.Fatalf("standby n2: %d %q, standby=%q", a.status, a.body, e.attr("n2", "standby"))
	}
	// The audit entry is the API's, with the operator's token id.
	got := e.backend.Audit()[audits:]
	if len(got) != 1 || got[0].Token != e.tokens["operator"].ID || got[0].Action != "PUT /v1/nodes/n2/attributes" ||
		got[0].Result != "ok" || !strings.HasPrefix(got[0].Source, "127.0.0.1:") {
		t.Errorf("audit of the standby: %+v", got)
	}
	if a := act(url.Values{"action": {"unstandby"}, "node": {"n2"}}); a.status != http.StatusSeeOther || e.attr("n2", "standby") != "" {
		t.Errorf("unstandby: %d, standby=%q", a.status, e.attr("n2", "standby"))
	}
	if act(url.Values{"action": {"maintenance"}, "node": {"n3"}}); e.attr("n3", "maintenance") != "on" {
		t.Errorf("maintenance n3 not set")
	}
	if act(url.Values{"action": {"unmaintenance"}, "node": {"n3"}}); e.attr("n3", "maintenance") != "" {
		t.Errorf("maintenance n3 not cleared")
	}
	meta := func(id string) string {
		return model.FindResource(e.backend.Config().Resources, id).Meta["target-role"]
	}
	if a := act(url.Values{"action": {"disable"}, "resource": {"web"}}); a.status != http.StatusSeeOther || meta("web") != api.RoleStopped {
		t.Errorf("disable: %d %q, target-role %q", a.status, a.body, meta("web"))
	}
	if rp := b.get("/ui/resources/web").body; !strings.Contains(rp, `data-action="enable"`) || strings.Contains(rp, `data-action="disable"`) {
		t.Error("a disabled resource's page does not offer Enable alone")
	}
	if act(url.Values{"action": {"enable"}, "resource": {"web"}}); meta("web") != api.RoleStarted {
		t.Errorf("enable: target-role %q", meta("web"))
	}
	// The secret parameters survived the operator's edit.
	if p := model.FindResource(e.backend.Config().Resources, "web").Params; p[0].Value != "hunter2" || p[1].Value != "s3cr3t-flagged" {
		t.Errorf("parameters after enable: %+v", p)
	}
	hasPrefer := func() bool {
		for _, l := range e.backend.Config().Locations {
			if l.ID == "cli-prefer-web" && l.Node == "n3" && l.Score == model.Infinity {
				return true
			}
		}
		return false
	}
	act(url.Values{"action": {"move"}, "resource": {"web"}, "node": {"n2"}})
	if a := act(url.Values{"action": {"move"}, "resource": {"web"}, "node": {"n3"}}); a.status != http.StatusSeeOther || !hasPrefer() {
		t.Errorf("move web to n3: %d %q, locations %+v", a.status, a.body, e.backend.Config().Locations)
	}
	if a := act(url.Values{"action": {"clear"}, "resource": {"web"}}); a.status != http.StatusSeeOther || len(e.backend.Config().Locations) != 0 {
		t.Errorf("clear: %d, locations %+v", a.status, e.backend.Config().Locations)
	}
	if a := act(url.Values{"action": {"cleanup"}, "resource": {"web"}}); a.status != http.StatusSeeOther || strings.Contains(b.get("/ui/").body, "start on n2: exit 1") {
		t.Errorf("cleanup: %d; the failed action is still shown", a.status)
	}
	// Bad input: one line, the API's status, nothing changed.
	epoch := e.backend.Config().Epoch
	for _, tc := range []struct {
		form url.Values
		want int
		msg  string
	}{
		{url.Values{"action": {"standby"}, "node": {"nx"}}, http.StatusNotFound, `standby nx: no node &#34;nx&#34;`},
		{url.Values{"action": {"move"}, "resource": {"web"}, "node": {"nx"}}, http.StatusBadRequest, `no node &#34;nx&#34; to move`},
		{url.Values{"action": {"disable"}, "resource": {"nosuch"}}, http.StatusNotFound, `no resource &#34;nosuch&#34;`},
		{url.Values{"action": {"reboot"}, "node": {"n1"}}, http.StatusBadRequest, `unknown action &#34;reboot&#34;`},
		{url.Values{"action": {"switchover"}, "resource": {"db-clone"}}, http.StatusBadRequest, "unknown action"},
	} {
		if a := act(tc.form); a.status != tc.want || !strings.Contains(a.body, tc.msg) {
			t.Errorf("%v: %d, want %d with %q; body %s", tc.form, a.status, tc.want, tc.msg, a.body)
		}
	}
	if e.backend.Config().Epoch != epoch {
		t.Errorf("refused actions changed the configuration")
	}
}

// Bad input: a UI form without its CSRF token (or another session's) is
// 403 and changes nothing.
func TestFormWithoutCSRFIs403(t *testing.T) {
	e := newEnv(t, webui.Hooks{})
	b, other := e.browser(t), e.browser(t)
	b.login(e.tokens["operator"].Token)
	other.login(e.tokens["operator"].Token)
	audits, epoch := len(e.backend.Audit()), e.backend.Config().Epoch
	for name, csrf := range map[string]string{"none": "", "wrong": "x", "another session's": other.csrf("/ui/")} {
		a := b.post("/ui/action", url.Values{"csrf": {csrf}, "action": {"standby"}, "node": {"n1"}})
		if a.status != http.StatusForbidden || !strings.Contains(a.body, "CSRF") {
			t.Errorf("CSRF token %s: %d %q, want 403", name, a.status, a.body)
		}
	}
	if a := b.post("/ui/logout", nil); a.status != http.StatusForbidden {
		t.Errorf("logout without CSRF: %d, want 403", a.status)
	}
	if e.attr("n1", "standby") != "" || len(e.backend.Audit()) != audits || e.backend.Config().Epoch != epoch {
		t.Error("a form without its CSRF token changed something")
	}
	if a := b.get("/ui/"); a.status != http.StatusOK {
		t.Errorf("the session after the refusals: %d", a.status)
	}
}

func TestViewerGetsNoButtonsAnd403(t *testing.T) {
	e := newEnv(t, webui.Hooks{})
	b := e.browser(t)
	b.login(e.tokens["viewer"].Token)
	for _, page := range []string{"/ui/", "/ui/resources/web", "/ui/nodes/n1"} {
		if a := b.get(page); a.status != http.StatusOK || strings.Contains(a.body, "data-action") || strings.Contains(a.body, `action="/ui/action"`) {
			t.Errorf("%s for a viewer: %d, has action buttons: %v", page, a.status, strings.Contains(a.body, "data-action"))
		}
	}
	audits := len(e.backend.Audit())
	csrf := b.csrf("/ui/")
	for _, form := range []url.Values{
		{"action": {"standby"}, "node": {"n1"}},
		{"action": {"disable"}, "resource": {"web"}},
		{"action": {"clear"}, "resource": {"web"}}, // nothing to clear: refused by the UI
	} {
		form.Set("csrf", csrf)
		if a := b.post("/ui/action", form); a.status != http.StatusForbidden || !strings.Contains(a.body, "has role viewer") {
			t.Errorf("viewer posts %v: %d %q, want 403", form, a.status, a.body)
		}
	}
	if e.attr("n1", "standby") != "" || model.FindResource(e.backend.Config().Resources, "web").Meta["target-role"] != "" {
		t.Error("a viewer's action changed something")
	}
	// The API recorded its refusals under the viewer's token.
	got := e.backend.Audit()[audits:]
	if len(got) != 2 || got[0].Token != e.tokens["viewer"].ID || !strings.Contains(got[0].Result, "needs operator") {
		t.Errorf("audit of the refusals: %+v", got)
	}
}

// Bad input: a session cookie replayed after its token was revoked is
// 403 at once, for pages and actions; other sessions go on.
func TestRevokedTokenEndsTheSession(t *testing.T) {
	e := newEnv(t, webui.Hooks{})
	b, other := e.browser(t), e.browser(t)
	b.login(e.tokens["operator"].Token)
	other.login(e.tokens["viewer"].Token)
	csrf := b.csrf("/ui/")
	ctx := context.Background()
	if err := e.admin.RevokeToken(ctx, e.tokens["operator"].ID); err != nil {
		t.Fatal(err)
	}
	if a := b.post("/ui/action", url.Values{"csrf": {csrf}, "action": {"standby"}, "node": {"n1"}}); a.status != http.StatusForbidden ||
		!strings.Contains(a.body, "your session has ended: token "+e.tokens["operator"].ID+" was revoked") {
		t.Errorf("an action after the revocation: %d %q, want 403 saying why", a.status, a.body)
	}
	for _, a := range []answer{b.get("/ui/?fragment=1"),
		b.post("/ui/action", url.Values{"csrf": {csrf}, "action": {"standby"}, "node": {"n1"}})} {
		if a.status != http.StatusForbidden {
			t.Errorf("again after the revocation: %d %q, want 403", a.status, a.body)
		}
	}
	if e.attr("n1", "standby") != "" {
		t.Error("the revoked session's action ran")
	}
	// The session is gone for good: the next page asks to log in.
	if a := b.get("/ui/"); a.status != http.StatusSeeOther {
		t.Errorf("after the revocation, again: %d, want 303 to the login", a.status)
	}
	if a := other.get("/ui/"); a.status != http.StatusOK {
		t.Errorf("another session after the revocation: %d", a.status)
	}
}

// The event stream relays the API's status snapshots and ends within
// about a second of the token's revocation.
func TestEventStreamEndsWhenTheTokenIsRevoked(t *testing.T) {
	e := newEnv(t, webui.Hooks{})
	b := e.browser(t)
	b.login(e.tokens["operator"].Token)
	resp, err := b.hc.Get(e.ts.URL + "/ui/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func(prefix string) bool {
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					return false
				}
				if strings.HasPrefix(l, prefix) {
					return true
				}
			case <-time.After(5 * time.Second):
				return false
			}
		}
	}
	if !next("event: status") {
		t.Fatal("no first status snapshot")
	}
	e.admin.SetNodeAttributes(context.Background(), "n2", map[string]string{"standby": "on"})
	if !next("event: status") {
		t.Fatal("no snapshot after a change")
	}
	if err := e.admin.RevokeToken(context.Background(), e.tokens["operator"].ID); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for range lines {
	}
	t.Logf("the stream ended %v after the revocation", time.Since(start).Round(time.Millisecond))
	if time.Since(start) > 4*time.Second {
		t.Errorf("the stream outlived the revocation by %v", time.Since(start))
	}
}

func TestSwitchoverButtonWhenConnected(t *testing.T) {
	type call struct{ id, node string }
	calls := make(chan call, 1)
	e := newEnv(t, webui.Hooks{Switchover: func(ctx context.Context, c *api.Client, id, node string) error {
		// It speaks as the session: a status read works with its token.
		if _, err := c.Status(ctx); err != nil {
			return err
		}
		calls <- call{id, node}
		return nil
	}})
	b := e.browser(t)
	b.login(e.tokens["operator"].Token)
	if !strings.Contains(b.get("/ui/resources/db").body, `data-action="switchover"`) {
		t.Error("no switchover button on a promotable clone's primitive")
	}
	if strings.Contains(b.get("/ui/resources/web").body, `data-action="switchover"`) {
		t.Error("a switchover button on a primitive that is not promotable")
	}
	a := b.post("/ui/action", url.Values{"csrf": {b.csrf("/ui/")}, "action": {"switchover"}, "resource": {"db"}, "node": {"n2"}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("switchover: %d %q", a.status, a.body)
	}
	if got := <-calls; got != (call{"db", "n2"}) {
		t.Errorf("switchover called with %+v", got)
	}
}
