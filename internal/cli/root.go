// Package cli is Paceline's command tree: one file per noun-verb
// (status.go, resource_create.go, constraint_add.go, simulate.go, ...), all
// hung off the root command built here.
//
// Conventions every command follows: results go to stdout, diagnostics to
// stderr; an error is reported as exactly one line "paceline: <message>" on
// stderr with exit status 1, or 2 for a usage error (unknown command or
// flag, missing or extra argument, a malformed key=value word); a panic
// anywhere below is recovered and reported the same way (exit 1), never as
// a stack trace.
//
// Two kinds of commands live here. simulate and demo work offline on files
// or embedded data and call the engine directly. The cluster commands
// (token, status, resource, constraint, node, property, config) are
// clients of the public API package api/ and nothing else: they find the
// cluster through PACELINE_ADDR (one or more base URLs, comma separated;
// the next is tried when one cannot be reached), authenticate with
// PACELINE_TOKEN or PACELINE_TOKEN_FILE and trust the CA in
// PACELINE_CACERT. An API failure becomes one line naming what failed:
// "paceline: resource 'web' not found" for a 404, the token variables for
// a 401, the server's reason for a 403 or a 409.
package cli

import (
	"context"
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

// exitStatus ends a command that printed its own diagnostics (paceline
// compat) with that exit status.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// usagef returns a usage error with a formatted message.
func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// streams are where a command writes: results to Out, diagnostics to Err.
type streams struct {
	Out io.Writer
	Err io.Writer
	// Daemon serves init and agent (nil: those commands are unavailable).
	Daemon Daemon
}

// Main runs the paceline command line with args (without the program name)
// and returns the process exit status. It never panics.
func Main(args []string, stdout, stderr io.Writer) (code int) {
	return mainContext(context.Background(), args, stdout, stderr)
}

// MainDaemon is Main with the node-side commands (init, agent) served by
// d, under ctx (the agent runs until ctx ends).
func MainDaemon(ctx context.Context, args []string, stdout, stderr io.Writer, d Daemon) (code int) {
	return runMain(ctx, args, streams{Out: stdout, Err: stderr, Daemon: d})
}

// mainContext is Main under ctx: commands that run until interrupted
// (status --watch) also stop when ctx is done.
func mainContext(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	return runMain(ctx, args, streams{Out: stdout, Err: stderr})
}

func runMain(ctx context.Context, args []string, s streams) (code int) {
	stderr := s.Err
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "paceline: internal error: %s\n", oneLine(fmt.Sprint(r)))
			code = ExitError
		}
	}()
	root := newRootCmd(s)
	root.SetArgs(args)
	// "paceline resource bogus --help" is an unknown command, not the
	// help of "resource": cobra reads --help before it checks arguments.
	var helpErr error
	defaultHelp := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, a []string) {
		if rest := c.Flags().Args(); c.HasAvailableSubCommands() && len(rest) > 0 {
			helpErr = usagef("unknown command %q for '%s' (see '%s --help')", rest[0], c.CommandPath(), c.CommandPath())
			return
		}
		defaultHelp(c, a)
	})
	err := root.ExecuteContext(ctx)
	if err == nil {
		err = helpErr
	}
	if err == nil {
		return ExitOK
	}
	var es exitStatus
	if errors.As(err, &es) {
		return int(es)
	}
	fmt.Fprintf(stderr, "paceline: %s\n", strings.TrimPrefix(oneLine(err.Error()), "paceline: "))
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

Cluster commands (status, resource, constraint, node, property, config,
token) talk to a running cluster's API: set PACELINE_ADDR (https://HOST:PORT,
several comma separated), PACELINE_TOKEN or PACELINE_TOKEN_FILE, and
PACELINE_CACERT. "paceline simulate" runs the placement engine offline on
a Pacemaker CIB XML file, and "paceline demo" shows it on a built-in
sample cluster.`,
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
		newTokenCmd(s),
		newAuditCmd(s),
		newEventsCmd(s),
		newAlertCmd(s),
		newReportCmd(s),
		newCACmd(s),
		newStatusCmd(s),
		newResourceCmd(s),
		newConstraintCmd(s),
		newNodeCmd(s),
		newFenceCmd(s),
		newVMCmd(s),
		newClusterCmd(s),
		newPropertyCmd(s),
		newConfigCmd(s),
		newInitCmd(s),
		newJoinCmd(s),
		newAgentCmd(s),
		newDemoWebCmd(s),
		newWatchdogSimCmd(s),
		newCompatCmd(s),
		newGenDocsCmd(s),
	)
	return root
}

// cmdName is the command's path without the program name ("config
// apply"), for messages that "paceline: " already starts.
func cmdName(cmd *cobra.Command) string {
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

// noArgs is cobra.NoArgs as a usage error, with a hint of -f for
// commands that read a file.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if f := cmd.Flags().ShorthandLookup("f"); f != nil && !strings.HasPrefix(args[0], "-") {
			return usagef("%s takes no arguments, got %q: did you mean -f %s? (see '%s --help')",
				cmdName(cmd), args[0], args[0], cmd.CommandPath())
		}
		return usagef("%s takes no arguments, got %q (see '%s --help')",
			cmdName(cmd), args[0], cmd.CommandPath())
	}
	return nil
}
