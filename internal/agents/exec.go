package agents

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// Program is one run of an external agent program (an OCF script, a fence
// agent): argv, environment and standard input, never a shell.
type Program struct {
	// Path is the program; Args follow it in argv.
	Path string
	Args []string
	// Env is the complete environment ("NAME=value").
	Env []string
	// Stdin feeds the program's standard input; nil: /dev/null.
	Stdin io.Reader
	// MaxOutput bounds the captured stdout+stderr in bytes (zero:
	// MaxOutput).
	MaxOutput int
	// KillGrace is how long to wait for the output pipes after the
	// program exited or was killed, so a daemon that kept them open
	// cannot hang the run. Zero: wait without bound.
	KillGrace time.Duration
}

// Exit is how a Program run ended.
type Exit struct {
	// Output is the program's stdout and stderr together, bounded.
	Output string
	// Code is the exit status when the program exited by itself; -1
	// when it did not (killed, not started).
	Code int
	// Interrupted is StatusTimedOut or StatusCancelled when ctx ended
	// first (the whole process group was killed), StatusDone otherwise.
	Interrupted Status
	// Err explains a program that did not exit by itself: killed by a
	// signal someone else sent, or not started at all. Nil otherwise.
	Err error
}

// Run runs p in its own process group under ctx (usually from Deadline)
// and waits for it. When ctx ends, the whole group (the program and
// everything it started) gets SIGKILL.
func (p Program) Run(ctx context.Context) Exit {
	out := &Output{Max: p.MaxOutput}
	cmd := exec.CommandContext(ctx, p.Path, p.Args...)
	cmd.Env = p.Env
	cmd.Dir = "/"
	cmd.Stdin = p.Stdin
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The group id is the program's pid (Setpgid with Pgid 0).
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = p.KillGrace
	err := cmd.Run()

	e := Exit{Code: -1, Interrupted: Interrupted(ctx)}
	var exitErr *exec.ExitError
	switch {
	case e.Interrupted != StatusDone:
		// Killed at the deadline or on cancellation.
	case err == nil:
		e.Code = 0
	case errors.As(err, &exitErr) && exitErr.Exited():
		e.Code = exitErr.ExitCode()
	case errors.As(err, &exitErr):
		e.Err = fmt.Errorf("terminated: %v", exitErr)
	case errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil:
		// The program exited but something it started kept the output
		// open.
		e.Code = cmd.ProcessState.ExitCode()
	default:
		e.Err = fmt.Errorf("cannot run %s: %w", p.Path, err)
	}
	e.Output = out.String()
	return e
}
