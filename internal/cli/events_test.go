package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/store"
)

func TestEventsCommand(t *testing.T) {
	tc := newTestCluster(t)
	now := time.Now()
	r, err := tc.backend.Propose(context.Background(), store.NewEventAppend(
		store.Event{At: now.Add(-3 * time.Hour).UnixMilli(), Kind: store.EventNodeOnline, Node: "n2"},
		store.Event{At: now.Add(-time.Minute).UnixMilli(), Kind: store.EventNodeLost, Node: "n2", Detail: "lease expired"},
		store.Event{At: now.UnixMilli(), Kind: store.EventRecovered, Node: "n1", Resource: "web", From: "n2", To: "n1"}))
	if err != nil || r.Err != nil {
		t.Fatal(err, r.Err)
	}
	var log api.EventLog
	if err := json.Unmarshal([]byte(ok(t, "events", "--json", "--since", "1h")), &log); err != nil {
		t.Fatal(err)
	}
	if len(log.Events) != 2 || log.Events[0].Kind != "node-lost" || log.Events[1].From != "n2" || log.Events[1].To != "n1" {
		t.Fatalf("events --json --since 1h: %+v", log.Events)
	}
	out := ok(t, "events")
	for _, want := range []string{"node n2 online", "node n2 lost: lease expired", "web recovered: n2 -> n1"} {
		if !strings.Contains(out, want) {
			t.Errorf("events: %q lacks %q", out, want)
		}
	}
	fails(t, ExitUsage, "invalid argument", "events", "--since", "soon")
}

func TestAlertCommands(t *testing.T) {
	newTestCluster(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "hmac.key")
	if err := os.WriteFile(key, []byte("k3y-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fails(t, 1, `webhook URL "ftp://127.0.0.1/x": want an http:// or https:// URL`, "alert", "add", "h", "--webhook", "ftp://127.0.0.1/x")
	fails(t, ExitUsage, "give one of --webhook URL, --email ADDR or --script PATH", "alert", "add", "h")
	fails(t, ExitUsage, "--email needs --smtp", "alert", "add", "m", "--email", "ops@example.org")
	fails(t, 1, `event kind "nod-lost"`, "alert", "add", "h", "--webhook", "http://127.0.0.1:9/x", "--events", "nod-lost")
	if out := ok(t, "alert", "list"); strings.Count(out, "\n") != 1 {
		t.Fatalf("refused alerts were stored: %q", out)
	}
	ok(t, "alert", "add", "h", "--webhook", "http://127.0.0.1:9/x", "--events", "node,resource-recovered", "--secret-file", "hmac="+key)
	ok(t, "alert", "add", "m", "--email", "ops@example.org", "--smtp", "127.0.0.1:2525", "--starttls")
	out := ok(t, "alert", "list")
	for _, want := range []string{"h   ", "webhook", "http://127.0.0.1:9/x", "node,resource-recovered", "hmac", "ops@example.org via 127.0.0.1:2525 (starttls)"} {
		if !strings.Contains(out, want) {
			t.Errorf("alert list: %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "k3y-value") || strings.Contains(ok(t, "alert", "list", "--json"), "k3y-value") {
		t.Fatal("alert list shows the secret")
	}
	ok(t, "alert", "remove", "h")
	fails(t, 1, "alert 'h' not found", "alert", "remove", "h")
}
