package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/store"
)

func appendEvents(t *testing.T, c *cluster, evs ...store.Event) {
	t.Helper()
	r, err := c.backend.Propose(context.Background(), store.NewEventAppend(evs...))
	if err != nil || r.Err != nil {
		t.Fatal(err, r.Err)
	}
}

// The history filters by age and number; the stream sends the status
// snapshot (status --watch keeps working) and then each new event once.
func TestEventHistoryAndStream(t *testing.T) {
	c := newCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := time.Now()
	appendEvents(t, c,
		store.Event{At: now.Add(-2 * time.Hour).UnixMilli(), Kind: store.EventNodeOnline, Node: "n2"},
		store.Event{At: now.Add(-time.Minute).UnixMilli(), Kind: store.EventNodeLost, Node: "n2", Detail: "lease expired"})
	all, err := c.client.Events(ctx, 0, 0)
	if err != nil || len(all) != 2 {
		t.Fatalf("all events: %+v, %v", all, err)
	}
	recent, err := c.client.Events(ctx, time.Hour, 0)
	if err != nil || len(recent) != 1 || recent[0].Kind != "node-lost" || recent[0].Seq != 2 || recent[0].Detail != "lease expired" {
		t.Fatalf("events of the last hour: %+v, %v", recent, err)
	}
	if code, msg := c.raw(t, http.MethodGet, "/v1/events/history?since=yesterday", c.viewer, "", nil); code != 400 || !strings.Contains(msg, `since "yesterday"`) {
		t.Fatalf("bad since: %d %q", code, msg)
	}

	statuses := make(chan api.Status, 10)
	go c.client.Watch(ctx, func(ev api.Event) error { statuses <- ev.Status; return nil })
	got := make(chan api.ClusterEvent, 10)
	go c.newClient(t, c.viewer, c.ts.URL).WatchEvents(ctx, 1, func(ev api.ClusterEvent) error { got <- ev; return nil })
	if ev := <-got; ev.Seq != 2 || ev.Kind != "node-lost" {
		t.Fatalf("first streamed event %+v, want seq 2 (after 1)", ev)
	}
	<-statuses
	appendEvents(t, c, store.Event{At: now.UnixMilli(), Kind: store.EventRecovered, Resource: "web", From: "n2", To: "n1"})
	select {
	case ev := <-got:
		if ev.Seq != 3 || ev.Kind != "resource-recovered" || ev.From != "n2" || ev.To != "n1" || !ev.Time.Equal(time.UnixMilli(now.UnixMilli())) {
			t.Fatalf("streamed %+v", ev)
		}
	case <-ctx.Done():
		t.Fatal("no event streamed")
	}
	select {
	case <-statuses:
	case <-ctx.Done():
		t.Fatal("no status snapshot after the change")
	}
	select {
	case ev := <-got:
		t.Fatalf("event streamed twice or unexpected: %+v", ev)
	case <-time.After(100 * time.Millisecond):
	}
}

// Alerts: a bad one is refused in one line and nothing is stored; the
// list never shows secret values; a viewer cannot add one.
func TestAlertsAddListRemove(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	err := c.client.PutAlert(ctx, api.Alert{ID: "hook", Kind: "webhook", URL: "ftp://127.0.0.1/x"})
	if statusOf(err) != 400 || !strings.Contains(err.Error(), `webhook URL "ftp://127.0.0.1/x": want an http:// or https:// URL`) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("ftp URL: %v", err)
	}
	if as, _ := c.client.Alerts(ctx); len(as) != 0 {
		t.Fatalf("a refused alert was stored: %+v", as)
	}
	err = c.newClient(t, c.viewer, c.ts.URL).PutAlert(ctx, api.Alert{ID: "hook", Kind: "webhook", URL: "http://127.0.0.1:9/x"})
	if statusOf(err) != 403 {
		t.Fatalf("viewer add: %v", err)
	}
	if err := c.client.PutAlert(ctx, api.Alert{ID: "hook", Kind: "webhook", URL: "http://127.0.0.1:9/x",
		Events: []string{"node", "resource-recovered"}, Secrets: map[string]string{"hmac": "s3cret-value"}}); err != nil {
		t.Fatal(err)
	}
	as, err := c.client.Alerts(ctx)
	if err != nil || len(as) != 1 || as[0].Secrets != nil || len(as[0].SecretNames) != 1 || as[0].SecretNames[0] != "hmac" {
		t.Fatalf("alerts: %+v, %v", as, err)
	}
	for _, e := range c.backend.Audit() {
		if strings.Contains(e.Detail, "s3cret-value") {
			t.Fatalf("the audit log holds the secret: %s", e.Detail)
		}
	}
	if err := c.client.RemoveAlert(ctx, "hook"); err != nil {
		t.Fatal(err)
	}
	if err := c.client.RemoveAlert(ctx, "hook"); statusOf(err) != 404 {
		t.Fatalf("second remove: %v", err)
	}
}
