package fence

import (
	"time"

	"github.com/paceline/paceline/internal/model"
)

// Options are the cluster options that govern fencing, taken from the
// model's ClusterOptions (the one parse of the cluster properties).
type Options struct {
	// Action is what fencing a node does (stonith-action): "reboot"
	// (default) or "off".
	Action string
	// Timeout bounds one fence action of a device unless the device sets
	// pcmk_<action>_timeout (stonith-timeout, default 60s).
	Timeout time.Duration
	// MaxAttempts is how many fence operations may fail in a row for one
	// target before the fencer stops trying it until Reset
	// (stonith-max-attempts, or fencing-max-attempts; default 10).
	MaxAttempts int
	// PriorityDelay is added before fencing a target when the request
	// says it runs the more important resources (priority-fencing-delay,
	// default 0: none).
	PriorityDelay time.Duration
}

// defaultTimeout is stonith-timeout's default.
const defaultTimeout = 60 * time.Second

// OptionsFrom returns the fencing options of the cluster options; a zero
// timeout or attempt count takes the default.
func OptionsFrom(o model.ClusterOptions) Options {
	opts := Options{Action: o.StonithAction, Timeout: o.StonithTimeout, MaxAttempts: o.StonithMaxAttempts,
		PriorityDelay: o.PriorityFencingDelay}
	if opts.Action != "off" {
		opts.Action = "reboot"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
	}
	return opts
}

// DefaultOptions returns Pacemaker's defaults (the options of an empty
// configuration).
func DefaultOptions() Options {
	return OptionsFrom(model.ParseClusterOptions(nil))
}
