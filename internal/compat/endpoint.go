package compat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// DefaultSocket is the endpoint of the tools when PACELINE_COMPAT_SOCKET
// is not set: the socket of an agent with the default data directory.
const DefaultSocket = "/var/lib/paceline/compat.sock"

// Scope says where an attribute lives, by the name Pacemaker prints.
type Scope string

const (
	// ScopeStatus is a transient node attribute ("-l reboot"): the
	// store's node attributes, gone when the node leaves.
	ScopeStatus Scope = "status"
	// ScopeNodes is a permanent node attribute ("-l forever"): the node's
	// entry in the configuration.
	ScopeNodes Scope = "nodes"
	// ScopeConfig is a cluster option (crm_config): the configuration's
	// properties. Node is empty.
	ScopeConfig Scope = "crm_config"
	// ScopePrivate is a private transient node attribute
	// (attrd_updater --private): shared with every node like a transient
	// one, but the scheduler never reads it and its change plans nothing.
	ScopePrivate Scope = "private"
	// ScopeMeta is a resource's meta-attribute (crm_resource --meta),
	// read-only: Node names the resource (its id without a clone instance
	// suffix), and ErrNoNode means there is no such resource. A meta-
	// attribute the resource does not set itself is its parent's (group
	// or clone), as Pacemaker resolves it.
	ScopeMeta Scope = "meta"
)

// Valid reports whether s is one of the scopes.
func (s Scope) Valid() bool {
	return s == ScopeStatus || s == ScopeNodes || s == ScopeConfig || s == ScopeMeta || s == ScopePrivate
}

// Member is one cluster member as crm_node lists it.
type Member struct {
	ID     int    `json:"id"` // 1-based position in name order
	Name   string `json:"name"`
	Online bool   `json:"online"`
}

// Info is what crm_node reports.
type Info struct {
	// Local is the name of the node the endpoint serves.
	Local   string   `json:"local"`
	Members []Member `json:"members"`
	// Quorum is true when the local node is in the partition with quorum.
	Quorum bool `json:"quorum"`
}

// Errors a Handler returns; the tools map them to Pacemaker's messages
// and exit codes.
var (
	// ErrNotFound: the attribute is not set (or the node does not exist).
	ErrNotFound = errors.New("compat: no such attribute")
	// ErrNoNode: the named node is not a member.
	ErrNoNode = errors.New("compat: no such node")
	// ErrPermission: the change needs more than the local endpoint's
	// callers may do (a cluster option needs an admin token).
	ErrPermission = errors.New("compat: permission denied")
)

// Handler answers the endpoint's requests. The daemon implements it over
// the replicated store and its API. Serve calls it from one goroutine per
// connection, with the caller's user id in ctx (PeerUID); calls may block
// (writes wait for commitment) until ctx ends. Set and Delete return
// ErrPermission (wrapped) for a change the caller may not make.
type Handler interface {
	Info(ctx context.Context) (Info, error)
	// Get returns the value of name on node in scope; ErrNotFound when it
	// is not set, ErrNoNode when node is not a member.
	Get(ctx context.Context, scope Scope, node, name string) (string, error)
	// Set sets name to value on node in scope, once committed.
	Set(ctx context.Context, scope Scope, node, name, value string) error
	// Delete removes name on node in scope; removing an attribute that is
	// not set is not an error.
	Delete(ctx context.Context, scope Scope, node, name string) error
}

// Request is one call on the endpoint.
type Request struct {
	Op    string `json:"op"` // info, get, set or delete
	Scope Scope  `json:"scope,omitempty"`
	Node  string `json:"node,omitempty"`
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
}

// Response answers a Request. Error is empty on success; Code is
// "not-found", "no-node", "denied" (ErrPermission) or "error" with it.
type Response struct {
	Info  *Info  `json:"info,omitempty"`
	Value string `json:"value,omitempty"`
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
}

// requestTimeout bounds one request on both sides (a write waits for the
// leader to commit it).
const requestTimeout = 30 * time.Second

// Serve answers requests on ln with h until ctx ends or ln fails. Only a
// peer running as root or as this process's user is answered; others get
// their connection closed. logf (may be nil) receives refusals.
func Serve(ctx context.Context, ln *net.UnixListener, h Handler, logf func(string, ...any)) error {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	go func() { <-ctx.Done(); ln.Close() }()
	for {
		conn, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go func() {
			defer conn.Close()
			uid, err := peerUID(conn)
			if err != nil || (uid != 0 && uid != uint32(os.Geteuid())) {
				logf("compat endpoint: refused a peer (uid %d, %v)", uid, err)
				return
			}
			serveConn(context.WithValue(ctx, peerKey{}, uid), conn, h)
		}()
	}
}

// peerKey is the context key of the peer's user id.
type peerKey struct{}

// PeerUID returns the user id of the process that sent the request a
// Handler is answering (Serve has checked it: root or the agent's user);
// false outside Serve.
func PeerUID(ctx context.Context) (uint32, bool) {
	uid, ok := ctx.Value(peerKey{}).(uint32)
	return uid, ok
}

func serveConn(ctx context.Context, conn net.Conn, h Handler) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	conn.SetDeadline(time.Now().Add(requestTimeout))
	var req Request
	if err := json.NewDecoder(conn).Decode(&req); err != nil {
		json.NewEncoder(conn).Encode(Response{Code: "error", Error: "malformed request: " + err.Error()})
		return
	}
	json.NewEncoder(conn).Encode(handle(ctx, h, req))
}

// handle runs one request; it checks what the Handler may assume.
func handle(ctx context.Context, h Handler, req Request) Response {
	fail := func(err error) Response {
		code := "error"
		switch {
		case errors.Is(err, ErrNotFound):
			code = "not-found"
		case errors.Is(err, ErrNoNode):
			code = "no-node"
		case errors.Is(err, ErrPermission):
			code = "denied"
		}
		return Response{Code: code, Error: err.Error()}
	}
	if req.Op != "info" {
		switch {
		case !req.Scope.Valid():
			return fail(fmt.Errorf("unknown scope %q", req.Scope))
		case req.Name == "":
			return fail(errors.New("no attribute name"))
		case (req.Scope == ScopeConfig) != (req.Node == ""):
			return fail(fmt.Errorf("scope %s with node %q", req.Scope, req.Node))
		case req.Scope == ScopeMeta && req.Op != "get":
			return fail(fmt.Errorf("%w: meta-attributes are read-only here", ErrPermission))
		}
	}
	switch req.Op {
	case "info":
		info, err := h.Info(ctx)
		if err != nil {
			return fail(err)
		}
		return Response{Info: &info}
	case "get":
		v, err := h.Get(ctx, req.Scope, req.Node, req.Name)
		if err != nil {
			return fail(err)
		}
		return Response{Value: v}
	case "set":
		if err := h.Set(ctx, req.Scope, req.Node, req.Name, req.Value); err != nil {
			return fail(err)
		}
		return Response{}
	case "delete":
		if err := h.Delete(ctx, req.Scope, req.Node, req.Name); err != nil {
			return fail(err)
		}
		return Response{}
	}
	return fail(fmt.Errorf("unknown operation %q", req.Op))
}

// peerUID returns the user id of the process at the other end of conn.
func peerUID(conn *net.UnixConn) (uint32, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if credErr != nil {
		return 0, credErr
	}
	return cred.Uid, nil
}

// Listen creates the endpoint's socket at path with mode 0600, replacing
// a stale one. The directory must exist and be private (the data
// directory, 0700).
func Listen(path string) (*net.UnixListener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("compat: %s exists and is not a socket", path)
		}
		os.Remove(path)
	}
	// No umask games (they are process-wide): the 0700 directory keeps
	// others out until the chmod, and Serve checks every peer anyway.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("compat: listen %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("compat: %w", err)
	}
	return ln, nil
}

// Client calls the endpoint at Socket.
type Client struct {
	Socket string
}

// errRemote is an error the endpoint reported (not a transport failure).
type errRemote struct{ code, msg string }

func (e *errRemote) Error() string { return e.msg }
func (e *errRemote) Is(target error) bool {
	return (target == ErrNotFound && e.code == "not-found") || (target == ErrNoNode && e.code == "no-node") ||
		(target == ErrPermission && e.code == "denied")
}

// Do sends req and returns the answer; an error the endpoint reported
// matches ErrNotFound, ErrNoNode or ErrPermission with errors.Is when it
// was one of those.
func (c Client) Do(req Request) (Response, error) {
	conn, err := net.DialTimeout("unix", c.Socket, 5*time.Second)
	if err != nil {
		return Response{}, fmt.Errorf("cannot reach the local paceline agent at %s: %w", c.Socket, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(requestTimeout + 5*time.Second))
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return Response{}, fmt.Errorf("local paceline agent: %w", err)
	}
	var res Response
	if err := json.NewDecoder(conn).Decode(&res); err != nil {
		return Response{}, fmt.Errorf("local paceline agent: no answer: %w", err)
	}
	if res.Error != "" {
		return res, &errRemote{code: res.Code, msg: res.Error}
	}
	return res, nil
}
