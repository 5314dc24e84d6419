package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// fakeLog is a log that remembers what it was asked.
type fakeLog struct{ since time.Time }

func (f *fakeLog) ReadSince(since time.Time, limit int64) ([]byte, error) {
	f.since = since
	return []byte("line one\nline two\n"), nil
}

func TestNodeEndpoints(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	admin, adminRec, _ := pki.NewToken(pki.RoleAdmin, now, 0)
	viewer, viewerRec, _ := pki.NewToken(pki.RoleViewer, now, 0)
	b := NewMemBackend(store.New(), "n1")
	lg := &fakeLog{}
	srv := New(Config{Backend: b, Tokens: pki.NewTokenSet(adminRec, viewerRec), Node: "n1", Now: func() time.Time { return now },
		Info: func() api.NodeInfo {
			return api.NodeInfo{Name: "n1", Version: "1.2.3", Raft: map[string]string{"state": "Leader"}}
		},
		Log: lg})
	get := func(s *Server, path, token string) (int, string) {
		r := httptest.NewRequest("GET", path, nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		body, _ := io.ReadAll(w.Body)
		return w.Code, string(body)
	}
	code, body := get(srv, "/v1/node", viewer)
	var ni api.NodeInfo
	if code != 200 || json.Unmarshal([]byte(body), &ni) != nil || ni.Name != "n1" || ni.Version != "1.2.3" || ni.Raft["state"] != "Leader" || !ni.LogFile {
		t.Errorf("GET /v1/node: %d %s", code, body)
	}
	if code, _ := get(srv, "/v1/node", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /v1/node without a token: %d", code)
	}
	if code, body := get(srv, "/v1/node/log", viewer); code != http.StatusForbidden || strings.Contains(body, "line one") {
		t.Errorf("viewer reads the log: %d %s", code, body)
	}
	if code, body := get(srv, "/v1/node/log?since=30m", admin); code != 200 || body != "line one\nline two\n" || !lg.since.Equal(now.Add(-30*time.Minute)) {
		t.Errorf("admin log since 30m: %d %q since %v", code, body, lg.since)
	}
	if code, body := get(srv, "/v1/node/log?since=yesterday", admin); code != http.StatusBadRequest || !strings.Contains(body, "since") {
		t.Errorf("bad since: %d %s", code, body)
	}
	// The log reads are audited, refused ones included.
	var reads int
	for _, e := range b.Audit() {
		if strings.Contains(e.Action, "/v1/node/log") {
			reads++
		}
	}
	if reads != 3 {
		t.Errorf("%d log reads audited, want 3: %+v", reads, b.Audit())
	}
	bare := New(Config{Backend: b, Tokens: pki.NewTokenSet(adminRec), Node: "n1"})
	if code, body := get(bare, "/v1/node/log", admin); code != http.StatusNotFound || !strings.Contains(body, "log_file") {
		t.Errorf("no log file: %d %s", code, body)
	}
	if code, _ := get(bare, "/v1/node", admin); code != http.StatusNotFound {
		t.Errorf("no info: %d", code)
	}
}

// staleBackend is a node whose copy of the state is behind.
type staleBackend struct{ *MemBackend }

func (staleBackend) Fresh(ctx context.Context) error { return errors.New("n1 is catching up") }

// A node that is behind refuses cluster reads (503, ask elsewhere) but
// still describes itself: metrics, version and Raft state, log.
func TestNodeEndpointsAnswerWhileBehind(t *testing.T) {
	now := time.Now()
	admin, adminRec, _ := pki.NewToken(pki.RoleAdmin, now, 0)
	b := staleBackend{NewMemBackend(store.New(), "n1")}
	srv := New(Config{Backend: b, Tokens: pki.NewTokenSet(adminRec), Node: "n1",
		Info:    func() api.NodeInfo { return api.NodeInfo{Name: "n1"} },
		Log:     &fakeLog{},
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "paceline_quorum 0\n") })})
	for path, want := range map[string]int{"/v1/status": http.StatusServiceUnavailable, "/v1/node": 200, "/v1/node/log": 200, "/metrics": 200} {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer "+admin)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("GET %s on a node that is behind: %d, want %d", path, w.Code, want)
		}
	}
}
