package builtin

import (
	"errors"
	"slices"
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
		current            string
		streaming, members []string
		want               string
	}{
		{SyncOff, "", []string{"h2"}, []string{"h2", "h3"}, ""},
		{SyncOn, "", nil, []string{"h2", "h3"}, ""}, // alone: commits do not wait
		// One name, never a list: the server must not move the role by itself.
		{SyncOn, "", []string{"h3", "h2"}, []string{"h2", "h3"}, `FIRST 1 ("h2")`},
		{SyncOn, "h3", []string{"h3", "h2"}, []string{"h2", "h3"}, `FIRST 1 ("h3")`}, // kept while it streams
		{SyncOn, "h2", []string{"h3"}, []string{"h2", "h3"}, `FIRST 1 ("h3")`},
		{SyncOn, "h2", nil, []string{"h2", "h3"}, ""},
		{SyncStrict, "", nil, []string{"h3", "h2"}, `FIRST 1 ("h2", "h3")`}, // writes wait for any
		{SyncStrict, "h3", nil, []string{"h3", "h2"}, `FIRST 1 ("h3")`},     // writes wait for it
		{SyncStrict, "h3", []string{"h2"}, []string{"h3", "h2"}, `FIRST 1 ("h2")`},
		{SyncOn, "", []string{`a"b`}, nil, `FIRST 1 ("a""b")`},
	} {
		got := syncStandbyNames(c.mode, c.current, c.streaming, c.members)
		if got != c.want {
			t.Errorf("%v %q %v %v: %q, want %q", c.mode, c.current, c.streaming, c.members, got, c.want)
		}
		if n := soleSyncName(got); len(c.streaming) > 0 && c.mode != SyncOff && (n == "" || !slices.Contains(c.streaming, n)) {
			t.Errorf("%q names %q alone, not a streaming standby", got, n)
		}
	}
	for setting, want := range map[string]string{`FIRST 1 ("h2")`: "h2", `FIRST 1 ("h2", "h3")`: "", "": "", `FIRST 1 ("a""b")`: `a"b`, `FIRST 1 ("a"", ""b")`: `a", "b`} {
		if got := soleSyncName(setting); got != want {
			t.Errorf("soleSyncName(%q) = %q, want %q", setting, got, want)
		}
	}
}

// A standby is published synchronous only once every commit acknowledged
// could not have been acknowledged without it.
func TestConfirmSync(t *testing.T) {
	one := `FIRST 1 ("h2")`
	streaming := func(sync string, flush LSN) standbyStat {
		return standbyStat{State: "streaming", Sync: sync, Flush: flush}
	}
	// The server waits for h2 alone: the first sight marks the position.
	states, mark := confirmSync(one, map[string]standbyStat{"h2": streaming("sync", 900), "h3": streaming("async", 950)}, syncMark{}, 1000)
	if states["h2"] != "potential" || states["h3"] != "async" || mark != (syncMark{one, 1000}) {
		t.Fatalf("first sight: %v %v", states, mark)
	}
	// Not yet flushed to the mark: h3 may have acknowledged what h2 lacks.
	if states, _ = confirmSync(one, map[string]standbyStat{"h2": streaming("sync", 999)}, mark, 1200); states["h2"] != "potential" {
		t.Errorf("before the mark: %v", states)
	}
	states, kept := confirmSync(one, map[string]standbyStat{"h2": streaming("sync", 1000), "h3": streaming("async", 1000)}, mark, 1300)
	if states["h2"] != "sync" || kept != mark {
		t.Errorf("at the mark: %v %v", states, kept)
	}
	// A walsender still under the older list (h3 potential): not yet.
	if states, m := confirmSync(one, map[string]standbyStat{"h2": streaming("sync", 900), "h3": streaming("potential", 900)}, syncMark{}, 1000); states["h2"] != "potential" || m != (syncMark{}) {
		t.Errorf("older setting still in force: %v %v", states, m)
	}
	// A mark of another setting does not count.
	if states, m := confirmSync(one, map[string]standbyStat{"h2": streaming("sync", 5000)}, syncMark{`FIRST 1 ("h3")`, 10}, 6000); states["h2"] != "potential" || m != (syncMark{one, 6000}) {
		t.Errorf("another setting's mark: %v %v", states, m)
	}
	// A list (strict, none named yet) or none: nobody synchronous.
	if states, m := confirmSync(`FIRST 1 ("h2", "h3")`, map[string]standbyStat{"h2": streaming("sync", 5000)}, mark, 6000); states["h2"] != "potential" || m != (syncMark{}) {
		t.Errorf("a list: %v %v", states, m)
	}
	// h2 gone for a moment while still named alone: the mark stays (commits waited).
	if _, m := confirmSync(one, map[string]standbyStat{"h3": streaming("async", 5000)}, mark, 6000); m != mark {
		t.Errorf("named standby away: mark %v", m)
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
