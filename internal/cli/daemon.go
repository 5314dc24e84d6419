package cli

import (
	"context"
	"errors"
	"io"
	"time"
)

// Daemon is what the node-side commands need of the daemon package. The
// CLI does not import the daemon (it is a client of the API); main passes
// the daemon's implementation to MainDaemon.
type Daemon interface {
	// Init makes a data directory the first node of a new cluster and
	// returns the paths of the admin token and CA certificate it wrote.
	Init(o InitOptions) (adminToken, caCert string, err error)
	// Join trades a join token for this node's credentials from seed
	// (HOST:PORT) and prepares the data directory; the next agent start
	// completes the join.
	Join(ctx context.Context, o InitOptions, token, seed string) error
	// Agent loads the configuration (file at configPath, "" for the
	// default; PACELINE_* environment; flags by YAML key) and runs the
	// agent until ctx ends, logging to log.
	Agent(ctx context.Context, configPath string, flags map[string]string, log io.Writer) error
	// WatchdogSim runs the simulated watchdog of a test host until ctx
	// ends: fed over the unix socket, it resets network namespace netns
	// (kills its processes, removes its addresses) when not fed within
	// timeout.
	WatchdogSim(ctx context.Context, socket, netns string, timeout time.Duration, log io.Writer) error
	// Compat runs the Pacemaker helper tool (crm_node, crm_attribute,
	// crm_master, attrd_updater, pacemakerd) with args as OCF agents call
	// it, against the local agent, and returns its exit status.
	Compat(tool string, args []string, stdout, stderr io.Writer) int
}

// InitOptions are the flags of "paceline init".
type InitOptions struct {
	Name, Role, DataDir, Listen, Advertise string
	// TwoNode: init --two-node (docs/two-node.md).
	TwoNode bool
}

var errNoDaemon = errors.New("this build of paceline has no agent (use the paceline binary built from cmd/paceline)")
