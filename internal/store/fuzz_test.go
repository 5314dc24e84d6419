package store

import "testing"

// FuzzDecode feeds arbitrary bytes to the command decoder (what a peer's
// propose body and every log entry go through) and applies what decodes
// to a small store: no panic; a rejected command changes nothing; what
// decodes re-encodes to a command that decodes the same.
func FuzzDecode(f *testing.F) {
	for _, c := range []Command{
		NewNodeJoin("n2", RoleClient, "127.0.0.1:7102"), NewNodeLeave("n1"),
		NewNodeState("n1", StateOnline, Lease{Leader: "n1", TTL: 1000}),
		NewNodeAttrSet("n1", map[string]string{"standby": "on"}), NewNodeAttrDelete("n1", "standby"),
		NewFailCountClear(FailCountClear{Resource: "web"}), NewNodeCert(NodeCert{Name: "n1", Serial: "ab12"}),
		NewCertRevoke(CertRevoke{Serial: "ab12", Node: "n1"}), NewConfigRollback(1, 1, Change{}),
	} {
		b, err := Encode(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"v":1,"type":"config.put","config_put":{"expected_epoch":1,"config":{}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Decode(b)
		if err != nil {
			return
		}
		s := New()
		s.Apply(NewNodeJoin("n1", RoleServer, "a"))
		before, _ := s.Snapshot()
		if r := s.Apply(c); r.Err != nil {
			if after, _ := s.Snapshot(); string(after) != string(before) {
				t.Fatalf("%s: rejected (%v) but the store changed", b, r.Err)
			}
		}
		if _, err := s.Snapshot(); err != nil {
			t.Fatalf("%s: snapshot after apply: %v", b, err)
		}
		e, err := Encode(c)
		if err != nil {
			return // e.g. a float that JSON cannot encode back
		}
		c2, err := Decode(e)
		if err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", e, err)
		}
		if e2, _ := Encode(c2); string(e2) != string(e) {
			t.Fatalf("round trip differs:\n%s\n%s", e, e2)
		}
	})
}
