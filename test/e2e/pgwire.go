package e2e

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"time"
)

// pgConn is a client connection to a PostgreSQL server speaking the
// frontend/backend protocol 3.0: trust authentication and simple queries
// only, which is all the writer needs. The writer used to start one psql
// per insert, 50 a second: on two cores the client's process starts cost
// more CPU than the cluster it was measuring.
type pgConn struct {
	c net.Conn
	r *bufio.Reader
}

// errPGWire is wrapped by every protocol-level error (a server's
// ErrorResponse included).
var errPGWire = errors.New("e2e: postgresql wire")

// dialPG connects from inside network namespace ns to a server at addr
// (host:port) as user postgres, database postgres, within limit.
func dialPG(ns, addr string, limit time.Duration) (*pgConn, error) {
	type dialed struct {
		c   net.Conn
		err error
	}
	ch := make(chan dialed, 1)
	go func() {
		// The socket is made in this thread's namespace; the thread is
		// never unlocked, so the runtime discards it when this goroutine
		// ends.
		runtime.LockOSThread()
		if err := enterNS(ns); err != nil {
			ch <- dialed{nil, err}
			return
		}
		c, err := net.DialTimeout("tcp", addr, limit)
		ch <- dialed{c, err}
	}()
	d := <-ch
	if d.err != nil {
		return nil, d.err
	}
	p := &pgConn{c: d.c, r: bufio.NewReader(d.c)}
	p.c.SetDeadline(time.Now().Add(limit))
	var body []byte
	body = binary.BigEndian.AppendUint32(body, 3<<16) // protocol 3.0
	for _, s := range []string{"user", "postgres", "database", "postgres", ""} {
		body = append(append(body, s...), 0)
	}
	if err := p.send(0, body); err != nil {
		p.Close()
		return nil, err
	}
	if err := p.untilReady(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Close closes the connection.
func (p *pgConn) Close() error { return p.c.Close() }

// exec runs one statement (a simple query) and reports whether it
// completed: for an INSERT outside a transaction block, that it committed
// (the server sends CommandComplete after the commit, and with
// synchronous replication after the standby has it).
func (p *pgConn) exec(sql string, deadline time.Time) error {
	p.c.SetDeadline(deadline)
	if err := p.send('Q', append([]byte(sql), 0)); err != nil {
		return err
	}
	return p.untilReady()
}

// send writes one message: its type (0: none, the startup message), its
// length, its body.
func (p *pgConn) send(kind byte, body []byte) error {
	var msg []byte
	if kind != 0 {
		msg = append(msg, kind)
	}
	msg = binary.BigEndian.AppendUint32(msg, uint32(4+len(body)))
	_, err := p.c.Write(append(msg, body...))
	return err
}

// untilReady reads messages until ReadyForQuery: an ErrorResponse or an
// authentication request other than "ok" (trust) is an error.
func (p *pgConn) untilReady() error {
	var failed error
	for {
		var head [5]byte
		if _, err := io.ReadFull(p.r, head[:]); err != nil {
			return err
		}
		n := int(binary.BigEndian.Uint32(head[1:]))
		if n < 4 || n > 1<<20 {
			return fmt.Errorf("%w: message %q of length %d", errPGWire, head[0], n)
		}
		body := make([]byte, n-4)
		if _, err := io.ReadFull(p.r, body); err != nil {
			return err
		}
		switch head[0] {
		case 'R':
			if len(body) < 4 || binary.BigEndian.Uint32(body) != 0 {
				return fmt.Errorf("%w: the server asks for a password (trust expected)", errPGWire)
			}
		case 'E':
			failed = fmt.Errorf("%w: %s", errPGWire, errorMessage(body))
		case 'Z':
			return failed
		}
	}
}

// errorMessage is the M (message) field of an ErrorResponse's body.
func errorMessage(body []byte) string {
	for _, f := range strings.Split(string(body), "\x00") {
		if strings.HasPrefix(f, "M") {
			return f[1:]
		}
	}
	return "error"
}

// pgPool hands out connections to one address from inside a namespace:
// an idle one when there is, a new one otherwise. A connection whose
// statement failed is closed, never reused, and at most pgPoolIdle are
// kept: after a failover the inserts held up meanwhile connect at once,
// and keeping them all would take the server's connections from its
// agent (PAF's monitor then failed with "too many clients").
type pgPool struct {
	ns, addr string
	mu       sync.Mutex
	idle     []*pgConn
}

// exec runs sql on a pooled connection within limit.
func (pp *pgPool) exec(sql string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	pp.mu.Lock()
	var p *pgConn
	if n := len(pp.idle); n > 0 {
		p, pp.idle = pp.idle[n-1], pp.idle[:n-1]
	}
	pp.mu.Unlock()
	if p == nil {
		var err error
		if p, err = dialPG(pp.ns, pp.addr, time.Until(deadline)); err != nil {
			return err
		}
	}
	if err := p.exec(sql, deadline); err != nil {
		p.Close()
		return err
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if len(pp.idle) >= pgPoolIdle {
		p.Close()
		return nil
	}
	pp.idle = append(pp.idle, p)
	return nil
}

// pgPoolIdle is how many idle connections a pgPool keeps.
const pgPoolIdle = 4

// close closes the idle connections.
func (pp *pgPool) close() {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	for _, p := range pp.idle {
		p.Close()
	}
	pp.idle = nil
}
