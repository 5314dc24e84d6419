package agents

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Type names an agent: ocf:heartbeat:IPaddr2 is Class "ocf", Provider
// "heartbeat", Name "IPaddr2"; builtin:dummy is Class "builtin", Name
// "dummy".
type Type struct {
	Class    string
	Provider string
	Name     string
}

// String returns "class:provider:name" or "class:name".
func (t Type) String() string {
	if t.Provider != "" {
		return t.Class + ":" + t.Provider + ":" + t.Name
	}
	return t.Class + ":" + t.Name
}

// Request is one operation of one resource on this node.
type Request struct {
	// ResourceID is the resource instance (OCF_RESOURCE_INSTANCE), e.g.
	// "web" or "db:1" for a clone instance.
	ResourceID string
	// Agent names the agent that performs the operation.
	Agent Type
	// Op is the action: start, stop, monitor, promote, demote, notify,
	// migrate_to, migrate_from, reload, reload-agent, meta-data,
	// validate-all.
	Op string
	// Interval is the period of a recurring monitor; zero for one-shot
	// operations and probes.
	Interval time.Duration
	// Timeout bounds the operation; the agent is killed after it. Zero
	// means DefaultTimeout.
	Timeout time.Duration
	// Params are the instance parameters (OCF_RESKEY_<name>).
	Params map[string]string
	// Meta are the meta-attributes Pacemaker passes as
	// OCF_RESKEY_CRM_meta_<name> ("-" becomes "_"), e.g. clone-max,
	// notify_type, migrate_target. timeout, interval, name and on_node
	// are derived from the fields of Request and override entries here.
	Meta map[string]string
	// Node is the name of the node the operation runs on
	// (CRM_meta_on_node).
	Node string
	// StateIndex is the index of the cluster state the leader planned the
	// operation from (0: unknown). An agent that reads the cluster's state
	// waits until this node's copy has reached it (builtin:postgresql).
	StateIndex uint64
}

// DefaultTimeout is Pacemaker's default operation timeout, used when
// Request.Timeout is zero.
const DefaultTimeout = 20 * time.Second

// EffectiveTimeout returns Timeout, or DefaultTimeout when it is zero.
func (r *Request) EffectiveTimeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return DefaultTimeout
}

// Result is the outcome of one operation.
type Result struct {
	// RC is the OCF exit code (meaningful when Status is StatusDone; for
	// other statuses it is the code Pacemaker records, usually
	// RCUnknownError).
	RC RC
	// Status is the executor's status of the operation.
	Status Status
	// ExitReason is a short reason for a failure: the last
	// "ocf-exit-reason:" line of an OCF agent, or the executor's own.
	ExitReason string
	// Output is the agent's stdout and stderr, at most MaxOutput bytes
	// plus a truncation marker.
	Output string
	// Duration is how long the operation ran (wall clock).
	Duration time.Duration
}

// Failed builds a Result for an operation that could not be carried out.
func Failed(rc RC, st Status, format string, args ...any) Result {
	return Result{RC: rc, Status: st, ExitReason: fmt.Sprintf(format, args...)}
}

// RC is an OCF exit code.
type RC int

// The OCF exit codes (OCF resource agent API 1.1, Pacemaker's ocf_exitcode).
const (
	RCOK               RC = 0
	RCUnknownError     RC = 1
	RCInvalidParam     RC = 2
	RCUnimplemented    RC = 3
	RCInsufficientPriv RC = 4
	RCNotInstalled     RC = 5
	RCNotConfigured    RC = 6
	RCNotRunning       RC = 7
	RCRunningPromoted  RC = 8
	RCFailedPromoted   RC = 9
	RCDegraded         RC = 190
	RCDegradedPromoted RC = 191
)

// OCFExitCode maps a script's exit status to an OCF code as Pacemaker does
// (services__ocf2ocf): 0–9, 190 and 191 stand, everything else is
// RCUnknownError.
func OCFExitCode(status int) RC {
	switch {
	case status == int(RCDegraded), status == int(RCDegradedPromoted):
		return RC(status)
	case status < 0 || status > int(RCFailedPromoted):
		return RCUnknownError
	}
	return RC(status)
}

var rcNames = map[RC]string{
	RCOK: "ok", RCUnknownError: "error", RCInvalidParam: "invalid parameter",
	RCUnimplemented: "unimplemented feature", RCInsufficientPriv: "insufficient privileges",
	RCNotInstalled: "not installed", RCNotConfigured: "not configured",
	RCNotRunning: "not running", RCRunningPromoted: "promoted", RCFailedPromoted: "promoted (failed)",
	RCDegraded: "degraded", RCDegradedPromoted: "promoted (degraded)",
}

// String returns Pacemaker's description of the code.
func (rc RC) String() string {
	if s, ok := rcNames[rc]; ok {
		return s
	}
	return fmt.Sprintf("unknown(%d)", int(rc))
}

// Status is the executor's status of an operation; the values are
// Pacemaker's (pcmk_exec_status) and model.OpRecord.OpStatus.
type Status int

// The operation statuses.
const (
	StatusPending      Status = -1
	StatusDone         Status = 0
	StatusCancelled    Status = 1
	StatusTimedOut     Status = 2
	StatusNotSupported Status = 3
	StatusError        Status = 4
	StatusErrorHard    Status = 5
	StatusErrorFatal   Status = 6
	StatusNotInstalled Status = 7
	StatusNotConnected Status = 8
	StatusInvalid      Status = 9
)

var statusNames = map[Status]string{
	StatusPending: "pending", StatusDone: "complete", StatusCancelled: "cancelled",
	StatusTimedOut: "timed out", StatusNotSupported: "not supported", StatusError: "error",
	StatusErrorHard: "hard error", StatusErrorFatal: "fatal error",
	StatusNotInstalled: "not installed", StatusNotConnected: "not connected", StatusInvalid: "invalid",
}

// String returns Pacemaker's description of the status.
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("unknown(%d)", int(s))
}

// ErrTimedOut is the cause of a context ended by Deadline's timeout.
var ErrTimedOut = errors.New("agents: operation timed out")

// Deadline derives the context an agent runs an operation under: it ends
// after req's effective timeout with cause ErrTimedOut, or when ctx ends.
func Deadline(ctx context.Context, req *Request) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, req.EffectiveTimeout(), ErrTimedOut)
}

// Interrupted reports how a context from Deadline ended: StatusTimedOut
// when the timeout fired, StatusCancelled when the caller cancelled, and
// StatusDone when it has not ended.
func Interrupted(ctx context.Context) Status {
	if ctx.Err() == nil {
		return StatusDone
	}
	if errors.Is(context.Cause(ctx), ErrTimedOut) {
		return StatusTimedOut
	}
	return StatusCancelled
}
