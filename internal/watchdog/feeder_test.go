package watchdog

import (
	"sync"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/clock"
)

// recorder is a Watchdog that records when it was fed, by the fake clock.
type recorder struct {
	mu    sync.Mutex
	clk   *clock.Fake
	feeds []time.Time
}

func (r *recorder) Feed() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.feeds = append(r.feeds, r.clk.Now())
	return nil
}
func (r *recorder) Close() error      { return nil }
func (r *recorder) CloseArmed() error { return nil }

func (r *recorder) fed() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.feeds...)
}

// lease is the node's own lease as the Feeder sees it.
type lease struct {
	mu     sync.Mutex
	expiry time.Time
}

func (l *lease) valid(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return now.Before(l.expiry)
}

func (l *lease) renew(until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expiry = until
}

// TestFeederStopsFeedingWhenTheLeaseLapses checks DESIGN.md, Safety: "the
// watchdog is fed only while the lease is valid". No feed happens at or
// after the lease's expiry; feeding resumes on a new grant.
func TestFeederStopsFeedingWhenTheLeaseLapses(t *testing.T) {
	start := time.Unix(1_000_000, 0)
	clk := clock.NewFake(start)
	w := &recorder{clk: clk}
	l := &lease{expiry: start.Add(1050 * time.Millisecond)}
	var logs []string
	f, err := NewFeeder(w, l.valid, clk, FeederConfig{Interval: 200 * time.Millisecond,
		Logf: func(format string, args ...any) { logs = append(logs, format) }})
	if err != nil {
		t.Fatal(err)
	}
	f.Start()
	if f.State() != Feeding || len(w.fed()) != 1 {
		t.Fatalf("Start: state %v, %d feeds; want feeding, 1", f.State(), len(w.fed()))
	}
	clk.Advance(1000 * time.Millisecond) // ticks at 200..1000ms: all within the lease
	if n := len(w.fed()); n != 6 {
		t.Fatalf("%d feeds in the lease's first second, want 6 (0, 200, ..., 1000 ms)", n)
	}
	clk.Advance(2 * time.Second) // the lease lapsed at 1050 ms
	for _, at := range w.fed() {
		if !at.Before(l.expiry) {
			t.Fatalf("fed at %v, after the lease expired at %v", at.Sub(start), l.expiry.Sub(start))
		}
	}
	if len(w.fed()) != 6 || f.State() != Starving {
		t.Fatalf("after the lapse: %d feeds, state %v; want 6, starving", len(w.fed()), f.State())
	}
	if len(logs) != 1 {
		t.Fatalf("logs %q, want one line about the lapse", logs)
	}

	// A new grant: feeding resumes at the next tick.
	l.renew(clk.Now().Add(time.Second))
	clk.Advance(200 * time.Millisecond)
	if len(w.fed()) != 7 || f.State() != Feeding {
		t.Fatalf("after a new grant: %d feeds, state %v; want 7, feeding", len(w.fed()), f.State())
	}

	f.Stop()
	clk.Advance(time.Second)
	if len(w.fed()) != 7 || f.State() != Idle || clk.Pending() != 0 {
		t.Fatalf("after Stop: %d feeds, state %v, %d timers; want 7, idle, 0", len(w.fed()), f.State(), clk.Pending())
	}
}

// A starving Feeder kicked after a renewal feeds at once, not at its next
// tick; a kick while feeding, or after Stop, changes nothing.
func TestKickFeedsAStarvingFeederAtOnce(t *testing.T) {
	start := time.Unix(1_000_000, 0)
	clk := clock.NewFake(start)
	w := &recorder{clk: clk}
	l := &lease{expiry: start.Add(time.Second)}
	f, err := NewFeeder(w, l.valid, clk, FeederConfig{Interval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.Start()
	f.Kick() // feeding: no extra feed
	if n := len(w.fed()); n != 1 {
		t.Fatalf("a kick while feeding: %d feeds, want 1", n)
	}
	clk.Advance(1100 * time.Millisecond) // ticks at 200..1000 ms; the lease lapsed at 1000
	fed := len(w.fed())
	if f.State() != Starving {
		t.Fatalf("state %v after the lapse, want starving", f.State())
	}
	clk.Advance(50 * time.Millisecond) // mid-interval: the next tick is 50 ms away
	l.renew(clk.Now().Add(time.Second))
	f.Kick()
	if got := w.fed(); len(got) != fed+1 || !got[len(got)-1].Equal(clk.Now()) || f.State() != Feeding {
		t.Fatalf("after a renewal and a kick: %d feeds (last at %v), state %v; want %d, at %v, feeding",
			len(got), got[len(got)-1].Sub(start), f.State(), fed+1, clk.Now().Sub(start))
	}
	if clk.Pending() != 1 {
		t.Fatalf("%d timers after a kick, want 1 (the old tick was replaced)", clk.Pending())
	}
	f.Stop()
	l.renew(clk.Now().Add(time.Second))
	f.Kick()
	if n := len(w.fed()); n != fed+1 || f.State() != Idle {
		t.Fatalf("a kick after Stop: %d feeds, state %v; want %d, idle", n, f.State(), fed+1)
	}
}

// TestFeederWithRealClock runs the Feeder on the real clock with the race
// detector in mind: ticks run on timer goroutines, Stop from the test's.
func TestFeederWithRealClock(t *testing.T) {
	var mu sync.Mutex
	fed := 0
	w := feedFunc(func() error { mu.Lock(); fed++; mu.Unlock(); return nil })
	valid := true
	var vmu sync.Mutex
	f, err := NewFeeder(w, func(time.Time) bool { vmu.Lock(); defer vmu.Unlock(); return valid },
		clock.Real{}, FeederConfig{Interval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.Start()
	time.Sleep(50 * time.Millisecond)
	vmu.Lock()
	valid = false
	vmu.Unlock()
	time.Sleep(100 * time.Millisecond) // let a tick that already read the lease finish
	mu.Lock()
	atLapse := fed
	mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	f.Stop()
	mu.Lock()
	defer mu.Unlock()
	if atLapse < 2 || fed != atLapse {
		t.Fatalf("fed %d times while valid, %d in total; want >= 2 and no feed after the lapse", atLapse, fed)
	}
}

type feedFunc func() error

func (f feedFunc) Feed() error       { return f() }
func (f feedFunc) Close() error      { return nil }
func (f feedFunc) CloseArmed() error { return nil }

func TestFeederConfig(t *testing.T) {
	if err := DefaultFeederConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFeeder(feedFunc(nil), func(time.Time) bool { return true }, clock.Real{}, FeederConfig{}); err == nil {
		t.Fatal("a zero interval must be rejected")
	}
}

// TestFeederFeedErrorsAreRetriedAndLoggedOnce: a refused feed (device
// error, simulator down) is retried at every tick and logged on the
// transition only.
func TestFeederFeedErrorsAreRetriedAndLoggedOnce(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	fail := true
	tries := 0
	w := feedFunc(func() error {
		tries++
		if fail {
			return ErrClosed
		}
		return nil
	})
	var logs []string
	f, _ := NewFeeder(w, func(time.Time) bool { return true }, clk, FeederConfig{Interval: time.Second,
		Logf: func(format string, args ...any) { logs = append(logs, format) }})
	f.Start()
	clk.Advance(5 * time.Second)
	if f.State() != Failing || tries != 6 || f.Feeds() != 0 || len(logs) != 1 {
		t.Fatalf("state %v, %d tries, %d feeds, logs %q; want failing, 6, 0, one line", f.State(), tries, f.Feeds(), logs)
	}
	fail = false
	clk.Advance(time.Second)
	if f.State() != Feeding || f.Feeds() != 1 || len(logs) != 2 {
		t.Fatalf("state %v, %d feeds, logs %q; want feeding, 1, two lines", f.State(), f.Feeds(), logs)
	}
	f.Stop()
}
