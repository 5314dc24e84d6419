package alerts

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paceline/paceline/internal/store"
)

// ErrConfig reports an incomplete Config.
var ErrConfig = errors.New("alerts: invalid config")

// Config configures a Deliverer. The functions are required.
type Config struct {
	// IsLeader reports whether this node leads: only the leader delivers.
	IsLeader func() bool
	// Wait blocks until the state's change index is above after.
	Wait func(ctx context.Context, after uint64) (uint64, error)
	// Events returns the kept events numbered above after; Alerts the
	// alerts (with their secrets).
	Events func(after uint64) []store.Event
	Alerts func() []store.Alert
	// Propose commits a command through the leader (the delivery records).
	Propose func(ctx context.Context, cmd store.Command) (store.Result, error)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logf receives failed deliveries (default: discard).
	Logf func(format string, args ...any)
	// HTTPClient posts webhooks (default: a client with a 5s timeout).
	HTTPClient *http.Client
	// SMTPRootCAs verifies SMTP servers after STARTTLS (nil: the system's).
	SMTPRootCAs *x509.CertPool
	// Timeout bounds one webhook or e-mail attempt (default 5s) and
	// ScriptTimeout one run of a script (default 30s, as Pacemaker's).
	Timeout       time.Duration
	ScriptTimeout time.Duration
	// Retries is how many times a failed delivery is tried again (default
	// 3), after Backoff, doubled each time (default 500ms).
	Retries int
	Backoff time.Duration
	// QueueSize bounds each alert's queue (default 1000): past it events
	// are dropped, and that is recorded as an alert-failed event.
	QueueSize int
	// RedeliverWindow is how old an undelivered event may be for a new
	// leader to deliver it (default 10m).
	RedeliverWindow time.Duration
}

// Deliverer delivers events to alerts while this node leads.
type Deliverer struct {
	cfg Config
	seq atomic.Uint64 // CRM_alert_node_sequence
}

// New returns a deliverer; Run starts it.
func New(cfg Config) (*Deliverer, error) {
	if cfg.IsLeader == nil || cfg.Wait == nil || cfg.Events == nil || cfg.Alerts == nil || cfg.Propose == nil {
		return nil, ErrConfig
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.ScriptTimeout <= 0 {
		cfg.ScriptTimeout = 30 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: cfg.Timeout}
	}
	if cfg.Retries == 0 {
		cfg.Retries = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1000
	}
	if cfg.RedeliverWindow <= 0 {
		cfg.RedeliverWindow = 10 * time.Minute
	}
	return &Deliverer{cfg: cfg}, nil
}

// Check implements httpapi.AlertChecker: a script alert's script must be
// safe to run on this node.
func (d *Deliverer) Check(a store.Alert) error {
	if a.Kind == store.AlertScript {
		return CheckScript(a.Script)
	}
	return nil
}

// Test implements httpapi.AlertChecker: one attempt, no retry, no record.
func (d *Deliverer) Test(ctx context.Context, a store.Alert, e store.Event) error {
	return d.deliver(ctx, a, e)
}

// Wants reports whether alert a delivers e. Events about alerts only when
// the alert names alert-failed, and then only another alert's failure to
// deliver an event that is not itself about alerts (so two failing alerts
// never feed each other); deliveries never. A script gets only the events
// Pacemaker has alerts for, unless the alert names the kind.
func Wants(a store.Alert, e store.Event) bool {
	if strings.HasPrefix(string(e.Kind), "alert-") {
		return e.Kind == store.EventAlertFailed && slices.Contains(a.Events, string(store.EventAlertFailed)) &&
			e.Alert != a.ID && !strings.HasPrefix(e.Detail, "alert-")
	}
	if !a.Wants(e.Kind) {
		return false
	}
	if _, pcmk := pacemakerAlert(e); a.Kind == store.AlertScript && !pcmk {
		for _, f := range a.Events {
			if string(e.Kind) == f {
				return true
			}
		}
		return false
	}
	return true
}

// deliver makes one attempt.
func (d *Deliverer) deliver(ctx context.Context, a store.Alert, e store.Event) error {
	timeout := d.cfg.Timeout
	if a.Kind == store.AlertScript {
		timeout = d.cfg.ScriptTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch a.Kind {
	case store.AlertWebhook:
		return d.webhook(ctx, a, e)
	case store.AlertEmail:
		return d.email(ctx, a, e)
	case store.AlertScript:
		return d.script(ctx, a, e)
	}
	return fmt.Errorf("alert kind %q", a.Kind)
}

// Run delivers while this node leads, until ctx ends.
func (d *Deliverer) Run(ctx context.Context) {
	var idx, cursor uint64
	var lead *leadership
	defer func() {
		if lead != nil {
			lead.stop()
		}
	}()
	for ctx.Err() == nil {
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		if next, err := d.cfg.Wait(wctx, idx); err == nil {
			idx = next
		}
		cancel()
		if !d.cfg.IsLeader() {
			if lead != nil {
				lead.stop()
				lead = nil
			}
			continue
		}
		if lead == nil {
			lead = d.lead(ctx)
			cursor = lead.backlog(d.cfg.Events(0), d.cfg.Now().Add(-d.cfg.RedeliverWindow).UnixMilli())
		}
		lead.sync(d.cfg.Alerts())
		for _, e := range d.cfg.Events(cursor) {
			lead.offer(e)
			cursor = e.Seq
		}
	}
}

// leadership is the delivery state of one term as leader: a worker per
// alert.
type leadership struct {
	d       *Deliverer
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	workers map[string]*worker
}

func (d *Deliverer) lead(ctx context.Context) *leadership {
	l := &leadership{d: d, workers: map[string]*worker{}}
	l.ctx, l.cancel = context.WithCancel(ctx)
	return l
}

func (l *leadership) stop() {
	l.cancel()
	l.wg.Wait()
}

// backlog queues the events of the window that some alert wants and has
// no delivery record of, and returns the newest event's number.
func (l *leadership) backlog(evs []store.Event, from int64) uint64 {
	l.sync(l.d.cfg.Alerts())
	done := map[string]bool{}
	for _, e := range evs {
		if (e.Kind == store.EventAlertDelivered || e.Kind == store.EventAlertFailed) && e.Ref != 0 {
			done[fmt.Sprintf("%s/%d", e.Alert, e.Ref)] = true
		}
	}
	var last uint64
	for _, e := range evs {
		last = e.Seq
		if e.At < from {
			continue
		}
		for id, w := range l.workers {
			if e.At >= w.alert.Load().Created && !done[fmt.Sprintf("%s/%d", id, e.Seq)] {
				w.offer(e)
			}
		}
	}
	return last
}

// sync starts a worker for each new alert, updates changed ones and
// stops those of removed alerts.
func (l *leadership) sync(alerts []store.Alert) {
	seen := map[string]bool{}
	for _, a := range alerts {
		seen[a.ID] = true
		if w := l.workers[a.ID]; w != nil {
			w.alert.Store(&a)
			continue
		}
		w := &worker{d: l.d, queue: make(chan store.Event, l.d.cfg.QueueSize)}
		w.alert.Store(&a)
		wctx, cancel := context.WithCancel(l.ctx)
		w.cancel = cancel
		l.workers[a.ID] = w
		l.wg.Add(1)
		go func() { defer l.wg.Done(); w.run(wctx) }()
	}
	for id, w := range l.workers {
		if !seen[id] {
			w.cancel()
			delete(l.workers, id)
		}
	}
}

func (l *leadership) offer(e store.Event) {
	for _, w := range l.workers {
		w.offer(e)
	}
}

// worker delivers one alert's events in order, from its own queue.
type worker struct {
	d       *Deliverer
	alert   atomic.Pointer[store.Alert]
	queue   chan store.Event
	cancel  context.CancelFunc
	dropped atomic.Int64
}

// offer queues e if the alert wants it; it never blocks.
func (w *worker) offer(e store.Event) {
	if !Wants(*w.alert.Load(), e) {
		return
	}
	select {
	case w.queue <- e:
	default:
		w.dropped.Add(1)
	}
}

func (w *worker) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-w.queue:
			a := *w.alert.Load()
			err := w.attempts(ctx, a, e)
			if ctx.Err() != nil {
				return // leadership lost: the next leader delivers it
			}
			rec := store.Event{At: w.d.cfg.Now().UnixMilli(), Kind: store.EventAlertDelivered, Alert: a.ID, Ref: e.Seq,
				Detail: string(e.Kind)}
			if err != nil {
				rec.Kind, rec.Reason = store.EventAlertFailed, oneLine(err.Error())
				w.d.cfg.Logf("alerts: %s: event %d (%s) not delivered: %v", a.ID, e.Seq, e.Kind, err)
			}
			recs := []store.Event{rec}
			if n := w.dropped.Swap(0); n > 0 {
				recs = append(recs, store.Event{At: rec.At, Kind: store.EventAlertFailed, Alert: a.ID,
					Reason: fmt.Sprintf("%d events dropped: the alert's queue (%d) was full", n, w.d.cfg.QueueSize)})
			}
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if _, err := w.d.cfg.Propose(pctx, store.NewEventAppend(recs...)); err != nil {
				w.d.cfg.Logf("alerts: %s: delivery of event %d not recorded: %v", a.ID, e.Seq, err)
			}
			cancel()
		}
	}
}

// attempts delivers e, retrying with backoff.
func (w *worker) attempts(ctx context.Context, a store.Alert, e store.Event) error {
	wait := w.d.cfg.Backoff
	var err error
	for try := 0; try <= w.d.cfg.Retries; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			wait *= 2
		}
		if err = w.d.deliver(ctx, a, e); err == nil {
			return nil
		}
	}
	return fmt.Errorf("%d attempts: %w", w.d.cfg.Retries+1, err)
}

// oneLine joins lines and trims s.
func oneLine(s string) string {
	return strings.TrimSpace(strings.Join(strings.Fields(s), " "))
}
