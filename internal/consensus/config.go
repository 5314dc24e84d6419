package consensus

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/paceline/paceline/internal/store"
)

// ErrInvalidConfig wraps every problem Config.Validate reports.
var ErrInvalidConfig = errors.New("consensus: invalid config")

// Config configures a Node. Start from DefaultConfig and set ID, Role and
// DataDir. Durations follow hashicorp/raft's meaning; the defaults are
// tighter than raft's (1 s) so a lost leader is replaced within about a
// second (DESIGN.md asks for a new leader within 3 s).
type Config struct {
	// ID is this node's name, also its Raft server ID. Required.
	ID string
	// Role is this node's role. Servers and witnesses are Raft voters,
	// clients non-voters. Required.
	Role store.Role
	// DataDir holds the Raft log and stable store (raft.db, mode 0600)
	// and snapshots (snapshots/); it is created with mode 0700, and an
	// existing directory is narrowed to 0700. Required unless InMemory.
	DataDir string
	// InMemory keeps the log, stable store and snapshots in memory: for
	// tests and simulations only, since a restart forgets everything.
	// Default false.
	InMemory bool

	// HeartbeatTimeout is how long a follower waits without contact from
	// the leader before it starts an election. Default 500 ms; at least
	// 5 ms.
	HeartbeatTimeout time.Duration
	// ClientHeartbeat is how often the leader heartbeats a client (a
	// non-voter): raft's rate, kept for voters, costs the leader a round
	// trip per client every few tens of milliseconds, though a client's
	// contact keeps no one leader. A client hears the leader's appends of
	// new entries at once either way; set its own HeartbeatTimeout to a
	// few times this, or it will lose track of the leader between
	// heartbeats. Zero: as often as a voter. Default 0; not negative.
	ClientHeartbeat time.Duration
	// QuietHeartbeats holds the leader's heartbeats to a voter while the
	// voter answers: a heartbeat waits until the voter has not answered
	// an append or a heartbeat for this long. Raft's replication sends an
	// idle voter an append every CommitTimeout to twice it (pipelined:
	// not one round trip after another), and raft's leader lease counts
	// an answer to it as contact, as it does a heartbeat's; the
	// heartbeats then tell the voter nothing. They go when the answers
	// stop: a voter answers a heartbeat apart from its log, so a voter
	// whose log waits on a slow disk still keeps the leader in office.
	// At most half of LeaderLeaseTimeout, and to be of use over
	// twice CommitTimeout (the longest gap between idle appends). Zero:
	// raft's heartbeat rate. Default 0.
	QuietHeartbeats time.Duration
	// ElectionTimeout is how long a candidate waits for votes before it
	// starts a new election. Default 500 ms; at least HeartbeatTimeout.
	ElectionTimeout time.Duration
	// LeaderLeaseTimeout is how long a leader stays leader without
	// contact from a quorum. Default 250 ms; at least 5 ms and at most
	// HeartbeatTimeout.
	LeaderLeaseTimeout time.Duration
	// CommitTimeout is the longest the leader waits before it sends an
	// append (heartbeat) after new entries. Default 50 ms; at least 1 ms.
	CommitTimeout time.Duration
	// PromptCommits makes the leader tell the followers its commit index
	// as soon as a change proposed here (Apply, Join, Leave, Barrier)
	// commits, with a barrier entry whose append carries it (one at a
	// time: the changes committed meanwhile go with the next), instead
	// of at the next CommitTimeout. Followers then apply a change about
	// one round trip after the leader, so CommitTimeout can be long,
	// which spares an idle leader an append per follower every 50 to 100
	// ms. Default false.
	PromptCommits bool
	// ApplyTimeout bounds Apply and membership changes when the caller's
	// context has no earlier deadline. Default 5 s; must be positive.
	ApplyTimeout time.Duration

	// SnapshotInterval is how often Raft checks whether to snapshot.
	// Default 2 min; at least 5 ms.
	SnapshotInterval time.Duration
	// SnapshotThreshold is how many new log entries trigger a snapshot.
	// Default 8192; must be positive.
	SnapshotThreshold uint64
	// TrailingLogs is how many log entries a snapshot leaves behind, so a
	// slightly lagging follower catches up from the log instead of a
	// snapshot. Default 10240.
	TrailingLogs uint64
	// SnapshotRetain is how many snapshots are kept on disk. Default 2;
	// at least 1.
	SnapshotRetain int

	// LogOutput receives Raft's log lines. Default io.Discard.
	LogOutput io.Writer
	// LogLevel is Raft's log level: trace, debug, info, warn or error.
	// Default "warn".
	LogLevel string
}

// DefaultConfig returns a Config with every default set; ID, Role and
// DataDir are left for the caller.
func DefaultConfig() Config {
	return Config{
		HeartbeatTimeout:   500 * time.Millisecond,
		ElectionTimeout:    500 * time.Millisecond,
		LeaderLeaseTimeout: 250 * time.Millisecond,
		CommitTimeout:      50 * time.Millisecond,
		ApplyTimeout:       5 * time.Second,
		SnapshotInterval:   2 * time.Minute,
		SnapshotThreshold:  8192,
		TrailingLogs:       10240,
		SnapshotRetain:     2,
		LogOutput:          io.Discard,
		LogLevel:           "warn",
	}
}

// Validate reports every problem at once (joined), each wrapping
// ErrInvalidConfig.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if c.ID == "" {
		bad("node ID is empty")
	}
	if !c.Role.Valid() {
		bad("role %q is not server, witness or client", c.Role)
	}
	if c.DataDir == "" && !c.InMemory {
		bad("data dir is empty (set DataDir, or InMemory for tests)")
	}
	if c.HeartbeatTimeout < 5*time.Millisecond {
		bad("heartbeat timeout %s is below 5ms", c.HeartbeatTimeout)
	}
	if c.ClientHeartbeat < 0 {
		bad("client heartbeat %s is negative", c.ClientHeartbeat)
	}
	if c.QuietHeartbeats < 0 || c.QuietHeartbeats > c.LeaderLeaseTimeout/2 {
		bad("quiet heartbeats %s is not between 0 and half the leader lease timeout (%s)", c.QuietHeartbeats, c.LeaderLeaseTimeout/2)
	}
	if c.ElectionTimeout < c.HeartbeatTimeout {
		bad("election timeout %s is below the heartbeat timeout %s", c.ElectionTimeout, c.HeartbeatTimeout)
	}
	if c.LeaderLeaseTimeout < 5*time.Millisecond || c.LeaderLeaseTimeout > c.HeartbeatTimeout {
		bad("leader lease timeout %s is not between 5ms and the heartbeat timeout %s", c.LeaderLeaseTimeout, c.HeartbeatTimeout)
	}
	if c.CommitTimeout < time.Millisecond {
		bad("commit timeout %s is below 1ms", c.CommitTimeout)
	}
	if c.ApplyTimeout <= 0 {
		bad("apply timeout %s is not positive", c.ApplyTimeout)
	}
	if c.SnapshotInterval < 5*time.Millisecond {
		bad("snapshot interval %s is below 5ms", c.SnapshotInterval)
	}
	if c.SnapshotThreshold == 0 {
		bad("snapshot threshold is zero")
	}
	if c.SnapshotRetain < 1 {
		bad("snapshot retain %d is below 1", c.SnapshotRetain)
	}
	switch c.LogLevel {
	case "trace", "debug", "info", "warn", "error":
	default:
		bad("log level %q is not trace, debug, info, warn or error", c.LogLevel)
	}
	return errors.Join(errs...)
}
