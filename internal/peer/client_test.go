package peer

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/controller"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/pki/pkitest"
)

// Lease renewals go over HTTP/1.1 (one at a time, the idle cluster's
// steady traffic, far fewer goroutine switches on the leader than HTTP/2),
// every other call over HTTP/2 (many at once when resources start); both
// reach the same server, and both keep their connection from call to call.
func TestRenewalsOverHTTP1OtherCallsOverHTTP2(t *testing.T) {
	ca, cert := pkitest.Node(t, "n1")
	var mu sync.Mutex
	protos := map[string][]string{} // path -> protocol of each call
	conns := map[string]map[string]bool{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		protos[r.URL.Path] = append(protos[r.URL.Path], r.Proto)
		if conns[r.URL.Path] == nil {
			conns[r.URL.Path] = map[string]bool{}
		}
		conns[r.URL.Path][r.RemoteAddr] = true
		mu.Unlock()
		io.Copy(io.Discard, r.Body)
		w.Write([]byte("{}"))
	}))
	srv.TLS = pki.APIServerTLS(ca, cert)
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	c := NewClient(pki.NodeTLS(ca, cert), func(string) (string, bool) { return addr, true }, 5*time.Second)
	defer c.Close()
	ctx := context.Background()
	for range 3 {
		if err := c.Heartbeat(ctx, "n1", controller.Renewal{Node: "n2"}); err != nil {
			t.Fatal(err)
		}
		if err := c.Exec(ctx, "n1", controller.Op{}); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for path, want := range map[string]string{Prefix + "heartbeat": "HTTP/1.1", Prefix + "exec": "HTTP/2.0"} {
		got := protos[path]
		if len(got) != 3 {
			t.Fatalf("%s: %d calls, want 3 (%v)", path, len(got), protos)
		}
		for _, p := range got {
			if p != want {
				t.Errorf("%s over %s, want %s", path, p, want)
			}
		}
		if n := len(conns[path]); n != 1 {
			t.Errorf("%s: calls over %d connections, want one kept", path, n)
		}
	}
}
