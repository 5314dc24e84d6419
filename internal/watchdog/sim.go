package watchdog

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/paceline/paceline/internal/clock"
)

// The simulated watchdog's protocol: one datagram per message on a unix
// datagram socket.
const (
	msgFeed  = "F" // restart the countdown; arms a disarmed watchdog
	msgClose = "V" // magic close: disarm
)

// Sim is the client of a simulated watchdog (RunSim): each Feed sends one
// datagram to its socket. The simulator arms on the first feed.
type Sim struct {
	path   string
	conn   *net.UnixConn // nil while disconnected
	closed bool
}

var _ Watchdog = (*Sim)(nil)

// DialSim connects to the simulated watchdog listening on the unix socket
// at path. It fails if no simulator listens there.
func DialSim(path string) (*Sim, error) {
	s := &Sim{path: path}
	if err := s.dial(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Sim) dial() error {
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: s.path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("watchdog: sim %s: %w", s.path, err)
	}
	s.conn = conn
	return nil
}

// Path returns the simulator's socket path.
func (s *Sim) Path() string { return s.path }

// Feed sends a feed datagram. If the simulator is gone or was restarted,
// it dials again (once per call).
func (s *Sim) Feed() error { return s.send(msgFeed) }

// Close sends the magic close, which disarms the simulator, and closes the
// socket.
func (s *Sim) Close() error {
	if s.closed {
		return ErrClosed
	}
	err := s.send(msgClose)
	return errors.Join(err, s.CloseArmed())
}

// CloseArmed closes the socket without disarming: the simulator resets the
// host when its timeout passes.
func (s *Sim) CloseArmed() error {
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	conn := s.conn
	s.conn = nil
	if conn == nil {
		return nil
	}
	if err := conn.Close(); err != nil {
		return fmt.Errorf("watchdog: sim %s: close: %w", s.path, err)
	}
	return nil
}

// sendTimeout bounds a send, so a hung simulator whose socket buffer is
// full cannot block the Feeder.
const sendTimeout = 100 * time.Millisecond

func (s *Sim) send(msg string) error {
	if s.closed {
		return ErrClosed
	}
	if s.conn != nil {
		if err := s.write(msg); err == nil {
			return nil
		}
		// The simulator may have been restarted (a new socket at the
		// same path): dial again.
		s.conn.Close()
		s.conn = nil
	}
	if err := s.dial(); err != nil {
		return err
	}
	if err := s.write(msg); err != nil {
		return fmt.Errorf("watchdog: sim %s: send: %w", s.path, err)
	}
	return nil
}

func (s *Sim) write(msg string) error {
	if err := s.conn.SetWriteDeadline(time.Now().Add(sendTimeout)); err != nil {
		return err
	}
	_, err := s.conn.Write([]byte(msg))
	return err
}

// SimConfig configures RunSim.
type SimConfig struct {
	// Socket is the unix socket path to listen on. Its directory is created
	// with mode 0700 if missing; the socket gets mode 0600. A stale socket
	// file at the path is replaced; a live one (another simulator) is an
	// error. Required.
	Socket string
	// Netns is the network namespace of the simulated host: its processes
	// are killed and its addresses removed on a reset. Required unless
	// Reset is set.
	Netns string
	// Timeout is how long after a feed without another the host is reset.
	// Required (positive).
	Timeout time.Duration
	// Logf, if set, receives arming, disarming and resets.
	Logf func(format string, args ...any)
	// Reset, if set, replaces the namespace reset (ResetNetns); tests use
	// it. It runs on RunSim's goroutine.
	Reset func(ctx context.Context, netns string) error
	// Clock, if set, replaces the real clock (tests pass a *clock.Fake).
	Clock Clock

	// received, if set, is called after each message is handled (tests).
	received func(msg string)
}

// Validate reports every problem with the config at once.
func (c SimConfig) Validate() error {
	var errs []error
	if c.Socket == "" {
		errs = append(errs, errors.New("watchdog: sim: no socket path"))
	} else if len(c.Socket) > maxSocketPath {
		errs = append(errs, fmt.Errorf("watchdog: sim: socket path %q is longer than %d bytes", c.Socket, maxSocketPath))
	}
	if c.Reset == nil {
		if err := validNetns(c.Netns); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("watchdog: sim: timeout must be positive (got %v)", c.Timeout))
	}
	return errors.Join(errs...)
}

// simWatch is the simulator's state: a pure function of the messages and
// the time.
type simWatch struct {
	timeout  time.Duration
	armed    bool
	deadline time.Time
}

// handle applies a message received at now and reports whether it is
// known.
func (w *simWatch) handle(msg string, now time.Time) bool {
	switch msg {
	case msgFeed:
		w.armed = true
		w.deadline = now.Add(w.timeout)
	case msgClose:
		w.armed = false
	default:
		return false
	}
	return true
}

// expired reports whether the watchdog fires at now.
func (w *simWatch) expired(now time.Time) bool {
	return w.armed && !now.Before(w.deadline)
}

// RunSim runs a simulated watchdog until ctx ends: it arms on the first
// feed datagram on cfg.Socket, disarms on a magic close ("V"), and when an
// armed watchdog gets no feed for cfg.Timeout it "resets" the host (by
// default ResetNetns on cfg.Netns) and disarms until the next feed. It
// returns nil when ctx ends, or the error that stopped it; a failed reset
// is logged, not fatal. The socket file is removed on return.
func RunSim(ctx context.Context, cfg SimConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	reset := cfg.Reset
	if reset == nil {
		reset = func(ctx context.Context, netns string) error { return ResetNetns(ctx, netns, cfg.Logf) }
	}
	logf := func(format string, args ...any) {
		if cfg.Logf != nil {
			cfg.Logf(format, args...)
		}
	}

	conn, err := listenSim(cfg.Socket)
	if err != nil {
		return err
	}
	defer os.Remove(cfg.Socket)
	defer conn.Close()

	msgs := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		buf := make([]byte, 64)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				readErr <- err
				return
			}
			select {
			case msgs <- string(buf[:n]):
			case <-ctx.Done():
				return
			}
		}
	}()

	w := simWatch{timeout: cfg.Timeout}
	fire := make(chan struct{}, 1)
	var timer clock.Timer
	stopTimer := func() {
		if timer != nil {
			timer.Stop()
			timer = nil
		}
	}
	defer stopTimer()
	logf("watchdog sim: listening on %s for host %s, timeout %v", cfg.Socket, cfg.Netns, cfg.Timeout)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("watchdog: sim: read %s: %w", cfg.Socket, err)
		case msg := <-msgs:
			wasArmed := w.armed
			now := clk.Now()
			if !w.handle(msg, now) {
				logf("watchdog sim: ignoring unknown message %q", msg)
			} else {
				stopTimer()
				if w.armed {
					if !wasArmed {
						logf("watchdog sim: armed: host %s is reset if no feed comes within %v", cfg.Netns, cfg.Timeout)
					}
					timer = clk.AfterFunc(w.deadline.Sub(now), func() {
						select {
						case fire <- struct{}{}:
						default:
						}
					})
				} else if wasArmed {
					logf("watchdog sim: magic close: disarmed")
				}
			}
			if cfg.received != nil {
				cfg.received(msg)
			}
		case <-fire:
			if !w.expired(clk.Now()) {
				continue // a timer superseded by a later feed
			}
			w.armed = false
			stopTimer()
			logf("watchdog sim: no feed for %v: resetting host %s", cfg.Timeout, cfg.Netns)
			if err := reset(ctx, cfg.Netns); err != nil {
				logf("watchdog sim: reset of %s: %v", cfg.Netns, err)
			} else {
				logf("watchdog sim: host %s reset; re-arms on the next feed", cfg.Netns)
			}
		}
	}
}

// listenSim listens on a unix datagram socket at path, in a directory it
// creates 0700 if needed, with mode 0600.
func listenSim(path string) (*net.UnixConn, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("watchdog: sim: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("watchdog: sim: %s exists and is not a socket", path)
		}
		if c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"}); err == nil {
			c.Close()
			return nil, fmt.Errorf("watchdog: sim: %s is in use by another simulator", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("watchdog: sim: remove stale socket: %w", err)
		}
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("watchdog: sim: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		conn.Close()
		os.Remove(path)
		return nil, fmt.Errorf("watchdog: sim: %w", err)
	}
	return conn, nil
}
