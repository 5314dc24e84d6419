package watchdog

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Kind says which watchdog a --watchdog value names.
type Kind int

const (
	// KindNone: no watchdog ("").
	KindNone Kind = iota
	// KindDevice: a kernel watchdog device such as /dev/watchdog.
	KindDevice
	// KindSim: the simulated watchdog's unix socket ("sim:unix:PATH").
	KindSim
)

func (k Kind) String() string {
	switch k {
	case KindNone:
		return "none"
	case KindDevice:
		return "device"
	case KindSim:
		return "sim"
	default:
		return fmt.Sprintf("Kind(%d)", int(k))
	}
}

// Spec is a parsed --watchdog value.
type Spec struct {
	Kind Kind
	// Path is the device path (KindDevice) or the socket path (KindSim);
	// empty for KindNone.
	Path string
}

// String returns the --watchdog value that parses to s.
func (s Spec) String() string {
	switch s.Kind {
	case KindDevice:
		return s.Path
	case KindSim:
		return simPrefix + s.Path
	default:
		return ""
	}
}

const simPrefix = "sim:unix:"

// maxSocketPath is the longest unix socket path Linux accepts (sun_path is
// 108 bytes including the terminating NUL).
const maxSocketPath = 107

// ErrInvalidSpec is wrapped by every error Parse returns.
var ErrInvalidSpec = errors.New("invalid watchdog value")

// SpecError is the error Parse returns: meant for the user, it names the
// value and says what is wrong with it.
type SpecError struct {
	Value  string // the value as given
	Reason string
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("invalid --watchdog value %q: %s (want \"\" for none, a device such as /dev/watchdog, or sim:unix:PATH)",
		e.Value, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidSpec) hold.
func (e *SpecError) Unwrap() error { return ErrInvalidSpec }

// Parse reads the agent's --watchdog value: "" (no watchdog), a device path
// under /dev/, or "sim:unix:PATH" (the simulated watchdog's socket).
func Parse(value string) (Spec, error) {
	bad := func(reason string) (Spec, error) {
		return Spec{}, &SpecError{Value: value, Reason: reason}
	}
	switch {
	case value == "":
		return Spec{Kind: KindNone}, nil
	case strings.HasPrefix(value, "sim:"):
		if !strings.HasPrefix(value, simPrefix) {
			return bad("the simulated watchdog is reached only over a unix socket (sim:unix:PATH)")
		}
		path := strings.TrimPrefix(value, simPrefix)
		switch {
		case path == "":
			return bad("no socket path after sim:unix:")
		case strings.ContainsRune(path, 0):
			return bad("the socket path contains a NUL byte")
		case len(path) > maxSocketPath:
			return bad(fmt.Sprintf("the socket path is %d bytes, longer than the %d a unix socket allows", len(path), maxSocketPath))
		}
		return Spec{Kind: KindSim, Path: path}, nil
	case strings.HasPrefix(value, "/"):
		clean := filepath.Clean(value)
		if !strings.HasPrefix(clean, "/dev/") || clean == "/dev" {
			return bad("a watchdog device must be under /dev/")
		}
		if strings.ContainsRune(value, 0) {
			return bad("the device path contains a NUL byte")
		}
		return Spec{Kind: KindDevice, Path: clean}, nil
	default:
		return bad("neither a device path nor sim:unix:PATH")
	}
}
