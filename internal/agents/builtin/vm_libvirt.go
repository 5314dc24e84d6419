package builtin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"
)

// The libvirt side of builtin:vm: one connection per operation to the
// host's libvirtd over its RPC protocol (go-libvirt, no cgo), closed when
// the operation ends or its context does.

// Errors of the libvirt connection.
var (
	// ErrVMURI is a uri parameter builtin:vm cannot use.
	ErrVMURI = errors.New("builtin: unsupported libvirt uri")
	// ErrVMUnreachable wraps a failure to reach or open libvirtd.
	ErrVMUnreachable = errors.New("builtin: libvirtd unreachable")
)

// defaultLibvirtSocket is libvirtd's read-write socket for qemu:///system.
const defaultLibvirtSocket = "/var/run/libvirt/libvirt-sock"

// libvirtEndpoint is where a libvirt uri says to connect: qemu:///system
// and qemu+unix:///system (optionally ?socket=PATH) reach the local
// socket, qemu+tcp://HOST[:PORT]/system libvirtd's TCP port (16509).
// TLS and ssh transports are not supported (the daemon has no
// certificates or keys for them yet).
func libvirtEndpoint(u *url.URL) (network, addr string, err error) {
	driver, transport, _ := strings.Cut(u.Scheme, "+")
	if driver != "qemu" {
		return "", "", fmt.Errorf("%w %q: only qemu:// is supported", ErrVMURI, u.String())
	}
	if u.Path != "/system" && u.Path != "/session" {
		return "", "", fmt.Errorf("%w %q: the path must be /system or /session", ErrVMURI, u.String())
	}
	switch {
	case transport == "unix" || (transport == "" && u.Host == ""):
		sock := u.Query().Get("socket")
		if sock == "" {
			sock = defaultLibvirtSocket
		}
		return "unix", sock, nil
	case transport == "tcp":
		if u.Hostname() == "" {
			return "", "", fmt.Errorf("%w %q: qemu+tcp needs a host", ErrVMURI, u.String())
		}
		port := u.Port()
		if port == "" {
			port = "16509"
		}
		return "tcp", net.JoinHostPort(u.Hostname(), port), nil
	}
	return "", "", fmt.Errorf("%w %q: transport %q (want qemu:///system, qemu+unix or qemu+tcp)", ErrVMURI, u.String(), transport)
}

// ctxDialer dials once under a context and remembers the connection so
// the session can close it when the context ends.
type ctxDialer struct {
	ctx           context.Context
	network, addr string

	mu   sync.Mutex
	conn net.Conn
}

func (d *ctxDialer) Dial() (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(d.ctx, d.network, d.addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.conn = c
	d.mu.Unlock()
	return c, nil
}

// close closes the connection, if one was made.
func (d *ctxDialer) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil {
		d.conn.Close()
	}
}

// vmSession is one open connection to a libvirtd.
type vmSession struct {
	lv   *libvirt.Libvirt
	uri  string
	conn net.Conn

	mu       sync.Mutex
	onCancel func() // run (once) before the connection is closed on cancel
	stop     func() bool
}

// dialVM opens a connection to the libvirtd u names. Every call on the
// session returns an error once ctx ends (the connection is closed then).
// The caller closes the session.
//
// The connection and handshake end at the latest when hctx does (a
// libvirtd that accepts connections but never answers, stopped or hung,
// would otherwise hold them until ctx ends); hctx is ctx or one derived
// from it.
func dialVM(ctx, hctx context.Context, u *url.URL) (*vmSession, error) {
	network, addr, err := libvirtEndpoint(u)
	if err != nil {
		return nil, err
	}
	d := &ctxDialer{ctx: hctx, network: network, addr: addr}
	lv := libvirt.NewWithDialer(d)
	early := context.AfterFunc(hctx, d.close)
	err = lv.ConnectToURI(libvirt.RemoteURI(u))
	early()
	if err != nil {
		d.close()
		if hctx.Err() != nil {
			return nil, fmt.Errorf("%w at %s: no answer (%v)", ErrVMUnreachable, u.Redacted(), context.Cause(hctx))
		}
		return nil, fmt.Errorf("%w at %s: %v", ErrVMUnreachable, u.Redacted(), err)
	}
	s := &vmSession{lv: lv, uri: u.Redacted(), conn: d.conn}
	s.stop = context.AfterFunc(ctx, func() {
		s.mu.Lock()
		f := s.onCancel
		s.mu.Unlock()
		if f != nil {
			f()
		}
		d.conn.Close()
	})
	return s, nil
}

// setOnCancel registers f to run before the connection is closed because
// the context ended (migrate_to aborts its job that way).
func (s *vmSession) setOnCancel(f func()) {
	s.mu.Lock()
	s.onCancel = f
	s.mu.Unlock()
}

// close ends the session.
func (s *vmSession) close() {
	if s.stop() {
		done := make(chan struct{})
		go func() { s.lv.Disconnect(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
	}
	s.conn.Close()
}

// domainState is a domain's state as this host's libvirtd reports it.
type domainState struct {
	defined bool // false: libvirtd does not know the domain
	state   libvirt.DomainState
	reason  int32
}

// active reports whether a qemu process runs the domain on this host.
func (st domainState) active() bool {
	switch st.state {
	case libvirt.DomainRunning, libvirt.DomainBlocked, libvirt.DomainPaused,
		libvirt.DomainShutdown, libvirt.DomainPmsuspended:
		return st.defined
	}
	return false
}

// String describes the state as virsh domstate --reason does.
func (st domainState) String() string {
	if !st.defined {
		return "not defined"
	}
	name := map[libvirt.DomainState]string{
		libvirt.DomainNostate: "no state", libvirt.DomainRunning: "running",
		libvirt.DomainBlocked: "blocked", libvirt.DomainPaused: "paused",
		libvirt.DomainShutdown: "shutting down", libvirt.DomainShutoff: "shut off",
		libvirt.DomainCrashed: "crashed", libvirt.DomainPmsuspended: "pmsuspended",
	}[st.state]
	if name == "" {
		name = fmt.Sprintf("state %d", st.state)
	}
	if st.state == libvirt.DomainShutoff {
		if r := shutoffReasons[libvirt.DomainShutoffReason(st.reason)]; r != "" {
			name += " (" + r + ")"
		}
	}
	return name
}

var shutoffReasons = map[libvirt.DomainShutoffReason]string{
	libvirt.DomainShutoffShutdown: "shutdown", libvirt.DomainShutoffDestroyed: "destroyed",
	libvirt.DomainShutoffCrashed: "crashed", libvirt.DomainShutoffMigrated: "migrated",
	libvirt.DomainShutoffSaved: "saved", libvirt.DomainShutoffFailed: "failed",
	libvirt.DomainShutoffFromSnapshot: "from snapshot", libvirt.DomainShutoffDaemon: "daemon",
}

// lookup returns the domain called name and its state; a domain libvirtd
// does not know is no error (defined is false).
func (s *vmSession) lookup(name string) (libvirt.Domain, domainState, error) {
	dom, err := s.lv.DomainLookupByName(name)
	if libvirt.IsNotFound(err) {
		return dom, domainState{}, nil
	}
	if err != nil {
		return dom, domainState{}, fmt.Errorf("look up domain %s on %s: %w", name, s.uri, err)
	}
	st, reason, err := s.lv.DomainGetState(dom, 0)
	if libvirt.IsNotFound(err) { // undefined meanwhile (a transient domain stopped)
		return dom, domainState{}, nil
	}
	if err != nil {
		return dom, domainState{}, fmt.Errorf("state of domain %s on %s: %w", name, s.uri, err)
	}
	return dom, domainState{defined: true, state: libvirt.DomainState(st), reason: reason}, nil
}

// waitState polls the domain's state every 100 ms until done accepts it or
// ctx ends, and returns the last state seen.
func (s *vmSession) waitState(ctx context.Context, name string, done func(domainState) bool) (domainState, error) {
	for {
		_, st, err := s.lookup(name)
		if err != nil {
			return st, err
		}
		if done(st) {
			return st, nil
		}
		if ctx.Err() != nil {
			return st, context.Cause(ctx)
		}
		sleep(ctx, 100*time.Millisecond)
	}
}

// libvirtCode returns libvirt's error number of err, or -1.
func libvirtCode(err error) int {
	var le libvirt.Error
	if errors.As(err, &le) {
		return int(le.Code)
	}
	return -1
}
