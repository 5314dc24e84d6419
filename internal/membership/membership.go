// Package membership keeps the leader's view of which nodes are alive and
// decides when a lost node's resources may be recovered (DESIGN.md,
// Safety). It is pure bookkeeping: every method takes the time as an
// argument, read by the caller from the leader's monotonic clock; nothing
// here starts goroutines or reads a clock.
//
// # Leases
//
// The leader grants every resource-running node a lease of Config.TTL and
// the node renews it every Config.Heartbeat. The leader's Leases records
// the last grant per node:
//
//	ls := membership.NewLeases(cfg, now)   // a new leader: every lease starts now
//	ls.Renew("n2", now)                    // on each heartbeat from n2
//	switch ls.Liveness("n2", now, stonith) {
//	case membership.Alive:       // lease valid
//	case membership.Expired:     // lease lapsed: n2 is unclean, nothing moves yet
//	case membership.Recoverable: // n2 has stopped its resources (self-fenced)
//	}
//
// A lost node's resources may be recovered only after the lease TTL plus
// the self-fence deadline have elapsed since the last grant: by then the
// node, which stops its resources when it cannot renew before its own
// lease expires (SelfFence), has finished stopping them. With
// stonith-enabled=false recovery may start as soon as the lease expired.
//
// A new leader does not know when its predecessor last renewed anyone's
// lease, so NewLeases treats every node as granted at the new leader's
// start: nothing is recovered until one full TTL has passed.
package membership

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// Config holds the lease timings. The zero value is not valid; start from
// DefaultConfig.
type Config struct {
	// Heartbeat is how often a node renews its lease. Default 200 ms;
	// must be positive and less than TTL.
	Heartbeat time.Duration
	// TTL is how long a lease lasts after the leader granted it. Default
	// 1.5 s; must be at least twice Heartbeat.
	TTL time.Duration
	// SelfFenceDeadline is how long a node may take, once its lease has
	// expired, to stop its resources (the watchdog timeout, or the stop
	// timeouts). Default 1 s; must not be negative.
	SelfFenceDeadline time.Duration
}

// DefaultConfig returns the default timings (to be tuned by benchmark).
func DefaultConfig() Config {
	return Config{Heartbeat: 200 * time.Millisecond, TTL: 1500 * time.Millisecond, SelfFenceDeadline: time.Second}
}

// RaftTimeout is the Raft heartbeat (and election) timeout that fits these
// lease timings. A node renews its lease with whoever leads, so while the
// leader is lost nobody renews: the election must end, and the node renew
// with the new leader, before it self-fences. A node renewed at most a
// heartbeat before the leader died and self-fences a heartbeat before its
// lease expires, which leaves TTL - 2*Heartbeat; a follower notices the
// loss between one and two Raft timeouts after the last contact, the vote
// takes a round trip and the node retries every quarter heartbeat. A
// quarter of the margin leaves room for one split vote on a loaded host:
// 275 ms with the default timings, 100 ms with the fast profile
// (heartbeat 100 ms, TTL 600 ms). Never below 10 ms.
func (c Config) RaftTimeout() time.Duration {
	return max((c.TTL-2*c.Heartbeat)/4, 10*time.Millisecond)
}

// ErrInvalidConfig is wrapped by Validate's errors.
var ErrInvalidConfig = errors.New("membership: invalid config")

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Heartbeat <= 0 {
		errs = append(errs, fmt.Errorf("%w: heartbeat %v must be positive", ErrInvalidConfig, c.Heartbeat))
	}
	if c.TTL < 2*c.Heartbeat {
		errs = append(errs, fmt.Errorf("%w: ttl %v must be at least twice the heartbeat %v", ErrInvalidConfig, c.TTL, c.Heartbeat))
	}
	if c.SelfFenceDeadline < 0 {
		errs = append(errs, fmt.Errorf("%w: self-fence deadline %v must not be negative", ErrInvalidConfig, c.SelfFenceDeadline))
	}
	return errors.Join(errs...)
}

// Liveness is the leader's verdict on a node.
type Liveness int

const (
	// Alive: the node's lease is valid.
	Alive Liveness = iota
	// Expired: the lease has lapsed but the node may still be stopping
	// its resources; they must not be started elsewhere yet.
	Expired
	// Recoverable: the lease and the self-fence deadline have passed (or
	// the lease expired and fencing is disabled): the node's resources
	// are stopped and may be recovered elsewhere.
	Recoverable
)

func (l Liveness) String() string {
	switch l {
	case Alive:
		return "alive"
	case Expired:
		return "expired"
	case Recoverable:
		return "recoverable"
	}
	return fmt.Sprintf("Liveness(%d)", int(l))
}

// Leases is the leader's lease table. It is not safe for concurrent use:
// the controller's goroutine owns it.
type Leases struct {
	cfg     Config
	start   time.Time
	granted map[string]time.Time
	// guard is the watchdog timeout of nodes that feed a watchdog only
	// while their lease is valid (Holder.FeedWatchdog): they are reset
	// before their lease expires.
	guard map[string]time.Duration
}

// NewLeases returns the table of a leader that took over at now: every
// node, known or not yet, counts as granted at now.
func NewLeases(cfg Config, now time.Time) *Leases {
	return &Leases{cfg: cfg, start: now, granted: map[string]time.Time{}, guard: map[string]time.Duration{}}
}

// Config returns the timings.
func (l *Leases) Config() Config { return l.cfg }

// Renew grants node a lease from now and returns its expiry.
func (l *Leases) Renew(node string, now time.Time) time.Time {
	if now.After(l.granted[node]) {
		l.granted[node] = now
	}
	return l.granted[node].Add(l.cfg.TTL)
}

// Granted returns the last grant of node's lease (the leader's start when
// it has not renewed yet).
func (l *Leases) Granted(node string) time.Time {
	if g, ok := l.granted[node]; ok && g.After(l.start) {
		return g
	}
	return l.start
}

// Expiry returns when node's lease expires.
func (l *Leases) Expiry(node string) time.Time { return l.Granted(node).Add(l.cfg.TTL) }

// Guard records that node feeds a watchdog of timeout w only while its
// lease is valid, stopping a margin before it expires (Holder.FeedWatchdog
// with the same timings): a node that cannot renew is reset, its
// resources gone, before its lease expires. w = 0 forgets it.
func (l *Leases) Guard(node string, w time.Duration) {
	if w > 0 {
		l.guard[node] = w
	} else {
		delete(l.guard, node)
	}
}

// Guarded returns node's watchdog timeout (0: none known).
func (l *Leases) Guarded(node string) time.Duration { return l.guard[node] }

// RecoverableAt returns when node's resources may be recovered if it does
// not renew: the lease expiry plus the self-fence deadline, or the expiry
// alone when fencing is disabled or the node is guarded by a watchdog
// (Guard), which has reset it by then.
func (l *Leases) RecoverableAt(node string, stonithEnabled bool) time.Time {
	wait := l.cfg.TTL
	if stonithEnabled && l.guard[node] == 0 {
		wait += l.cfg.SelfFenceDeadline
	}
	// The node times its lease and deadline on its own clock, which may
	// run slower than the leader's: wait the drift margin on top.
	return l.Granted(node).Add(wait + time.Duration(float64(wait)*ClockDriftRate))
}

// ClockDriftRate bounds how much slower a node's monotonic clock may run
// than the leader's (1%, far above real quartz drift of 10-100 ppm): the
// leader's recovery wait is stretched by it, so a node whose clock lags
// has stopped its resources before they start elsewhere.
const ClockDriftRate = 0.01

// Liveness returns the verdict on node at now.
func (l *Leases) Liveness(node string, now time.Time, stonithEnabled bool) Liveness {
	switch {
	case now.Before(l.Expiry(node)):
		return Alive
	case now.Before(l.RecoverableAt(node, stonithEnabled)):
		return Expired
	}
	return Recoverable
}

// NextChange returns when node's Liveness at now will next change if it
// does not renew: its lease expiry while Alive, the time it becomes
// Recoverable while Expired; zero once Recoverable.
func (l *Leases) NextChange(node string, now time.Time, stonithEnabled bool) time.Time {
	switch l.Liveness(node, now, stonithEnabled) {
	case Alive:
		return l.Expiry(node)
	case Expired:
		return l.RecoverableAt(node, stonithEnabled)
	}
	return time.Time{}
}

// Forget drops a node (it left the cluster).
func (l *Leases) Forget(node string) { delete(l.granted, node) }

// Nodes returns the nodes that have renewed, sorted.
func (l *Leases) Nodes() []string {
	ns := make([]string, 0, len(l.granted))
	for n := range l.granted {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// Quorum reports whether alive voters are a strict majority of all voters.
func Quorum(aliveVoters, voters int) bool {
	return voters > 0 && 2*aliveVoters > voters
}

// Holder is a node's own view of its lease.
type Holder struct {
	cfg Config
	// sent is when the last successfully acknowledged renewal was sent:
	// the leader granted it no earlier, so the node's expiry is never
	// later than the leader's.
	sent  time.Time
	valid bool
}

// NewHolder returns a node's lease holder with no lease yet.
func NewHolder(cfg Config) *Holder { return &Holder{cfg: cfg} }

// Renewed records that a renewal sent at sent was acknowledged.
func (h *Holder) Renewed(sent time.Time) {
	if !h.valid || sent.After(h.sent) {
		h.sent, h.valid = sent, true
	}
}

// Expiry returns when the node's own lease expires (zero without one).
func (h *Holder) Expiry() time.Time {
	if !h.valid {
		return time.Time{}
	}
	return h.sent.Add(h.cfg.TTL)
}

// FeedWatchdog reports whether a watchdog of timeout w may be fed at now:
// only until w plus half a heartbeat before the lease expires, so a node
// that stops renewing is reset at the latest half a heartbeat before its
// lease expires (the leader then recovers at expiry: Leases.Guard).
func (h *Holder) FeedWatchdog(now time.Time, w time.Duration) bool {
	return h.valid && now.Before(h.Expiry().Add(-w-h.cfg.Heartbeat/2))
}

// CanGuard reports whether a watchdog of timeout w can guard leases of
// these timings: fed only up to w + Heartbeat/2 before expiry, each
// renewal must leave at least one heartbeat of feeding.
func (c Config) CanGuard(w time.Duration) error {
	if w <= 0 || c.TTL-w-c.Heartbeat/2 < c.Heartbeat {
		return fmt.Errorf("%w: a watchdog timeout of %v needs a lease ttl of at least %v (timeout + 1.5 heartbeats), not %v",
			ErrInvalidConfig, w, w+c.Heartbeat+c.Heartbeat/2, c.TTL)
	}
	return nil
}

// SelfFence reports whether the node must stop its resources at now: it
// holds a lease (had one) that expired without renewal. A node that never
// had a lease runs nothing and has nothing to stop.
func (h *Holder) SelfFence(now time.Time) bool {
	return h.valid && !now.Before(h.Expiry())
}

// Reset forgets the lease (after the node stopped its resources).
func (h *Holder) Reset() { h.valid = false }
