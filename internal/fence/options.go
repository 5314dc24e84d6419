package fence

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/paceline/paceline/internal/model"
)

// Options are the cluster options that govern fencing, by their
// Pacemaker names.
type Options struct {
	// Action is what fencing a node does (stonith-action): "reboot"
	// (default) or "off"; the deprecated "poweroff" means "off".
	Action string
	// Timeout bounds one fence action of a device unless the device sets
	// pcmk_<action>_timeout (stonith-timeout, default 60s).
	Timeout time.Duration
	// MaxAttempts is how many fence operations may fail in a row for one
	// target before the fencer stops trying it until Reset
	// (stonith-max-attempts, or fencing-max-attempts; default 10).
	MaxAttempts int
	// PriorityDelay is added before fencing the target that runs the
	// most important resources when the caller asks for it
	// (priority-fencing-delay, default 0: none).
	PriorityDelay time.Duration
}

// DefaultOptions returns Pacemaker's defaults.
func DefaultOptions() Options {
	return Options{Action: "reboot", Timeout: 60 * time.Second, MaxAttempts: 10}
}

// ErrBadOption is wrapped by ParseOptions' errors.
var ErrBadOption = errors.New("fence: bad cluster option")

// ParseOptions reads the fencing options from the cluster properties,
// taking the defaults for absent ones. It reports every bad value at once,
// each naming its property.
func ParseOptions(props map[string]string) (Options, error) {
	o := DefaultOptions()
	var errs []error
	bad := func(name, v, want string) {
		errs = append(errs, fmt.Errorf("%w: %s=%q is not %s", ErrBadOption, name, v, want))
	}
	if v, ok := props["stonith-action"]; ok && v != "" {
		switch v {
		case "reboot", "off":
			o.Action = v
		case "poweroff":
			o.Action = "off"
		default:
			bad("stonith-action", v, "reboot or off")
		}
	}
	if v, ok := props["stonith-timeout"]; ok && v != "" {
		if d, ok := model.ParseTimeSpec(v); ok && d > 0 {
			o.Timeout = d
		} else {
			bad("stonith-timeout", v, "a positive duration")
		}
	}
	for _, name := range []string{"stonith-max-attempts", "fencing-max-attempts"} {
		if v, ok := props[name]; ok && v != "" {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				o.MaxAttempts = n
			} else {
				bad(name, v, "a positive count")
			}
		}
	}
	if v, ok := props["priority-fencing-delay"]; ok && v != "" {
		if d, ok := model.ParseTimeSpec(v); ok {
			o.PriorityDelay = d
		} else {
			bad("priority-fencing-delay", v, "a duration")
		}
	}
	return o, errors.Join(errs...)
}
