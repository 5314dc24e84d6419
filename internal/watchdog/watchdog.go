// Package watchdog feeds a hardware or simulated watchdog only while the
// node's own lease is valid (DESIGN.md, "Safety"): a node that hangs, or is
// cut off from the Raft leader long enough for its lease to lapse, stops
// feeding and is reset by the watchdog, so the leader may recover its
// resources once the lease TTL plus the watchdog timeout has elapsed.
//
// Three parts:
//   - Watchdog, with two implementations: Device (/dev/watchdog through the
//     kernel's watchdog API) and Sim (a client of the simulated watchdog that
//     test hosts run, see RunSim).
//   - Feeder, which feeds a Watchdog every interval while leaseValid(now)
//     holds and stops feeding as soon as it does not.
//   - Parse, which reads the agent's --watchdog value.
//
// The caller (the agent) opens the watchdog with Open, starts a Feeder, and
// on a clean shutdown, after its resources are stopped, stops the Feeder and
// calls Close (disarm). If it shuts down while it may still run resources,
// it calls CloseArmed instead, so the host is still reset if it hangs.
//
// The Feeder's interval must be well below the watchdog timeout (a third of
// it or less), and the leader's recovery delay must include the timeout in
// force (Device.Timeout; the simulator's --timeout), since a node that
// stopped feeding is known dead only when the timeout has passed.
//
// A worked example (the agent's side):
//
//	spec, err := watchdog.Parse(flagWatchdog) // "", "/dev/watchdog", "sim:unix:/run/pl/h1.sock"
//	if err != nil {
//		return err // a *SpecError naming the value
//	}
//	w, err := watchdog.Open(spec, watchdog.Options{Timeout: 5 * time.Second})
//	if err != nil || w == nil {
//		return err // nil, nil: no watchdog configured
//	}
//	f, err := watchdog.NewFeeder(w, lease.ValidAt, clock.Real{},
//		watchdog.FeederConfig{Interval: time.Second, Logf: log.Printf})
//	if err != nil {
//		return err
//	}
//	f.Start()
//	... // run; on shutdown, after the resources stopped:
//	f.Stop()
//	return w.Close() // or w.CloseArmed() if resources may still run
//
// The simulator's side (a test host is network namespace h1):
//
//	err := watchdog.RunSim(ctx, watchdog.SimConfig{
//		Socket: "/run/pl/h1.sock", Netns: "h1", Timeout: 300 * time.Millisecond, Logf: log.Printf})
package watchdog

import (
	"errors"
	"fmt"
	"time"
)

// Watchdog is an armed watchdog. Opening one arms it (a device starts
// counting down at open; the simulator on the first Feed).
//
// A Watchdog is used by one goroutine at a time (the Feeder, then whoever
// closes it); it is not safe for concurrent use.
type Watchdog interface {
	// Feed restarts the countdown. It does not block beyond one write or
	// ioctl, so it can be called every few hundred milliseconds. An error
	// means the feed may not have reached the watchdog.
	Feed() error
	// Close disarms the watchdog ("magic close": it writes 'V' before
	// closing) and releases it, so a clean shutdown does not reset the
	// host. A device whose driver was loaded with nowayout=1 cannot be
	// disarmed; it keeps counting down.
	Close() error
	// CloseArmed releases the watchdog without disarming it: the host is
	// reset when the timeout passes without a new Open and Feed.
	CloseArmed() error
}

// Options are the settings Open applies.
type Options struct {
	// Timeout is the reset timeout to ask a device for, rounded up to
	// whole seconds (the kernel's unit). Zero keeps the driver's current
	// timeout. The simulator ignores it: its timeout is set where it runs
	// (SimConfig.Timeout).
	Timeout time.Duration
}

// Open opens the watchdog spec names: nil for KindNone, a Device or a Sim.
// The returned Watchdog is armed (see Watchdog).
func Open(spec Spec, opts Options) (Watchdog, error) {
	switch spec.Kind {
	case KindNone:
		return nil, nil
	case KindDevice:
		return OpenDevice(spec.Path, opts.Timeout)
	case KindSim:
		return DialSim(spec.Path)
	default:
		return nil, fmt.Errorf("watchdog: open: unknown kind %v", spec.Kind)
	}
}

// ErrClosed is returned by Feed after Close or CloseArmed.
var ErrClosed = errors.New("watchdog: closed")
