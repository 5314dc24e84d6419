package watchdog

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/paceline/paceline/internal/clock"
)

// Clock is what the Feeder needs of time: clock.Real in production,
// *clock.Fake in tests.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) clock.Timer
}

// FeederState says whether the Feeder fed the watchdog at its last tick.
type FeederState int

const (
	// Idle: not started, or stopped.
	Idle FeederState = iota
	// Feeding: the lease was valid at the last tick and the watchdog was fed.
	Feeding
	// Starving: the lease was not valid at the last tick; the watchdog was
	// not fed and resets the host at its timeout.
	Starving
	// Failing: the lease was valid but the last feed failed (the device or
	// the simulator refused it); the Feeder keeps trying at every tick.
	Failing
)

func (s FeederState) String() string {
	switch s {
	case Idle:
		return "idle"
	case Feeding:
		return "feeding"
	case Starving:
		return "starving"
	case Failing:
		return "failing"
	default:
		return fmt.Sprintf("FeederState(%d)", int(s))
	}
}

// FeederConfig configures a Feeder.
type FeederConfig struct {
	// Interval is the time between ticks; at each tick the watchdog is fed
	// if the lease is valid. It must be well below the watchdog timeout
	// (a third of it or less). Default 1s.
	Interval time.Duration
	// Logf, if set, receives state changes and feed errors.
	Logf func(format string, args ...any)
}

// DefaultFeederConfig returns a 1 s interval and no logging.
func DefaultFeederConfig() FeederConfig { return FeederConfig{Interval: time.Second} }

// ErrBadInterval is returned by Validate for a non-positive interval.
var ErrBadInterval = errors.New("watchdog: feed interval must be positive")

// Validate checks the config.
func (c FeederConfig) Validate() error {
	if c.Interval <= 0 {
		return fmt.Errorf("%w (got %v)", ErrBadInterval, c.Interval)
	}
	return nil
}

// Feeder feeds a Watchdog every interval while the node's own lease is
// valid. It checks leaseValid at every tick, with the clock's time, and
// does not feed when it returns false: a node that lost its lease, or whose
// agent hangs so that ticks stop, is reset by the watchdog. If the lease
// becomes valid again before the reset (a new grant from the leader, which
// cannot have recovered the node's resources yet), feeding resumes.
//
// The Feeder does not own the Watchdog: Stop leaves it open, and the caller
// decides between Close and CloseArmed.
type Feeder struct {
	w          Watchdog
	leaseValid func(now time.Time) bool
	clk        Clock
	cfg        FeederConfig

	mu      sync.Mutex // guards the fields below and serialises ticks
	running bool
	timer   clock.Timer
	state   FeederState
	feeds   int
}

// NewFeeder returns a stopped Feeder. leaseValid is called from the
// Feeder's ticks (on the clock's goroutine) and must not block.
func NewFeeder(w Watchdog, leaseValid func(now time.Time) bool, clk Clock, cfg FeederConfig) (*Feeder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if w == nil || leaseValid == nil || clk == nil {
		return nil, errors.New("watchdog: NewFeeder needs a watchdog, a lease check and a clock")
	}
	return &Feeder{w: w, leaseValid: leaseValid, clk: clk, cfg: cfg}, nil
}

// Start ticks once now (feeding if the lease is valid) and then every
// interval until Stop. Starting a running Feeder does nothing.
func (f *Feeder) Start() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running {
		return
	}
	f.running = true
	f.tickLocked()
}

// Stop ends the ticks; no Feed happens after Stop returns. The watchdog is
// left as it is.
func (f *Feeder) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.running {
		return
	}
	f.running = false
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
	f.state = Idle
}

// Kick ticks now, unless the Feeder is stopped or fed at its last tick:
// the caller has just renewed the lease, and a Feeder that was starving
// must not wait for its next tick to feed (the watchdog may fire first).
// The ticks then go on every interval from now.
func (f *Feeder) Kick() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.running || f.state == Feeding {
		return
	}
	if f.timer != nil {
		f.timer.Stop()
	}
	f.tickLocked()
}

// State returns the state after the last tick.
func (f *Feeder) State() FeederState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

// Feeds returns how many feeds succeeded since NewFeeder.
func (f *Feeder) Feeds() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.feeds
}

func (f *Feeder) tick() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.running {
		return // a tick that raced with Stop
	}
	f.tickLocked()
}

func (f *Feeder) tickLocked() {
	now := f.clk.Now()
	next := Starving
	var feedErr error
	if f.leaseValid(now) {
		if feedErr = f.w.Feed(); feedErr != nil {
			next = Failing
		} else {
			f.feeds++
			next = Feeding
		}
	}
	// Log transitions only: a tick runs every interval.
	if next != f.state {
		switch {
		case next == Starving:
			f.logf("watchdog: lease not valid at %s: no longer feeding the watchdog", now.Format(time.RFC3339Nano))
		case next == Failing:
			f.logf("watchdog: feed failed (retrying every %v): %v", f.cfg.Interval, feedErr)
		case f.state != Idle:
			f.logf("watchdog: feeding the watchdog again (was %v)", f.state)
		}
		f.state = next
	}
	f.timer = f.clk.AfterFunc(f.cfg.Interval, f.tick)
}

func (f *Feeder) logf(format string, args ...any) {
	if f.cfg.Logf != nil {
		f.cfg.Logf(format, args...)
	}
}
