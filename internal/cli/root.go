// Package cli is Paceline's command tree: one file per noun-verb
// (simulate.go, version.go, demo.go), all hung off the root command built
// here.
//
// Conventions every command follows: results go to stdout, diagnostics to
// stderr; an error is reported as exactly one line "paceline: <message>" on
// stderr with exit status 1, or 2 for a usage error (unknown command or
// flag, missing or extra argument); a panic anywhere below is recovered and
// reported the same way (exit 1), never as a stack trace.
//
// Today the commands work offline on files (simulate) or on embedded data
// (demo); the commands that talk to a running cluster arrive with the
// cluster runtime and will be clients of its HTTP API.
package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit statuses of the paceline binary.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// usageError marks an error in how the command was invoked (exit status 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef returns a usage error with a formatted message.
func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// streams are where a command writes: results to Out, diagnostics to Err.
type streams struct {
	Out io.Writer
	Err io.Writer
}

// Main runs the paceline command line with args (without the program name)
// and returns the process exit status. It never panics.
func Main(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "paceline: internal error: %s\n", oneLine(fmt.Sprint(r)))
			code = ExitError
		}
	}()
	root := newRootCmd(streams{Out: stdout, Err: stderr})
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(stderr, "paceline: %s\n", oneLine(err.Error()))
	var ue *usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	return ExitError
}

// oneLine folds a message onto a single line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func newRootCmd(s streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "paceline",
		Short: "Paceline: a high-availability cluster manager",
		Long: `Paceline is a high-availability cluster manager in one binary: it keeps
services, virtual IPs, replicated databases and VMs running on a cluster
of Linux hosts, moves them when a service, a node or the network fails,
and fences nodes it can no longer trust. Its placement engine makes the
same decisions as Pacemaker's scheduler.

Available today: "paceline simulate" runs the placement engine offline on
a Pacemaker CIB XML file, and "paceline demo" shows it on a built-in
sample cluster. The cluster runtime (agent, status, resource commands)
is not part of this build yet.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		// Without Args, cobra reports an unknown subcommand as a plain
		// error; this makes it a usage error (exit 2).
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q (see 'paceline --help')", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usagef("%v (see '%s --help')", err, cmd.CommandPath())
	})
	root.AddCommand(
		newVersionCmd(s),
		newSimulateCmd(s),
		newDemoCmd(s),
	)
	return root
}

// noArgs is cobra.NoArgs as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q (see '%s --help')",
			cmd.CommandPath(), args[0], cmd.CommandPath())
	}
	return nil
}
