package membership

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Unix(1000, 0)

func TestDefaultConfigValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	err := Config{Heartbeat: 0, TTL: 0, SelfFenceDeadline: -1}.Validate()
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("want ErrInvalidConfig, got %v", err)
	}
}

// drift is the margin for a node clock up to ClockDriftRate slower.
func drift(d time.Duration) time.Duration { return time.Duration(float64(d) * ClockDriftRate) }

// DESIGN.md, Safety: recovery only after lease TTL + self-fence deadline
// (plus the clock drift margin); with stonith disabled, once the lease
// expired (plus the margin).
func TestLivenessRecoveryRule(t *testing.T) {
	cfg := DefaultConfig()
	l := NewLeases(cfg, t0)
	l.Renew("n1", t0.Add(time.Second))
	exp := t0.Add(time.Second + cfg.TTL)
	fenced := exp.Add(cfg.SelfFenceDeadline + drift(cfg.TTL+cfg.SelfFenceDeadline))
	cases := []struct {
		at      time.Time
		stonith bool
		want    Liveness
	}{
		{exp.Add(-time.Nanosecond), true, Alive},
		{exp, true, Expired},
		{exp.Add(cfg.SelfFenceDeadline), true, Expired},
		{fenced.Add(-time.Nanosecond), true, Expired},
		{fenced, true, Recoverable},
		{exp, false, Expired},
		{exp.Add(drift(cfg.TTL) - time.Nanosecond), false, Expired},
		{exp.Add(drift(cfg.TTL)), false, Recoverable},
	}
	for _, c := range cases {
		if got := l.Liveness("n1", c.at, c.stonith); got != c.want {
			t.Errorf("at %v stonith=%v: got %v want %v", c.at.Sub(t0), c.stonith, got, c.want)
		}
	}
}

// NextChange is the moment Liveness changes next: checking at it (and
// not before) sees the new verdict, so a leader that sleeps until then
// misses nothing.
func TestNextChangeIsWhenLivenessChanges(t *testing.T) {
	cfg := DefaultConfig()
	for _, stonith := range []bool{true, false} {
		l := NewLeases(cfg, t0)
		l.Renew("n1", t0.Add(time.Second))
		now := t0
		for _, want := range []Liveness{Expired, Recoverable} {
			at := l.NextChange("n1", now, stonith)
			if at.IsZero() || !at.After(now) {
				t.Fatalf("stonith=%v at %v: next change %v", stonith, now.Sub(t0), at.Sub(t0))
			}
			if got := l.Liveness("n1", at.Add(-time.Nanosecond), stonith); got == want {
				t.Errorf("stonith=%v: already %v before %v", stonith, want, at.Sub(t0))
			}
			if got := l.Liveness("n1", at, stonith); got != want {
				t.Errorf("stonith=%v at %v: got %v want %v", stonith, at.Sub(t0), got, want)
			}
			now = at
		}
		if at := l.NextChange("n1", now, stonith); !at.IsZero() {
			t.Errorf("stonith=%v: a recoverable node changes again at %v", stonith, at.Sub(t0))
		}
	}
}

// A new leader first waits one full TTL: a node it never heard from is
// alive until then.
func TestNewLeaderWaitsTTL(t *testing.T) {
	cfg := DefaultConfig()
	l := NewLeases(cfg, t0)
	if got := l.Liveness("ghost", t0.Add(cfg.TTL-time.Millisecond), false); got != Alive {
		t.Fatalf("got %v", got)
	}
	if got := l.Liveness("ghost", t0.Add(cfg.TTL+drift(cfg.TTL)), false); got != Recoverable {
		t.Fatalf("got %v", got)
	}
}

func TestQuorum(t *testing.T) {
	for _, c := range []struct {
		alive, voters int
		want          bool
	}{
		{0, 0, false}, {1, 1, true}, {1, 2, false}, {2, 3, true}, {1, 3, false}, {3, 5, true}, {2, 4, false},
	} {
		if got := Quorum(c.alive, c.voters); got != c.want {
			t.Errorf("Quorum(%d,%d)=%v", c.alive, c.voters, got)
		}
	}
}

// The node's own expiry is never later than the leader's, so it stops its
// resources before the leader may recover them.
func TestHolderSelfFencesBeforeLeaderRecovers(t *testing.T) {
	cfg := DefaultConfig()
	h := NewHolder(cfg)
	if h.SelfFence(t0) {
		t.Fatal("no lease, nothing to fence")
	}
	sent := t0
	h.Renewed(sent)
	l := NewLeases(cfg, t0.Add(-time.Hour))
	l.Renew("n1", sent.Add(5*time.Millisecond)) // granted after it was sent
	if h.SelfFence(h.Expiry().Add(-time.Nanosecond)) || !h.SelfFence(h.Expiry()) {
		t.Fatal("self-fence at expiry")
	}
	if h.Expiry().After(l.Expiry("n1")) {
		t.Fatal("node expiry after leader's")
	}
	if l.Liveness("n1", h.Expiry(), true) == Recoverable {
		t.Fatal("recoverable at the node's own expiry")
	}
}

// An election must fit the lease margin (TTL - 2*Heartbeat) twice over.
func TestRaftTimeoutFitsTheLeaseMargin(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want time.Duration
	}{
		{DefaultConfig(), 275 * time.Millisecond},
		{Config{Heartbeat: 100 * time.Millisecond, TTL: 500 * time.Millisecond, SelfFenceDeadline: 300 * time.Millisecond}, 75 * time.Millisecond},
		{Config{Heartbeat: 100 * time.Millisecond, TTL: 200 * time.Millisecond}, 10 * time.Millisecond},
	} {
		if got := tc.cfg.RaftTimeout(); got != tc.want {
			t.Errorf("RaftTimeout(%+v) = %v, want %v", tc.cfg, got, tc.want)
		}
		if margin := tc.cfg.TTL - 2*tc.cfg.Heartbeat; margin > 0 && 4*tc.cfg.RaftTimeout() > margin {
			t.Errorf("%+v: two elections of up to %v exceed the margin %v", tc.cfg, 2*tc.cfg.RaftTimeout(), margin)
		}
	}
}

// A node guarded by a watchdog is reset before its lease expires (it feeds
// the watchdog only until timeout + Heartbeat/2 before expiry), so the
// leader recovers it at expiry even with fencing enabled; an unguarded
// node costs the self-fence deadline on top.
func TestWatchdogGuardedLease(t *testing.T) {
	cfg := Config{Heartbeat: 100 * time.Millisecond, TTL: 500 * time.Millisecond, SelfFenceDeadline: 300 * time.Millisecond}
	const w = 300 * time.Millisecond
	if err := cfg.CanGuard(w); err != nil {
		t.Fatal(err)
	}
	if err := cfg.CanGuard(400 * time.Millisecond); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("a 400ms watchdog on a 500ms lease with 100ms heartbeats: want ErrInvalidConfig, got %v", err)
	}
	l := NewLeases(cfg, t0)
	l.Renew("n1", t0)
	l.Renew("n2", t0)
	l.Guard("n2", w)
	ttl := cfg.TTL + drift(cfg.TTL)
	if got := l.RecoverableAt("n2", true).Sub(t0); got != ttl {
		t.Errorf("guarded n2 recoverable after %v, want %v", got, ttl)
	}
	full := cfg.TTL + cfg.SelfFenceDeadline
	if got := l.RecoverableAt("n1", true).Sub(t0); got != full+drift(full) {
		t.Errorf("unguarded n1 recoverable after %v, want %v", got, full+drift(full))
	}
	l.Guard("n2", 0)
	if got := l.RecoverableAt("n2", true).Sub(t0); got != full+drift(full) {
		t.Errorf("n2 no longer guarded: recoverable after %v, want %v", got, full+drift(full))
	}

	// The node's side: the last feed is at most 150ms after its last
	// renewal, so the watchdog fires at most 450ms after it: before the
	// 500ms expiry.
	h := NewHolder(cfg)
	if h.FeedWatchdog(t0, w) {
		t.Error("fed without a lease")
	}
	h.Renewed(t0)
	for _, tc := range []struct {
		after time.Duration
		feed  bool
	}{{0, true}, {149 * time.Millisecond, true}, {150 * time.Millisecond, false}, {400 * time.Millisecond, false}} {
		if got := h.FeedWatchdog(t0.Add(tc.after), w); got != tc.feed {
			t.Errorf("feed %v after the renewal = %v, want %v", tc.after, got, tc.feed)
		}
	}
	if last := t0.Add(149 * time.Millisecond); !last.Add(w).Before(h.Expiry()) {
		t.Errorf("a watchdog fed at %v fires at %v, not before the expiry %v", last, last.Add(w), h.Expiry())
	}
}
