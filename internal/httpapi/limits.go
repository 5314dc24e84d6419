package httpapi

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Defaults of the authentication failure limit.
const (
	// DefaultAuthFailures is how many failed authentications one source
	// address may make in a burst.
	DefaultAuthFailures = 10
	// DefaultAuthFailureWindow is how long a spent burst takes to refill
	// (one failure back every window/burst).
	DefaultAuthFailureWindow = time.Minute
	// maxFailureSources bounds the table of addresses being tracked.
	maxFailureSources = 4096
)

// failureLimiter is a token bucket per source address that only
// authentication failures (401 answers) drain. While a source's bucket is
// empty, every request from it gets 429 with Retry-After, including ones
// with a valid token: otherwise a guessing client would learn which guess
// was right.
type failureLimiter struct {
	burst  float64
	refill time.Duration // per token
	now    func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newFailureLimiter(burst int, window time.Duration, now func() time.Time) *failureLimiter {
	if burst <= 0 {
		burst = DefaultAuthFailures
	}
	if window <= 0 {
		window = DefaultAuthFailureWindow
	}
	return &failureLimiter{burst: float64(burst), refill: window / time.Duration(burst), now: now,
		buckets: map[string]*bucket{}}
}

// level refills b to now and returns it. Callers hold mu.
func (l *failureLimiter) level(b *bucket, now time.Time) float64 {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = math.Min(l.burst, b.tokens+float64(d)/float64(l.refill))
		b.at = now
	}
	return b.tokens
}

// wait returns how long src must wait before it may be served (0: now).
func (l *failureLimiter) wait(src string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[src]
	if !ok {
		return 0
	}
	if tok := l.level(b, l.now()); tok < 1 {
		return time.Duration((1 - tok) * float64(l.refill))
	}
	return 0
}

// fail takes one token from src's bucket.
func (l *failureLimiter) fail(src string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[src]
	if !ok {
		if len(l.buckets) >= maxFailureSources {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[src] = b
	}
	l.level(b, now)
	b.tokens = math.Max(0, b.tokens-1)
}

// prune forgets sources whose bucket is full again and, if the table is
// still full, arbitrary ones (a flood of sources only weakens the limit
// for those forgotten). Callers hold mu.
func (l *failureLimiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if l.level(b, now) >= l.burst {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) < maxFailureSources {
			break
		}
		delete(l.buckets, k)
	}
}

// wrap refuses sources over the limit and counts the 401s h answers.
func (l *failureLimiter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		src := sourceOf(r)
		if d := l.wait(src); d > 0 {
			secs := int(math.Ceil(d.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			writeError(w, errorf(http.StatusTooManyRequests,
				"too many failed authentications from %s: retry in %ds", src, secs))
			return
		}
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.status == http.StatusUnauthorized {
			l.fail(src)
		}
	})
}

// sourceOf is the client's IP address (the API is served directly, not
// behind a proxy, so forwarding headers are not trusted).
func sourceOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// statusRecorder remembers the status a handler answered. Unwrap lets
// http.ResponseController reach the Flusher (the event stream).
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
