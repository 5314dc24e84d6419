package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/httpapi"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// fuzzRoutes are the API requests with a body, one per decoder.
var fuzzRoutes = []struct{ method, path, ctype string }{
	{"POST", "/v1/resources", "application/json"},
	{"PUT", "/v1/resources/web", "application/json"},
	{"PUT", "/v1/nodes/n1/attributes", "application/json"},
	{"POST", "/v1/constraints", "application/json"},
	{"PUT", "/v1/properties/stonith-enabled", "application/json"},
	{"POST", "/v1/config", "application/json"},
	{"POST", "/v1/config", "application/yaml"},
	{"POST", "/v1/tokens", "application/json"},
}

// FuzzRequestBodies sends arbitrary bodies to every API request decoder
// (as an admin, in process): the server must never panic or answer 5xx to
// a bad body, and a 4xx answer must leave the state as it was.
func FuzzRequestBodies(f *testing.F) {
	for i := range fuzzRoutes {
		for _, seed := range []string{
			`{}`, `{"id":"web","type":"builtin:dummy"}`, `{"standby":"on"}`,
			`{"location":{"id":"l1","resource":"web","node":"n1","score":"100"}}`,
			`{"value":"false"}`, `{"role":"viewer","ttl":"1h"}`, `{"resources":[]}`,
			"resources:\n- id: web\n  type: builtin:dummy\n", `null`, `[]`, `{"a":1}{"b":2}`,
		} {
			f.Add(uint8(i), []byte(seed))
		}
	}
	admin, rec, err := pki.NewToken(pki.RoleAdmin, time.Now(), 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		st := store.New()
		st.Apply(store.NewNodeJoin("n1", store.RoleServer, "127.0.0.1:7101"))
		b := httpapi.NewMemBackend(st, "n1")
		srv := httpapi.New(httpapi.Config{Backend: b, Tokens: pki.NewTokenSet(rec)})
		before := snapshotOf(t, st)
		req := httptest.NewRequest(rt.method, rt.path, strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Content-Type", rt.ctype)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: status %d: %s", rt.method, rt.path, body, w.Code, w.Body)
		}
		if w.Code >= 400 && w.Code != http.StatusConflict && snapshotOf(t, st) != before {
			t.Fatalf("%s %s %q: refused with %d but the state changed", rt.method, rt.path, body, w.Code)
		}
	})
}

// snapshotOf is the store's state without its audit log: a refused
// change request is audited (that is the point), nothing else may change.
func snapshotOf(t *testing.T, st *store.Store) string {
	t.Helper()
	raw, err := st.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "audit")
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
