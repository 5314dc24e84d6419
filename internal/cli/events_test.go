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

// events --follow --json prints the kept events, then each new one as a
// JSON line, until interrupted.
func TestEventsFollow(t *testing.T) {
	tc := newTestCluster(t)
	appendEv := func(e store.Event) {
		if r, err := tc.backend.Propose(context.Background(), store.NewEventAppend(e)); err != nil || r.Err != nil {
			t.Fatal(err, r.Err)
		}
	}
	appendEv(store.Event{At: time.Now().UnixMilli(), Kind: store.EventNodeLost, Node: "n2"})
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int)
	go func() { done <- mainContext(ctx, []string{"events", "--follow", "--json"}, &out, &errb) }()
	waitLines := func(n int) []string {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) >= n && lines[0] != "" {
				return lines
			}
		}
		t.Fatalf("events --follow printed %q (stderr %q), want %d lines", out.String(), errb.String(), n)
		return nil
	}
	waitLines(1)
	appendEv(store.Event{At: time.Now().UnixMilli(), Kind: store.EventNodeOnline, Node: "n2"})
	lines := waitLines(2)
	var e api.ClusterEvent
	if err := json.Unmarshal([]byte(lines[1]), &e); err != nil || e.Kind != "node-online" || e.Seq != 2 {
		t.Fatalf("second line %q: %v", lines[1], err)
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("exit %d, stderr %q", code, errb.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("events --follow did not stop when interrupted")
	}
	if len(strings.Split(strings.TrimSpace(out.String()), "\n")) != 2 {
		t.Fatalf("printed %q", out.String())
	}
}
