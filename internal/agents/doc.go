// Package agents holds the values every resource agent class speaks: the
// Request for one operation, its Result, the OCF exit codes and the
// executor's operation status, and a bounded output buffer.
//
// The interface an agent class implements is declared by its user, the
// executor (executor.Agent): Run(ctx, Request) Result. The classes live in
// subpackages: agents/ocf runs OCF resource agent scripts unmodified,
// agents/builtin implements agents inside the paceline binary (dummy,
// process), agents/stonith runs fence-agents' fence_* programs unmodified
// (arguments as key=value lines on stdin). Program runs an external agent
// in its own process group with bounded output; CheckTrusted refuses an
// agent file an untrusted user could have written.
//
// Contract for every class (see executor.Agent for the full text):
//   - Run blocks until the operation ends, at most Request.Timeout (plus a
//     short grace to clean up); on timeout it kills what it started and
//     returns StatusTimedOut. Deadline and Interrupted implement this.
//   - When the caller's context is done first, Run returns StatusCancelled.
//   - Parameters reach the agent literally; nothing is ever interpreted by
//     a shell.
//   - Output is bounded (Output, MaxOutput).
package agents
