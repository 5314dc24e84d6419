package events

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/paceline/paceline/internal/store"
)

// ErrConfig reports an incomplete recorder Config.
var ErrConfig = errors.New("events: invalid config")

// MaxPending bounds the events a node holds while it cannot append them
// (no quorum): the oldest are dropped past it, and the loss is logged.
const MaxPending = 1000

// Config configures a Recorder. Every function is required unless said.
type Config struct {
	// Node is this node's name.
	Node string
	// View returns this node's current view of the replicated state
	// (FromStatus of its copy). It is called from the recorder's
	// goroutine only.
	View func() View
	// Leader, optional, returns the leader this node follows and whether
	// its partition has quorum, cheaply: between changes of the state the
	// recorder refreshes only these in its last view instead of building
	// a new one (an idle cluster then builds no status every Poll).
	Leader func() (name string, quorum bool)
	// IsLeader reports whether this node leads.
	IsLeader func() bool
	// Wait blocks until the state's change index is above after
	// (httpapi.Backend.Wait).
	Wait func(ctx context.Context, after uint64) (uint64, error)
	// Propose commits a command through the leader (httpapi.Backend.Propose).
	Propose func(ctx context.Context, cmd store.Command) (store.Result, error)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Poll is how often the view is compared without a change (quorum
	// comes and goes without one). Default 1s.
	Poll time.Duration
	// MinInterval is the least time between two comparisons: a burst of
	// changes is one comparison. Default 100ms.
	MinInterval time.Duration
	// ProposeTimeout bounds one append. Default 5s.
	ProposeTimeout time.Duration
	// Logf receives dropped or refused events (default: discard).
	Logf func(format string, args ...any)
}

// Recorder runs on every node. It compares successive views of the
// replicated state (Tracker) and appends what happened to the store's
// event log:
//
//   - events about the replicated state (nodes, resources, configuration,
//     leader) are appended by the leader alone, so each is recorded once;
//     every node tracks the views, so a new leader continues from the
//     view it last saw as a follower: what changed before it took over
//     and the old leader had not recorded yet is recorded by it (an event
//     the old leader appended just before it failed may be recorded twice);
//   - quorum events are about the observing node: a node without quorum
//     cannot append anything, so it keeps them (with the time they
//     happened, at most MaxPending) and appends them through the leader
//     once its partition has quorum again;
//   - Record adds events from other parts (fencing) the same way.
type Recorder struct {
	cfg  Config
	kick chan struct{}

	mu      sync.Mutex
	pending []store.Event
	dropped int
}

// New returns a recorder; Run starts it.
func New(cfg Config) (*Recorder, error) {
	if cfg.View == nil || cfg.IsLeader == nil || cfg.Wait == nil || cfg.Propose == nil {
		return nil, ErrConfig
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.MinInterval <= 0 {
		cfg.MinInterval = 100 * time.Millisecond
	}
	if cfg.ProposeTimeout <= 0 {
		cfg.ProposeTimeout = 5 * time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &Recorder{cfg: cfg, kick: make(chan struct{}, 1)}, nil
}

// Record queues an event for the log; it never blocks. At is set to now
// when zero. Any node may call it from any goroutine: the event is
// appended through the leader, once there is one.
func (r *Recorder) Record(e store.Event) {
	if e.At == 0 {
		e.At = r.cfg.Now().UnixMilli()
	}
	r.queue([]store.Event{e})
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *Recorder) queue(evs []store.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = append(r.pending, evs...)
	if over := len(r.pending) - MaxPending; over > 0 {
		r.pending = append([]store.Event(nil), r.pending[over:]...)
		r.dropped += over
	}
}

// Run compares views until ctx ends.
func (r *Recorder) Run(ctx context.Context) {
	var t Tracker
	var idx, built uint64
	var v View
	var last time.Time
	for ctx.Err() == nil {
		if wait := r.cfg.MinInterval - r.cfg.Now().Sub(last); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		last = r.cfg.Now()
		var evs []store.Event
		if idx != built || r.cfg.Leader == nil || built == 0 {
			v, built = r.cfg.View(), idx
			evs = t.Step(v, last)
		} else {
			v.Leader, v.Quorum = r.cfg.Leader()
			evs = t.Unchanged(v.Leader, v.Quorum, last)
		}
		var mine []store.Event
		leader := r.cfg.IsLeader()
		for _, e := range evs {
			if Local(e.Kind) || leader {
				mine = append(mine, e)
			}
		}
		if len(mine) > 0 {
			r.queue(mine)
		}
		if v.Quorum {
			r.flush(ctx)
		}
		wctx, cancel := context.WithTimeout(ctx, r.cfg.Poll)
		done := make(chan struct{})
		go func() {
			select {
			case <-r.kick:
				cancel()
			case <-wctx.Done():
			}
			close(done)
		}()
		if next, err := r.cfg.Wait(wctx, idx); err == nil {
			idx = next
		}
		cancel()
		<-done
	}
}

// flush appends the pending events, in batches the store accepts.
func (r *Recorder) flush(ctx context.Context) {
	r.mu.Lock()
	evs, dropped := r.pending, r.dropped
	r.pending, r.dropped = nil, 0
	r.mu.Unlock()
	if dropped > 0 {
		r.cfg.Logf("events: %d events dropped while they could not be recorded (more than %d waiting)", dropped, MaxPending)
	}
	for len(evs) > 0 {
		n := min(len(evs), 200)
		pctx, cancel := context.WithTimeout(ctx, r.cfg.ProposeTimeout)
		res, err := r.cfg.Propose(pctx, store.NewEventAppend(evs[:n]...))
		cancel()
		if err == nil && res.Err != nil {
			// Refused by the store (an invalid event): never retried.
			r.cfg.Logf("events: %d events refused: %v", n, res.Err)
		} else if err != nil {
			r.mu.Lock() // kept for the next try, before newer ones
			r.pending = append(evs, r.pending...)
			r.mu.Unlock()
			return
		}
		evs = evs[n:]
	}
}
