package watchdog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/clock"
)

func TestSimWatch(t *testing.T) {
	t0 := time.Unix(0, 0)
	w := simWatch{timeout: 300 * time.Millisecond}
	if w.expired(t0.Add(time.Hour)) {
		t.Fatal("a watchdog never fed must not fire (armed on the first feed)")
	}
	w.handle(msgFeed, t0)
	if w.expired(t0.Add(299 * time.Millisecond)) {
		t.Fatal("fired before the timeout")
	}
	if !w.expired(t0.Add(300 * time.Millisecond)) {
		t.Fatal("did not fire at the timeout")
	}
	w.handle(msgFeed, t0.Add(200*time.Millisecond))
	if w.expired(t0.Add(499 * time.Millisecond)) {
		t.Fatal("a feed did not restart the countdown")
	}
	w.handle(msgClose, t0.Add(250*time.Millisecond))
	if w.expired(t0.Add(time.Hour)) {
		t.Fatal("fired after a magic close")
	}
	if w.handle("X", t0) {
		t.Fatal("an unknown message was accepted")
	}
}

// simHarness runs RunSim on a fake clock with a recording reset.
type simHarness struct {
	t        *testing.T
	clk      *clock.Fake
	timeout  time.Duration
	socket   string
	received chan string
	resets   chan string
	done     chan error
	cancel   context.CancelFunc
}

func startSim(t *testing.T) *simHarness {
	t.Helper()
	h := &simHarness{
		t:        t,
		clk:      clock.NewFake(time.Unix(1_000_000, 0)),
		timeout:  300 * time.Millisecond,
		socket:   filepath.Join(t.TempDir(), "run", "wd.sock"),
		received: make(chan string, 16),
		resets:   make(chan string, 16),
		done:     make(chan error, 1),
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	cfg := SimConfig{
		Socket:  h.socket,
		Netns:   "pl-host1",
		Timeout: h.timeout,
		Logf:    t.Logf,
		Clock:   h.clk,
		Reset: func(_ context.Context, ns string) error {
			h.resets <- ns
			return nil
		},
		received: func(msg string) { h.received <- msg },
	}
	go func() { h.done <- RunSim(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-h.done; err != nil {
			t.Errorf("RunSim: %v", err)
		}
		if _, err := os.Lstat(h.socket); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket left behind: %v", err)
		}
	})
	return h
}

// dial connects once the simulator listens.
func (h *simHarness) dial() *Sim {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, err := DialSim(h.socket)
		if err == nil {
			return s
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("simulator not listening: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// send sends through do and waits until the simulator handled msg.
func (h *simHarness) send(do func() error, msg string) {
	h.t.Helper()
	if err := do(); err != nil {
		h.t.Fatal(err)
	}
	select {
	case got := <-h.received:
		if got != msg {
			h.t.Fatalf("simulator received %q, want %q", got, msg)
		}
	case <-time.After(5 * time.Second):
		h.t.Fatalf("simulator did not receive %q", msg)
	}
}

func (h *simHarness) wantReset() {
	h.t.Helper()
	select {
	case ns := <-h.resets:
		if ns != "pl-host1" {
			h.t.Fatalf("reset %q, want pl-host1", ns)
		}
	case <-time.After(5 * time.Second):
		h.t.Fatal("no reset after the timeout")
	}
}

func (h *simHarness) wantNoReset(when string) {
	h.t.Helper()
	select {
	case <-h.resets:
		h.t.Fatalf("reset %s", when)
	case <-time.After(30 * time.Millisecond):
	}
}

func TestSimResetsAfterTheTimeoutAndNotBefore(t *testing.T) {
	h := startSim(t)
	s := h.dial()
	defer s.CloseArmed()

	fi, err := os.Stat(h.socket)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	di, err := os.Stat(filepath.Dir(h.socket))
	if err != nil || di.Mode().Perm() != 0o700 {
		t.Fatalf("socket directory mode %v (%v), want 0700", di.Mode().Perm(), err)
	}

	h.clk.Advance(time.Hour)
	h.wantNoReset("before the first feed (the simulator arms on it)")

	h.send(s.Feed, msgFeed)
	h.clk.Advance(h.timeout - time.Millisecond)
	h.wantNoReset("before the timeout")
	h.send(s.Feed, msgFeed) // restarts the countdown
	h.clk.Advance(h.timeout - time.Millisecond)
	h.wantNoReset("within the timeout of the last feed")
	h.clk.Advance(time.Millisecond)
	h.wantReset()

	h.clk.Advance(10 * h.timeout)
	h.wantNoReset("twice: a reset host stays disarmed until fed again")

	h.send(s.Feed, msgFeed) // the host came back: re-armed
	h.clk.Advance(h.timeout)
	h.wantReset()
}

func TestSimMagicCloseDisarms(t *testing.T) {
	h := startSim(t)
	s := h.dial()
	h.send(s.Feed, msgFeed)
	h.clk.Advance(h.timeout / 2)
	h.send(s.Close, msgClose)
	if h.clk.Pending() != 0 {
		t.Fatalf("%d timers after the magic close, want 0", h.clk.Pending())
	}
	h.clk.Advance(10 * h.timeout)
	h.wantNoReset("after a magic close")
	if err := s.Feed(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Feed after Close: %v, want ErrClosed", err)
	}

	// CloseArmed leaves it armed.
	s = h.dial()
	h.send(s.Feed, msgFeed)
	if err := s.CloseArmed(); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(h.timeout)
	h.wantReset()
}

func TestSimIgnoresUnknownMessages(t *testing.T) {
	h := startSim(t)
	s := h.dial()
	defer s.CloseArmed()
	h.send(func() error { _, err := s.conn.Write([]byte("hello")); return err }, "hello")
	h.clk.Advance(10 * h.timeout)
	h.wantNoReset("on an unknown message")
}

func TestSimConfigValidate(t *testing.T) {
	err := SimConfig{Netns: "-x"}.Validate()
	for _, want := range []string{"no socket path", "invalid network namespace", "timeout must be positive"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v; want it to say %q", err, want)
		}
	}
	if err := (SimConfig{Socket: "/run/x.sock", Netns: "pl-h1", Timeout: time.Second}).Validate(); err != nil {
		t.Fatal(err)
	}
	if err := RunSim(context.Background(), SimConfig{}); err == nil {
		t.Fatal("RunSim with an empty config must fail")
	}
}

func TestSimRefusesANonSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wd.sock")
	os.WriteFile(path, []byte("precious"), 0o600)
	err := RunSim(context.Background(), SimConfig{Socket: path, Timeout: time.Second,
		Reset: func(context.Context, string) error { return nil }})
	if err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("RunSim over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Fatal("RunSim clobbered a regular file")
	}
}

func TestDialSimWithoutSimulator(t *testing.T) {
	if _, err := DialSim(filepath.Join(t.TempDir(), "none.sock")); err == nil {
		t.Fatal("DialSim succeeded with no simulator")
	}
}

// TestSimClientSurvivesASimulatorRestart: a client keeps feeding a
// simulator that was restarted on the same socket path.
func TestSimClientSurvivesASimulatorRestart(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "wd.sock")
	received := make(chan string, 16)
	start := func() (context.CancelFunc, chan error) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- RunSim(ctx, SimConfig{Socket: socket, Timeout: time.Hour, Clock: clock.NewFake(time.Unix(0, 0)),
				Reset:    func(context.Context, string) error { return nil },
				received: func(m string) { received <- m }})
		}()
		return cancel, done
	}
	waitMsg := func() {
		t.Helper()
		select {
		case <-received:
		case <-time.After(5 * time.Second):
			t.Fatal("feed not received")
		}
	}
	cancel, done := start()
	var s *Sim
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var err error
		if s, err = DialSim(socket); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
	defer s.CloseArmed()
	if err := s.Feed(); err != nil {
		t.Fatal(err)
	}
	waitMsg()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := s.Feed(); err == nil {
		t.Fatal("Feed succeeded with no simulator")
	}
	cancel, done = start()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(5 * time.Second); s.Feed() != nil; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the client did not reach the restarted simulator")
		}
	}
	waitMsg()
}

func TestSimRefusesASocketInUse(t *testing.T) {
	h := startSim(t)
	s := h.dial()
	defer s.CloseArmed()
	err := RunSim(context.Background(), SimConfig{Socket: h.socket, Timeout: time.Second,
		Reset: func(context.Context, string) error { return nil }})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("a second simulator on the same socket: %v", err)
	}
	h.send(s.Feed, msgFeed) // the first one still listens
}
