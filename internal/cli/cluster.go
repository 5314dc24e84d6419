package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/paceline/paceline/api"
	"github.com/spf13/cobra"
)

// connect returns an API client configured from the environment
// (PACELINE_ADDR, PACELINE_TOKEN or PACELINE_TOKEN_FILE, PACELINE_CACERT).
func connect() (*api.Client, error) {
	c, err := api.NewFromEnv()
	if errors.Is(err, api.ErrNoAddress) {
		return nil, fmt.Errorf("no cluster address: set %s to https://HOST:PORT (several, comma separated)", api.EnvAddr)
	}
	if err != nil {
		return nil, fmt.Errorf("client configuration: %s", strings.TrimPrefix(err.Error(), "api: "))
	}
	return c, nil
}

// failure turns an API error into the one line the user sees. what names
// the operation ("create resource 'web'"); subject, when not empty, is what
// a 404 is about ("resource 'web'"), reported as "<subject> not found".
func failure(what, subject string, err error) error {
	var ae *api.Error
	if !errors.As(err, &ae) {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("%s: interrupted", what)
		}
		// Unreachable servers and transport failures: the client's
		// message names the addresses it tried.
		return fmt.Errorf("%s: %s", what, strings.TrimPrefix(err.Error(), "api: "))
	}
	switch ae.StatusCode {
	case http.StatusNotFound:
		if subject != "" {
			return fmt.Errorf("%s not found", subject)
		}
		return fmt.Errorf("%s: not found: %s", what, ae.Message)
	case http.StatusUnauthorized:
		return fmt.Errorf("%s: not authenticated by %s: %s (set %s or %s to a valid API token)",
			what, ae.Addr, ae.Message, api.EnvToken, api.EnvTokenFile)
	case http.StatusForbidden:
		return fmt.Errorf("%s: permission denied: %s", what, ae.Message)
	case http.StatusConflict:
		return fmt.Errorf("%s: conflict: %s", what, ae.Message)
	}
	return fmt.Errorf("%s: %s (HTTP %d)", what, ae.Message, ae.StatusCode)
}

// isStatus reports whether err is an API error with that HTTP status.
func isStatus(err error, status int) bool {
	var ae *api.Error
	return errors.As(err, &ae) && ae.StatusCode == status
}

// quote renders an id for messages: 'web'.
func quote(s string) string { return "'" + s + "'" }

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// exactArgs is cobra.ExactArgs as a usage error naming the arguments.
func exactArgs(n int, names string) func(cmd *cobra.Command, args []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s wants %s, got %d argument(s) (see '%s --help')", cmdName(cmd), names, len(args), cmd.CommandPath())
		}
		return nil
	}
}

// maxArgs allows at most n arguments.
func maxArgs(n int, names string) func(cmd *cobra.Command, args []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return usagef("%s wants %s, got %d argument(s) (see '%s --help')", cmdName(cmd), names, len(args), cmd.CommandPath())
		}
		return nil
	}
}

// minArgs requires at least n arguments.
func minArgs(n int, names string) func(cmd *cobra.Command, args []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("%s wants %s, got %d argument(s) (see '%s --help')", cmdName(cmd), names, len(args), cmd.CommandPath())
		}
		return nil
	}
}

// parseKV splits a key=value word; the value may be empty, the key not.
func parseKV(word string) (key, value string, err error) {
	k, v, ok := strings.Cut(word, "=")
	if !ok || k == "" {
		return "", "", usagef("bad argument %q: want key=value", word)
	}
	return k, v, nil
}

// groupCmd returns a command that only holds subcommands: run without one,
// or with an unknown one, it is a usage error.
func groupCmd(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for '%s' (see '%s --help')", args[0], cmd.CommandPath(), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("'%s' needs a subcommand (see '%s --help')", cmdName(cmd), cmd.CommandPath())
		},
	}
	cmd.AddCommand(subs...)
	return cmd
}

// readAll reads r to the end, at most 16 MiB.
func readAll(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, 16<<20+1))
	if err == nil && len(b) > 16<<20 {
		return nil, fmt.Errorf("input over 16 MiB")
	}
	return b, err
}
