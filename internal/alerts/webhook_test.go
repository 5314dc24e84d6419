package alerts

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/store"
)

type received struct {
	ev  api.ClusterEvent
	sig string
	at  time.Time
}

func receiver(t *testing.T) (*httptest.Server, chan received) {
	got := make(chan received, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev api.ClusterEvent
		if err := json.Unmarshal(body, &ev); err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("webhook got %s %q (%v)", r.Method, body, err)
		}
		if sig := r.Header.Get(HeaderSignature); sig != "" && sig != Sign([]byte("k3y"), body) {
			t.Errorf("bad signature %s", sig)
		}
		got <- received{ev: ev, sig: r.Header.Get(HeaderSignature), at: time.Now()}
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// A webhook gets each wanted event as JSON, signed; a receiver that is
// down fails (recorded, after its retries) without delaying the other.
func TestWebhookDeliveryAndADeadReceiver(t *testing.T) {
	f := newFakeLeader()
	srv, got := receiver(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/hook"
	ln.Close() // nothing listens there now
	f.apply(t, store.NewAlertPut(store.Alert{ID: "hook", Kind: store.AlertWebhook, URL: srv.URL + "/hook",
		Events: []string{"node", "resource-recovered"}, Secrets: map[string]string{store.AlertSecretHMAC: "k3y"}}))
	f.apply(t, store.NewAlertPut(store.Alert{ID: "dead", Kind: store.AlertWebhook, URL: dead}))
	f.start(t, f.config())
	time.Sleep(50 * time.Millisecond)

	at := time.Now()
	f.apply(t, store.NewEventAppend(
		store.Event{At: at.UnixMilli(), Kind: store.EventNodeLost, Node: "n2"},
		store.Event{At: at.UnixMilli(), Kind: store.EventConfigChanged, Epoch: 4, Who: "token:x"}, // not wanted by hook
		store.Event{At: at.UnixMilli(), Kind: store.EventRecovered, Resource: "web", From: "n2", To: "n1"}))
	var kinds []string
	for range 2 {
		select {
		case r := <-got:
			kinds = append(kinds, r.ev.Kind)
			if !strings.HasPrefix(r.sig, "sha256=") {
				t.Errorf("unsigned delivery: %+v", r)
			}
			t.Logf("%s delivered %v after the event was committed", r.ev.Kind, r.at.Sub(at).Round(time.Millisecond))
			if r.ev.Kind == "resource-recovered" && (r.ev.From != "n2" || r.ev.To != "n1" || r.ev.Resource != "web" || r.ev.Seq != 3) {
				t.Errorf("recovered event as delivered: %+v", r.ev)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("webhook got %v within 2s, want node-lost and resource-recovered", kinds)
		}
	}
	if kinds[0] != "node-lost" || kinds[1] != "resource-recovered" {
		t.Fatalf("delivered in order %v", kinds)
	}
	if rec := f.waitRecord(t, "hook", 3, time.Second); rec.Kind != store.EventAlertDelivered {
		t.Fatalf("record %+v", rec)
	}
	rec := f.waitRecord(t, "dead", 1, 5*time.Second)
	if rec.Kind != store.EventAlertFailed || !strings.Contains(rec.Reason, "3 attempts") || !strings.Contains(rec.Reason, "connection refused") {
		t.Fatalf("dead receiver's record %+v", rec)
	}
	t.Logf("dead receiver: %s", rec.Reason)
	select {
	case r := <-got:
		t.Fatalf("unwanted delivery %+v", r.ev)
	case <-time.After(100 * time.Millisecond):
	}
}

// A new leader delivers what has no delivery record yet (at least once),
// and nothing older than the window.
func TestNewLeaderDeliversUnrecordedEvents(t *testing.T) {
	f := newFakeLeader()
	srv, got := receiver(t)
	now := time.Now()
	f.apply(t, store.NewAlertPut(store.Alert{ID: "hook", Kind: store.AlertWebhook, URL: srv.URL, Created: now.Add(-2 * time.Minute).UnixMilli()}))
	f.apply(t, store.NewEventAppend(
		store.Event{At: now.Add(-time.Hour).UnixMilli(), Kind: store.EventNodeLost, Node: "old"},
		store.Event{At: now.Add(-3 * time.Minute).UnixMilli(), Kind: store.EventNodeLost, Node: "before-the-alert"},
		store.Event{At: now.UnixMilli(), Kind: store.EventNodeLost, Node: "n1"},
		store.Event{At: now.UnixMilli(), Kind: store.EventNodeLost, Node: "n2"},
		store.Event{At: now.UnixMilli(), Kind: store.EventAlertDelivered, Alert: "hook", Ref: 3}))
	f.start(t, f.config())
	select {
	case r := <-got:
		if r.ev.Node != "n2" {
			t.Fatalf("delivered %+v, want only n2's (n1's was recorded, old's is out of the window, one is older than the alert)", r.ev)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("nothing delivered")
	}
	select {
	case r := <-got:
		t.Fatalf("also delivered %+v", r.ev)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestWants(t *testing.T) {
	all := store.Alert{ID: "a", Kind: store.AlertWebhook}
	failures := store.Alert{ID: "f", Kind: store.AlertEmail, Events: []string{"alert-failed", "node"}}
	script := store.Alert{ID: "s", Kind: store.AlertScript}
	for _, c := range []struct {
		a    store.Alert
		e    store.Event
		want bool
	}{
		{all, store.Event{Kind: store.EventNodeLost}, true},
		{all, store.Event{Kind: store.EventConfigChanged}, true},
		{all, store.Event{Kind: store.EventAlertFailed, Alert: "x", Detail: "node-lost"}, false}, // not named
		{all, store.Event{Kind: store.EventAlertDelivered, Alert: "x"}, false},
		{failures, store.Event{Kind: store.EventAlertFailed, Alert: "a", Detail: "node-lost"}, true},
		{failures, store.Event{Kind: store.EventAlertFailed, Alert: "f", Detail: "node-lost"}, false},    // its own
		{failures, store.Event{Kind: store.EventAlertFailed, Alert: "a", Detail: "alert-failed"}, false}, // second order
		{failures, store.Event{Kind: store.EventRecovered}, false},
		{script, store.Event{Kind: store.EventRecovered}, true},
		{script, store.Event{Kind: store.EventConfigChanged}, false}, // no Pacemaker alert, not named
		{store.Alert{ID: "s2", Kind: store.AlertScript, Events: []string{"config-changed"}}, store.Event{Kind: store.EventConfigChanged}, true},
	} {
		if got := Wants(c.a, c.e); got != c.want {
			t.Errorf("Wants(%s %v, %s alert=%s detail=%s) = %t", c.a.ID, c.a.Events, c.e.Kind, c.e.Alert, c.e.Detail, got)
		}
	}
}
