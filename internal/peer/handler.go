package peer

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/paceline/paceline/internal/consensus"
	"github.com/paceline/paceline/internal/controller"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// Prefix is the path under which nodes call each other on the API
// listener. Every call needs a node certificate of the cluster (mutual
// TLS); API tokens are not accepted there.
const Prefix = "/internal/v1/"

// MaxBody bounds a node-to-node request body.
const MaxBody = 4 << 20

// ErrCall wraps node-to-node call failures.
var ErrCall = errors.New("peer: call")

// ErrRejected (an ErrCall) is a peer's 400: it could not take the
// request as sent, and sending it again will not help.
var ErrRejected = fmt.Errorf("%w rejected", ErrCall)

// Handler serves node-to-node calls on this node. The caller's node
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
//	POST /internal/v1/fence      body: FenceCall; only from the leader:
//	                             this node runs the fence and answers
//	                             FenceReply (what it recorded).
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
type Handler struct {
	node  *consensus.Node
	hooks Hooks
	mux   *http.ServeMux
	roles map[string][]pki.Role
}

// Hooks connect the peer endpoints to the node's runtime.
type Hooks struct {
	// Controller returns the running controller while this node leads
	// (nil otherwise). Nil: heartbeat and report answer 421.
	Controller func() *controller.Controller
	// Exec hands an op to this node's executor without blocking. Nil:
	// exec answers 501 (a witness runs nothing).
	Exec func(op controller.Op) error
	// Fence runs a fence operation through this node's fencer for the
	// leader (node.Runtime.FenceNow), blocking until it ended. Nil: fence
	// answers 501.
	Fence func(target, action, origin string) (store.FenceRecord, error)
	// Trusts reports whether a peer's certificates (leaf first) still
	// chain to a trusted CA (nil: the handshake's verification is enough).
	Trusts func(chain ...*x509.Certificate) bool
	// Revoked reports whether a certificate serial is revoked (nil:
	// none is).
	Revoked func(serial string) bool
}

// Every node's roles, and those of nodes that run resources.
var (
	AllRoles  = []pki.Role{pki.RoleServer, pki.RoleWitness, pki.RoleClient}
	runRoles  = []pki.Role{pki.RoleServer, pki.RoleClient}
	leadRoles = []pki.Role{pki.RoleServer, pki.RoleWitness}
)

// NewHandler returns the handler of node's peer endpoints.
func NewHandler(node *consensus.Node, hooks Hooks) *Handler {
	if hooks.Revoked == nil {
		hooks.Revoked = func(string) bool { return false }
	}
	h := &Handler{node: node, hooks: hooks, mux: http.NewServeMux(), roles: map[string][]pki.Role{}}
	h.Handle("propose", AllRoles, h.propose)     // every node's API forwards writes
	h.Handle("heartbeat", AllRoles, h.heartbeat) // every member holds a lease
	h.Handle("report", runRoles, h.report)       // a witness runs nothing
	h.Handle("exec", leadRoles, h.exec)          // only a voter can lead
	h.Handle("fence", leadRoles, h.fence)        // the leader hands a fence over
	return h
}

// Handle adds the endpoint POST Prefix+endpoint, which only nodes of the
// given roles may call. Call it before serving.
func (h *Handler) Handle(endpoint string, roles []pki.Role, fn http.HandlerFunc) {
	h.roles[endpoint] = roles
	h.mux.HandleFunc("POST "+Prefix+endpoint, fn)
}

// Caller is the verified node name of the request's peer (ServeHTTP has
// checked it).
func Caller(r *http.Request) string {
	id, _ := pki.PeerIdentity(*r.TLS)
	return id.Node
}

// controller returns the running controller, or answers 421.
func (h *Handler) controller(w http.ResponseWriter) *controller.Controller {
	var c *controller.Controller
	if h.hooks.Controller != nil {
		c = h.hooks.Controller()
	}
	if c == nil {
		Error(w, http.StatusMisdirectedRequest, fmt.Sprintf("not the leader (the leader is %q)", h.node.LeaderID()))
	}
	return c
}

func (h *Handler) heartbeat(w http.ResponseWriter, r *http.Request) {
	c := h.controller(w)
	if c == nil {
		return
	}
	var req Heartbeat
	if err := DecodeStrict(r.Body, &req); err != nil {
		Error(w, http.StatusBadRequest, "heartbeat: "+err.Error())
		return
	}
	if req.WatchdogMS < 0 {
		Error(w, http.StatusBadRequest, "heartbeat: watchdog_ms is negative")
		return
	}
	if len(req.Busy) > maxBusy {
		Error(w, http.StatusBadRequest, fmt.Sprintf("heartbeat: busy lists %d ops, more than %d", len(req.Busy), maxBusy))
		return
	}
	exp, err := c.Heartbeat(r.Context(), controller.Renewal{Node: Caller(r), Boot: req.Boot, Watchdog: time.Duration(req.WatchdogMS) * time.Millisecond, Busy: req.Busy, Leaving: req.Leaving})
	if err != nil {
		Error(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	WriteJSON(w, map[string]int64{"expires_unix_ms": exp.UnixMilli()})
}

// Heartbeat is a lease renewal on the wire: WatchdogMS is the
// timeout of the watchdog the node feeds only while its lease is valid
// (0: none).
type Heartbeat struct {
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

// Report is an op result on the wire.
type Report struct {
	Resource model.ResourceHistory `json:"resource"`
	Record   model.OpRecord        `json:"record"`
	// Boot identifies the agent process that ran the op (controller.Renewal).
	Boot string `json:"boot,omitempty"`
}

func (h *Handler) report(w http.ResponseWriter, r *http.Request) {
	var rep Report
	if err := DecodeStrict(r.Body, &rep); err != nil {
		Error(w, http.StatusBadRequest, "report: "+err.Error())
		return
	}
	c := h.controller(w)
	if c == nil {
		return
	}
	if err := c.Report(Caller(r), rep.Boot, rep.Resource, rep.Record); err != nil {
		Error(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	WriteJSON(w, map[string]bool{"ok": true})
}

func (h *Handler) exec(w http.ResponseWriter, r *http.Request) {
	var op controller.Op
	if err := DecodeStrict(r.Body, &op); err != nil {
		Error(w, http.StatusBadRequest, "exec: "+err.Error())
		return
	}
	if from, leader := Caller(r), h.node.LeaderID(); from != leader {
		Error(w, http.StatusForbidden, fmt.Sprintf("exec from %q, but this node follows leader %q", from, leader))
		return
	}
	if h.hooks.Exec == nil {
		Error(w, http.StatusNotImplemented, "this node runs no resources")
		return
	}
	if err := h.hooks.Exec(op); err != nil {
		Error(w, http.StatusBadRequest, err.Error())
		return
	}
	WriteJSON(w, map[string]bool{"ok": true})
}

// DecodeStrict decodes one JSON value, refusing unknown fields and
// anything after it.
func DecodeStrict(r io.Reader, v any) error {
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

// WriteJSON answers v as JSON.
func WriteJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// ServeHTTP answers 403 unless the connection carries a verified node
// certificate of this cluster.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil {
		Error(w, http.StatusForbidden, "node-to-node calls need mutual TLS")
		return
	}
	id, err := pki.PeerIdentity(*r.TLS)
	if err != nil {
		Error(w, http.StatusForbidden, "not a node of this cluster: "+err.Error())
		return
	}
	if err := pki.CheckRevoked(r.TLS.VerifiedChains[0][0], h.hooks.Revoked); err != nil {
		Error(w, http.StatusForbidden, err.Error())
		return
	}
	if h.hooks.Trusts != nil && !h.hooks.Trusts(r.TLS.PeerCertificates...) {
		Error(w, http.StatusForbidden, fmt.Sprintf("the certificate of %q is from a CA this cluster no longer trusts", id.Node))
		return
	}
	endpoint := strings.TrimPrefix(r.URL.Path, Prefix)
	if roles, ok := h.roles[endpoint]; ok && !slices.Contains(roles, id.Role) {
		Error(w, http.StatusForbidden, fmt.Sprintf("%s: a %s node may not call it", endpoint, id.Role))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	h.mux.ServeHTTP(w, r)
}

// result is store.Result on the wire: the store's error as its kind
// (the sentinel, so errors.Is works on the caller's side) and message.
type result struct {
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

func toWire(res store.Result) result {
	w := result{Epoch: res.Epoch, Changed: res.Changed}
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

func fromWire(w result) store.Result {
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

// leaderOnly are the commands only the leader proposes, to itself (joins,
// removals, liveness, op results, certificates): no peer may forward them.
var leaderOnly = map[store.Type]bool{
	store.TypeNodeJoin: true, store.TypeNodeLeave: true, store.TypeNodeState: true,
	store.TypeOpResult: true, store.TypeNodeCert: true, store.TypeCertRevoke: true,
}

func (h *Handler) propose(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		Error(w, http.StatusRequestEntityTooLarge, "request body: "+err.Error())
		return
	}
	cmd, err := store.Decode(b)
	if err != nil {
		Error(w, http.StatusBadRequest, err.Error())
		return
	}
	if leaderOnly[cmd.Type] {
		Error(w, http.StatusForbidden, fmt.Sprintf("propose: %s is made only by the leader", cmd.Type))
		return
	}
	if id, _ := pki.PeerIdentity(*r.TLS); cmd.Type == store.TypeCASet && id.Role != pki.RoleServer {
		Error(w, http.StatusForbidden, fmt.Sprintf("propose: only a server may propose %s", cmd.Type))
		return
	}
	if !h.node.IsLeader() {
		Error(w, http.StatusMisdirectedRequest, fmt.Sprintf("not the leader (the leader is %q)", h.node.LeaderID()))
		return
	}
	res, err := h.node.Apply(r.Context(), cmd)
	if err != nil {
		Error(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(toWire(res))
}

func Error(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
