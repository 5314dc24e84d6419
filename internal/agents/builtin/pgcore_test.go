package builtin

import (
	"errors"
	"strings"
	"testing"
)

func TestPGParams(t *testing.T) {
	p, err := parsePGParams(map[string]string{"pgdata": "/d", "bindir": "/b"})
	if err != nil || p.Port != 5432 || p.User != "postgres" || p.ReplUser != "postgres" || p.Sync != SyncOff {
		t.Fatalf("defaults: %+v %v", p, err)
	}
	_, err = parsePGParams(map[string]string{"pgdata": "rel", "port": "99999", "synchronous": "maybe", "max_lag": "-1", "user": "a b"})
	if !errors.Is(err, ErrPGParam) {
		t.Fatalf("want ErrPGParam, got %v", err)
	}
	for _, w := range []string{"pgdata", "bindir", "port", "synchronous", "max_lag", "user"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not name %s: %v", w, err)
		}
	}
}

func TestParseLSN(t *testing.T) {
	for s, want := range map[string]LSN{"": 0, "0/3000060": 0x3000060, "1/0": 1 << 32, "AB/FF": 0xAB<<32 | 0xFF} {
		got, err := ParseLSN(s)
		if err != nil || got != want {
			t.Errorf("ParseLSN(%q) = %v, %v; want %v", s, got, err, want)
		}
		if s != "" && got.String() != s {
			t.Errorf("String() = %s, want %s", got, s)
		}
	}
	if _, err := ParseLSN("zz"); err == nil {
		t.Error("ParseLSN(zz) succeeded")
	}
}

// Issue 12: "promotion picks the standby with the most WAL received ...
// never one beyond max_lag, and with synchronous on/strict only one that
// was synchronous".
func TestPromotionScore(t *testing.T) {
	for _, c := range []struct {
		name string
		in   scoreInput
		want string
	}{
		{"primary keeps its place", scoreInput{Role: RolePrimary}, "1001"},
		{"stopped never", scoreInput{Role: RoleStopped}, "-INFINITY"},
		{"empty may bootstrap when no node has data", scoreInput{Role: RoleEmpty}, "1"},
		{"empty never when a node has data", scoreInput{Role: RoleEmpty, AnyData: true}, "-INFINITY"},
		{"sync on: the synchronous standby", scoreInput{Role: RoleStandby, Sync: SyncOn, SyncState: "sync"}, "1000"},
		{"sync on: a potential standby never", scoreInput{Role: RoleStandby, Sync: SyncOn, SyncState: "potential", Received: 100}, "-INFINITY"},
		{"sync strict: a disconnected standby never", scoreInput{Role: RoleStandby, Sync: SyncStrict}, "-INFINITY"},
		{"after a clean shutdown: has the checkpoint", scoreInput{Role: RoleStandby, Sync: SyncOn, Demoted: true, Final: 100, Received: 140}, "1000"},
		{"after a clean shutdown: lacks it", scoreInput{Role: RoleStandby, Sync: SyncOn, Demoted: true, Final: 100, Received: 100}, "-INFINITY"},
		{"after a clean shutdown: streamed from it, receiving it", scoreInput{Role: RoleStandby, Sync: SyncOn, Demoted: true, Final: 100, Received: 100, DemotedState: "potential"}, "2"},
		{"off: most WAL wins", scoreInput{Role: RoleStandby, Received: 5 << 20, Peers: []LSN{4 << 20}}, "1000"},
		{"off: equal to the best", scoreInput{Role: RoleStandby, Received: 5 << 20, Peers: []LSN{5 << 20}}, "1000"},
		{"off: behind a peer by 128 KiB", scoreInput{Role: RoleStandby, Received: 1 << 20, Peers: []LSN{1<<20 + 128<<10}}, "997"},
		{"off: far behind stays promotable", scoreInput{Role: RoleStandby, Received: 1, Peers: []LSN{1 << 40}}, "100"},
		{"off: beyond max_lag never", scoreInput{Role: RoleStandby, Received: 1000, Primary: 5000, MaxLag: 1000}, "-INFINITY"},
		{"off: within max_lag", scoreInput{Role: RoleStandby, Received: 4000, Primary: 5000, MaxLag: 1000}, "1000"},
	} {
		got, why := promotionScore(c.in)
		if got != c.want {
			t.Errorf("%s: score %s (%s), want %s", c.name, got, why, c.want)
		}
	}
}

func TestSyncStandbyNames(t *testing.T) {
	for _, c := range []struct {
		mode               Sync
		streaming, members []string
		want               string
	}{
		{SyncOff, []string{"h2"}, []string{"h2", "h3"}, ""},
		{SyncOn, nil, []string{"h2", "h3"}, ""}, // alone: commits do not wait
		{SyncOn, []string{"h3", "h2"}, []string{"h2", "h3"}, `FIRST 1 ("h2", "h3")`},
		{SyncOn, []string{"h3"}, []string{"h2", "h3"}, `FIRST 1 ("h3")`},
		{SyncStrict, nil, []string{"h3", "h2"}, `FIRST 1 ("h2", "h3")`}, // writes wait
		{SyncOn, []string{`a"b`}, nil, `FIRST 1 ("a""b")`},
	} {
		if got := syncStandbyNames(c.mode, c.streaming, c.members); got != c.want {
			t.Errorf("%v %v %v: %q, want %q", c.mode, c.streaming, c.members, got, c.want)
		}
	}
}

func TestCheckPromote(t *testing.T) {
	oldPrimary := peerView{Name: "h1", Role: "primary", Timeline: 1, LSN: 5000, Standbys: "h2=sync,h3=potential", HasData: true}
	live := oldPrimary
	live.Online = true
	for _, c := range []struct {
		name  string
		self  string
		role  Role
		mode  Sync
		lag   uint64
		recv  LSN
		peers []peerView
		ok    bool
	}{
		{"the sync standby after the primary is lost", "h2", RoleStandby, SyncOn, 0, 5000, []peerView{oldPrimary}, true},
		{"a potential standby never", "h3", RoleStandby, SyncOn, 0, 5000, []peerView{oldPrimary}, false},
		{"never while another primary is online", "h2", RoleStandby, SyncOn, 0, 5000, []peerView{live}, false},
		{"off within max_lag", "h3", RoleStandby, SyncOff, 1000, 4500, []peerView{oldPrimary}, true},
		{"off beyond max_lag", "h3", RoleStandby, SyncOff, 100, 4500, []peerView{oldPrimary}, false},
		{"empty bootstrap", "h1", RoleEmpty, SyncOn, 0, 0, []peerView{{Name: "h2"}, {Name: "h3"}}, true},
		{"empty never over data", "h3", RoleEmpty, SyncOn, 0, 0, []peerView{oldPrimary}, false},
		{"switchover: caught up with the demoted primary", "h3", RoleStandby, SyncOn, 0, 5001,
			[]peerView{{Name: "h1", Role: "standby", Timeline: 1, Final: 5000, FinalTimeline: 1, Standbys: "h2=sync"}}, true},
		{"switchover: not yet caught up", "h3", RoleStandby, SyncOn, 0, 5000,
			[]peerView{{Name: "h1", Role: "standby", Timeline: 1, Final: 5000, FinalTimeline: 1}}, false},
		{"an older demotion does not count", "h3", RoleStandby, SyncOn, 0, 9000,
			[]peerView{{Name: "h1", Role: "standby", Final: 5000, FinalTimeline: 1}, {Name: "h2", Role: "primary", Timeline: 2, Standbys: "h3=potential"}}, false},
		{"the newest timeline's view counts", "h3", RoleStandby, SyncOn, 0, 0,
			[]peerView{oldPrimary, {Name: "h2", Role: "primary", Timeline: 2, Standbys: "h3=sync"}}, true},
	} {
		err := checkPromote(c.self, c.role, c.mode, c.lag, c.recv, c.peers)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrNotPromotable)) {
			t.Errorf("%s: %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

func TestCurrentPrimaryPrefersNewestTimeline(t *testing.T) {
	p, ok := currentPrimary([]peerView{
		{Name: "h1", Online: true, Role: "primary", Timeline: 1},
		{Name: "h2", Online: true, Role: "primary", Timeline: 2},
		{Name: "h3", Online: false, Role: "primary", Timeline: 3},
	})
	if !ok || p.Name != "h2" {
		t.Fatalf("got %v %v, want h2", p.Name, ok)
	}
}

func TestSetAutoConf(t *testing.T) {
	in := "# Do not edit this file manually!\nwork_mem = '8MB'\nprimary_conninfo = 'host=old'\n"
	got := setAutoConf(in, map[string]string{"primary_conninfo": "host='h2'", "synchronous_standby_names": ""})
	want := "# Do not edit this file manually!\nwork_mem = '8MB'\nprimary_conninfo = 'host=''h2'''\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestConninfoAndSlot(t *testing.T) {
	if got := conninfo("host", "10.0.0.1", "user", "o'k", "passfile", ""); got != `host='10.0.0.1' user='o\'k'` {
		t.Errorf("conninfo: %s", got)
	}
	if got := slotName("Node-2.a"); got != "pl_node_2_a" {
		t.Errorf("slotName: %s", got)
	}
}

func TestParseFinal(t *testing.T) {
	if l, tl := parseFinal("0/5000028@3"); l != 0x5000028 || tl != 3 {
		t.Errorf("parseFinal: %v %d", l, tl)
	}
	if l, _ := parseFinal(""); l != 0 {
		t.Errorf("parseFinal empty: %v", l)
	}
}
