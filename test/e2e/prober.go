package e2e

import (
	"io"
	"net"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Prober is a client that connects to ip:port every 10 ms from a host's
// namespace and records who answered (each host's service answers its
// own name) and when. Probes overlap: a probe that hangs (the address
// moving) never delays the next.
type Prober struct {
	stop chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	answers []Answer
}

// Answer is one probe's answer.
type Answer struct {
	At   time.Time // when the answer was read
	Name string
}

// probeEvery is the probing period; probeTimeout bounds one probe.
const (
	probeEvery   = 10 * time.Millisecond
	probeTimeout = 200 * time.Millisecond
	probeWorkers = 24
)

// StartProber starts probing ip:port from host from; Stop ends it.
func StartProber(t *testing.T, from *Host, ip string, port int) *Prober {
	t.Helper()
	p := &Prober{stop: make(chan struct{})}
	ticks := make(chan struct{}, probeWorkers)
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	ready := make(chan error, probeWorkers)
	for range probeWorkers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			// Sockets are created in the namespace of the thread that
			// creates them: this thread lives in the client's namespace
			// and is discarded when the goroutine ends (never unlocked).
			runtime.LockOSThread()
			err := enterNS(from.NS)
			ready <- err
			if err != nil {
				return
			}
			for {
				select {
				case <-p.stop:
					return
				case <-ticks:
				}
				if name, ok := probe(addr); ok {
					p.mu.Lock()
					p.answers = append(p.answers, Answer{At: time.Now(), Name: name})
					p.mu.Unlock()
				}
			}
		}()
	}
	for range probeWorkers {
		if err := <-ready; err != nil {
			close(p.stop)
			p.wg.Wait()
			t.Fatalf("e2e: prober: enter %s: %v", from.NS, err)
		}
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tk := time.NewTicker(probeEvery)
		defer tk.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tk.C:
				select {
				case ticks <- struct{}{}:
				default: // every worker busy: this tick is dropped
				}
			}
		}
	}()
	return p
}

func probe(addr string) (string, bool) {
	c, err := net.DialTimeout("tcp", addr, probeTimeout)
	if err != nil {
		return "", false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(probeTimeout))
	b, err := io.ReadAll(io.LimitReader(c, 64))
	if err != nil || len(b) == 0 {
		return "", false
	}
	return string(b), true
}

// Last returns the most recent answer.
func (p *Prober) Last() (name string, at time.Time, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.answers) == 0 {
		return "", time.Time{}, false
	}
	a := p.answers[len(p.answers)-1]
	return a.Name, a.At, true
}

// FirstOtherThan waits up to limit for the first answer after since from
// a host other than name, and returns when it was read.
func (p *Prober) FirstOtherThan(name string, since time.Time, limit time.Duration) (time.Time, bool) {
	deadline := time.Now().Add(limit)
	for {
		p.mu.Lock()
		var found time.Time
		for i := len(p.answers) - 1; i >= 0 && p.answers[i].At.After(since); i-- {
			if p.answers[i].Name != name {
				found = p.answers[i].At
			}
		}
		p.mu.Unlock()
		if !found.IsZero() {
			return found, true
		}
		if time.Now().After(deadline) {
			return time.Time{}, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends probing.
func (p *Prober) Stop() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.wg.Wait()
}
