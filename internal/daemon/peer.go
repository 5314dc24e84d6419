package daemon

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/paceline/paceline/internal/consensus"
	"github.com/paceline/paceline/internal/controller"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// PeerPrefix is the path under which nodes call each other on the API
// listener. Every call needs a node certificate of the cluster (mutual
// TLS); API tokens are not accepted there.
const PeerPrefix = "/internal/v1/"

// maxPeerBody bounds a node-to-node request body.
const maxPeerBody = 4 << 20

// ErrPeer wraps node-to-node call failures.
var ErrPeer = errors.New("daemon: peer call")

// ErrPeerRejected (an ErrPeer) is a peer's 400: it could not take the
// request as sent, and sending it again will not help.
var ErrPeerRejected = fmt.Errorf("%w rejected", ErrPeer)

// PeerHandler serves node-to-node calls on this node. The caller's node
// name is taken from its verified certificate, never from the body.
//
//	POST /internal/v1/propose    body: an encoded store command; the leader
//	                             applies it and answers a peerResult; other
//	                             nodes answer 421 naming the leader.
//	POST /internal/v1/heartbeat  the leader renews the caller's lease (421
//	                             elsewhere).
//	POST /internal/v1/report     body: peerReport; the leader records the
//	                             result of an op on the caller.
//	POST /internal/v1/exec       body: controller.Op; accepted only from
//	                             the node this node follows as leader, so a
//	                             deposed leader cannot start anything.
//	POST /internal/v1/remove     body: peerRemove; the leader removes the
//	                             node and revokes its certificate.
//	POST /internal/v1/renew      body: peerRenew; the CA holder signs a new
//	                             key for the caller (ca.go).
//	POST /internal/v1/cert       the leader records the caller's certificate.
//	POST /internal/v1/ca-rotate  the CA holder starts a CA rotation.
//
// Each endpoint accepts only the node roles of peerRoles, propose refuses
// the commands only the leader makes (leaderOnly) and lets only servers
// propose a CA bundle, and a revoked certificate, or one from a CA no
// longer trusted, is refused everywhere.
type PeerHandler struct {
	node    *consensus.Node
	hooks   PeerHooks
	mux     *http.ServeMux
	revoked func(serial string) bool
}

// PeerHooks connect the peer endpoints to the node's runtime.
type PeerHooks struct {
	// Controller returns the running controller while this node leads
	// (nil otherwise). Nil: heartbeat and report answer 421.
	Controller func() *controller.Controller
	// Exec hands an op to this node's executor without blocking. Nil:
	// exec answers 501 (a witness runs nothing).
	Exec func(op controller.Op) error
	// Peers forwards join requests to the leader (nil: only the leader
	// accepts them).
	Peers *PeerClient
	// CA signs renewals and starts rotations (nil: renew and ca-rotate
	// answer 501).
	CA *caManager
	// Trusts reports whether a peer's certificates (leaf first) still
	// chain to a trusted CA (nil: the handshake's verification is enough).
	Trusts func(chain ...*x509.Certificate) bool
}

// NewPeerHandler returns the handler of node's peer endpoints.
func NewPeerHandler(node *consensus.Node, hooks PeerHooks) *PeerHandler {
	h := &PeerHandler{node: node, hooks: hooks, mux: http.NewServeMux(), revoked: revokedIn(node)}
	h.mux.HandleFunc("POST "+PeerPrefix+"propose", h.propose)
	h.mux.HandleFunc("POST "+PeerPrefix+"heartbeat", h.heartbeat)
	h.mux.HandleFunc("POST "+PeerPrefix+"report", h.report)
	h.mux.HandleFunc("POST "+PeerPrefix+"exec", h.exec)
	h.mux.HandleFunc("POST "+PeerPrefix+"join", h.join)
	h.mux.HandleFunc("POST "+PeerPrefix+"remove", h.remove)
	h.mux.HandleFunc("POST "+PeerPrefix+"renew", h.renew)
	h.mux.HandleFunc("POST "+PeerPrefix+"cert", h.cert)
	h.mux.HandleFunc("POST "+PeerPrefix+"ca-rotate", h.caRotate)
	return h
}

// caller is the verified node name of the request's peer (ServeHTTP has
// checked it).
func caller(r *http.Request) string {
	id, _ := pki.PeerIdentity(*r.TLS)
	return id.Node
}

// controller returns the running controller, or answers 421.
func (h *PeerHandler) controller(w http.ResponseWriter) *controller.Controller {
	var c *controller.Controller
	if h.hooks.Controller != nil {
		c = h.hooks.Controller()
	}
	if c == nil {
		peerError(w, http.StatusMisdirectedRequest, fmt.Sprintf("not the leader (the leader is %q)", h.node.LeaderID()))
	}
	return c
}

func (h *PeerHandler) heartbeat(w http.ResponseWriter, r *http.Request) {
	c := h.controller(w)
	if c == nil {
		return
	}
	var req peerHeartbeat
	if err := decodeStrict(r.Body, &req); err != nil {
		peerError(w, http.StatusBadRequest, "heartbeat: "+err.Error())
		return
	}
	if req.WatchdogMS < 0 {
		peerError(w, http.StatusBadRequest, "heartbeat: watchdog_ms is negative")
		return
	}
	if len(req.Busy) > maxBusy {
		peerError(w, http.StatusBadRequest, fmt.Sprintf("heartbeat: busy lists %d ops, more than %d", len(req.Busy), maxBusy))
		return
	}
	exp, err := c.Heartbeat(r.Context(), controller.Renewal{Node: caller(r), Boot: req.Boot, Watchdog: time.Duration(req.WatchdogMS) * time.Millisecond, Busy: req.Busy, Leaving: req.Leaving})
	if err != nil {
		peerError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, map[string]int64{"expires_unix_ms": exp.UnixMilli()})
}

// peerHeartbeat is a lease renewal on the wire: WatchdogMS is the
// timeout of the watchdog the node feeds only while its lease is valid
// (0: none).
type peerHeartbeat struct {
	WatchdogMS int64 `json:"watchdog_ms"`
	// Boot identifies the sending agent process (controller.Renewal).
	Boot string `json:"boot,omitempty"`
	// Busy are the node's ops not yet reported (controller.Renewal).
	Busy []controller.Busy `json:"busy,omitempty"`
	// Leaving is the node's last renewal after a drain (controller.Renewal).
	Leaving bool `json:"leaving,omitempty"`
}

// maxBusy bounds Renewal.Busy on the wire: a node has one op in flight
// per resource, and a queue of a few more.
const maxBusy = 16384

// peerReport is an op result on the wire.
type peerReport struct {
	Resource model.ResourceHistory `json:"resource"`
	Record   model.OpRecord        `json:"record"`
	// Boot identifies the agent process that ran the op (controller.Renewal).
	Boot string `json:"boot,omitempty"`
}

func (h *PeerHandler) report(w http.ResponseWriter, r *http.Request) {
	var rep peerReport
	if err := decodeStrict(r.Body, &rep); err != nil {
		peerError(w, http.StatusBadRequest, "report: "+err.Error())
		return
	}
	c := h.controller(w)
	if c == nil {
		return
	}
	if err := c.Report(caller(r), rep.Boot, rep.Resource, rep.Record); err != nil {
		peerError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, map[string]bool{"ok": true})
}

func (h *PeerHandler) exec(w http.ResponseWriter, r *http.Request) {
	var op controller.Op
	if err := decodeStrict(r.Body, &op); err != nil {
		peerError(w, http.StatusBadRequest, "exec: "+err.Error())
		return
	}
	if from, leader := caller(r), h.node.LeaderID(); from != leader {
		peerError(w, http.StatusForbidden, fmt.Sprintf("exec from %q, but this node follows leader %q", from, leader))
		return
	}
	if h.hooks.Exec == nil {
		peerError(w, http.StatusNotImplemented, "this node runs no resources")
		return
	}
	if err := h.hooks.Exec(op); err != nil {
		peerError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, map[string]bool{"ok": true})
}

// join adds the caller (or, from a server forwarding it, the node it
// names) to the cluster with its Raft and API addresses.
func (h *PeerHandler) join(w http.ResponseWriter, r *http.Request) {
	var req peerJoinRequest
	if err := decodeStrict(r.Body, &req); err != nil {
		peerError(w, http.StatusBadRequest, "join: "+err.Error())
		return
	}
	id, _ := pki.PeerIdentity(*r.TLS)
	if req.Node == "" {
		req.Node, req.Role, req.Serial = id.Node, string(id.Role), pki.Serial(r.TLS.VerifiedChains[0][0])
	} else if id.Role != pki.RoleServer {
		peerError(w, http.StatusForbidden, "only a server may forward a join")
		return
	}
	if !h.node.IsLeader() {
		leader := h.node.LeaderID()
		if h.hooks.Peers == nil || leader == "" || leader == h.node.ID() {
			peerError(w, http.StatusMisdirectedRequest, fmt.Sprintf("not the leader (the leader is %q)", leader))
			return
		}
		if err := h.hooks.Peers.post(r.Context(), leader, "join", req, nil); err != nil {
			peerError(w, http.StatusBadGateway, err.Error())
			return
		}
		writeJSON(w, map[string]bool{"ok": true})
		return
	}
	res, err := h.node.JoinAt(r.Context(), req.Node, req.RaftAddr, req.APIAddr, store.Role(req.Role))
	if err == nil {
		err = res.Err
	}
	if err == nil && req.Serial != "" {
		err = recordCert(r.Context(), h.node, store.NodeCert{Name: req.Node, Serial: req.Serial})
	}
	if err != nil {
		peerError(w, http.StatusServiceUnavailable, "join "+req.Node+": "+err.Error())
		return
	}
	writeJSON(w, map[string]bool{"ok": true})
}

func decodeStrict(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// ServeHTTP answers 403 unless the connection carries a verified node
// certificate of this cluster.
func (h *PeerHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil {
		peerError(w, http.StatusForbidden, "node-to-node calls need mutual TLS")
		return
	}
	id, err := pki.PeerIdentity(*r.TLS)
	if err != nil {
		peerError(w, http.StatusForbidden, "not a node of this cluster: "+err.Error())
		return
	}
	if err := pki.CheckRevoked(r.TLS.VerifiedChains[0][0], h.revoked); err != nil {
		peerError(w, http.StatusForbidden, err.Error())
		return
	}
	if h.hooks.Trusts != nil && !h.hooks.Trusts(r.TLS.PeerCertificates...) {
		peerError(w, http.StatusForbidden, fmt.Sprintf("the certificate of %q is from a CA this cluster no longer trusts", id.Node))
		return
	}
	endpoint := strings.TrimPrefix(r.URL.Path, PeerPrefix)
	if roles, ok := peerRoles[endpoint]; ok && !slices.Contains(roles, id.Role) {
		peerError(w, http.StatusForbidden, fmt.Sprintf("%s: a %s node may not call it", endpoint, id.Role))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxPeerBody)
	h.mux.ServeHTTP(w, r)
}

// peerResult is store.Result on the wire: the store's error as its kind
// (the sentinel, so errors.Is works on the caller's side) and message.
type peerResult struct {
	Epoch   uint64 `json:"epoch"`
	Changed bool   `json:"changed"`
	Kind    string `json:"kind,omitempty"`
	Error   string `json:"error,omitempty"`
}

// storeErrors are the store's sentinels by wire kind.
var storeErrors = map[string]error{
	"unsupported_version": store.ErrUnsupportedVersion,
	"unknown_command":     store.ErrUnknownCommand,
	"malformed":           store.ErrMalformed,
	"epoch_mismatch":      store.ErrEpochMismatch,
	"unknown_epoch":       store.ErrUnknownEpoch,
	"unknown_node":        store.ErrUnknownNode,
	"invalid_role":        store.ErrInvalidRole,
	"invalid_state":       store.ErrInvalidState,
	"empty_name":          store.ErrEmptyName,
	"bad_snapshot":        store.ErrBadSnapshot,
}

func toWire(res store.Result) peerResult {
	w := peerResult{Epoch: res.Epoch, Changed: res.Changed}
	if res.Err != nil {
		w.Error, w.Kind = res.Err.Error(), "other"
		for k, e := range storeErrors {
			if errors.Is(res.Err, e) {
				w.Kind = k
			}
		}
	}
	return w
}

func fromWire(w peerResult) store.Result {
	res := store.Result{Epoch: w.Epoch, Changed: w.Changed}
	if w.Kind != "" {
		if e, ok := storeErrors[w.Kind]; ok {
			res.Err = fmt.Errorf("%w (on the leader: %s)", e, w.Error)
		} else {
			res.Err = errors.New(w.Error)
		}
	}
	return res
}

func (h *PeerHandler) propose(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		peerError(w, http.StatusRequestEntityTooLarge, "request body: "+err.Error())
		return
	}
	cmd, err := store.Decode(b)
	if err != nil {
		peerError(w, http.StatusBadRequest, err.Error())
		return
	}
	if leaderOnly[cmd.Type] {
		peerError(w, http.StatusForbidden, fmt.Sprintf("propose: %s is made only by the leader", cmd.Type))
		return
	}
	if id, _ := pki.PeerIdentity(*r.TLS); cmd.Type == store.TypeCASet && id.Role != pki.RoleServer {
		peerError(w, http.StatusForbidden, fmt.Sprintf("propose: only a server may propose %s", cmd.Type))
		return
	}
	if !h.node.IsLeader() {
		peerError(w, http.StatusMisdirectedRequest, fmt.Sprintf("not the leader (the leader is %q)", h.node.LeaderID()))
		return
	}
	res, err := h.node.Apply(r.Context(), cmd)
	if err != nil {
		peerError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(toWire(res))
}

func peerError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// PeerClient calls other nodes' peer endpoints with this node's
// certificate.
type PeerClient struct {
	tr      atomic.Pointer[http.Transport]
	newTr   func() *http.Transport
	timeout time.Duration
	resolve func(node string) (apiAddr string, ok bool)
}

var _ Forwarder = (*PeerClient)(nil)

// NewPeerClient returns a client that dials with tlsCfg (pki.NodeTLS) and
// finds a node's API address (host:port) with resolve. timeout bounds one
// call (0: 10 s).
func NewPeerClient(tlsCfg *tls.Config, resolve func(node string) (string, bool), timeout time.Duration) *PeerClient {
	return NewPeerClientFunc(func() *tls.Config { return tlsCfg }, resolve, timeout)
}

// NewPeerClientFunc is NewPeerClient with the TLS configuration read at
// every dial (pki.Keyring.ClientTLS), so a renewed certificate or a new
// CA is used by the next connection (see Reset).
func NewPeerClientFunc(tlsFor func() *tls.Config, resolve func(node string) (string, bool), timeout time.Duration) *PeerClient {
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	c := &PeerClient{timeout: timeout, resolve: resolve, newTr: func() *http.Transport {
		return &http.Transport{ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute,
			DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				cfg := tlsFor().Clone()
				cfg.NextProtos = []string{"h2", "http/1.1"}
				return (&tls.Dialer{NetDialer: dialer, Config: cfg}).DialContext(ctx, network, addr)
			},
			// A peer that died without closing its connection (a crash, a
			// watchdog reset) leaves it half-open, and HTTP/2 would send
			// every call to it into the void: ping an idle connection and
			// drop it when the ping goes unanswered.
			HTTP2: &http.HTTP2Config{SendPingTimeout: time.Second, PingTimeout: time.Second}}
	}}
	c.tr.Store(c.newTr())
	return c
}

// Reset makes every later call use a new connection: after this node's
// certificate changed, pooled connections (HTTP/2 keeps one per peer,
// busy with heartbeats) would go on presenting the old one. Calls in
// flight finish on the old connections, which are closed shortly after.
func (c *PeerClient) Reset() {
	old := c.tr.Swap(c.newTr())
	old.CloseIdleConnections()
	time.AfterFunc(c.timeout, old.CloseIdleConnections)
}

// Forward proposes cmd on the leader.
func (c *PeerClient) Forward(ctx context.Context, leader string, cmd store.Command) (store.Result, error) {
	b, err := store.Encode(cmd)
	if err != nil {
		return store.Result{}, err
	}
	var w peerResult
	if err := c.post(ctx, leader, "propose", json.RawMessage(b), &w); err != nil {
		return store.Result{}, err
	}
	return fromWire(w), nil
}

// post calls path on node with a JSON body and decodes a JSON answer.
// 421 becomes consensus.ErrNotLeader.
func (c *PeerClient) post(ctx context.Context, node, path string, in, out any) error {
	addr, ok := c.resolve(node)
	if !ok {
		return fmt.Errorf("%w: no API address known for node %q", ErrPeer, node)
	}
	return c.postAddr(ctx, addr, path, in, out)
}

// postAddr is post to a node known by its API address.
func (c *PeerClient) postAddr(ctx context.Context, addr, path string, in, out any) error {
	node := addr
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+PeerPrefix+path, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPeer, err)
	}
	req.Header.Set("Content-Type", "application/json")
	tr := c.tr.Load()
	resp, err := (&http.Client{Transport: tr, Timeout: c.timeout}).Do(req)
	if err != nil {
		// The connection may be half-open: the next call dials afresh.
		tr.CloseIdleConnections()
		return fmt.Errorf("%w: %s to %s: %v", ErrPeer, path, node, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPeerBody))
	if err != nil {
		return fmt.Errorf("%w: %s to %s: %v", ErrPeer, path, node, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		json.Unmarshal(body, &e)
		switch resp.StatusCode {
		case http.StatusMisdirectedRequest:
			return fmt.Errorf("%w: %s: %s", consensus.ErrNotLeader, node, e.Error)
		case http.StatusBadRequest:
			return fmt.Errorf("%w: %s to %s: %d: %s", ErrPeerRejected, path, node, resp.StatusCode, e.Error)
		}
		return fmt.Errorf("%w: %s to %s: %d: %s", ErrPeer, path, node, resp.StatusCode, e.Error)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("%w: %s to %s: bad answer: %v", ErrPeer, path, node, err)
		}
	}
	return nil
}

// Heartbeat asks the leader to renew this node's lease (the leader takes
// the node's name from its certificate, not from r.Node).
func (c *PeerClient) Heartbeat(ctx context.Context, leader string, r controller.Renewal) error {
	return c.post(ctx, leader, "heartbeat", peerHeartbeat{WatchdogMS: r.Watchdog.Milliseconds(), Boot: r.Boot, Busy: r.Busy, Leaving: r.Leaving}, nil)
}

// Report sends an op result to the leader.
func (c *PeerClient) Report(ctx context.Context, leader, boot string, rh model.ResourceHistory, rec model.OpRecord) error {
	return c.post(ctx, leader, "report", peerReport{Resource: rh, Record: rec, Boot: boot}, nil)
}

// Exec hands op to node's executor.
func (c *PeerClient) Exec(ctx context.Context, node string, op controller.Op) error {
	return c.post(ctx, node, "exec", op, nil)
}

// Close releases idle connections.
func (c *PeerClient) Close() { c.tr.Load().CloseIdleConnections() }
