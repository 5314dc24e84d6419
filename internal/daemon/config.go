package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/paceline/paceline/internal/membership"
	"github.com/paceline/paceline/internal/watchdog"
)

// DefaultConfigPath is where `paceline agent` looks for its configuration
// when --config is not given; a missing file there is not an error.
const DefaultConfigPath = "/etc/paceline/paceline.yaml"

// NodeFile is the node's identity in its data directory (name, role,
// addresses), written by init and join with mode 0600.
const NodeFile = "node.yaml"

// EnvPrefix prefixes the environment variables that override the file:
// PACELINE_ and the upper-cased YAML key (PACELINE_DATA_DIR,
// PACELINE_LEASE_TTL, ...).
const EnvPrefix = "PACELINE_"

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("daemon: config")

// Config is the agent's configuration: the YAML file, then PACELINE_*
// environment variables, then command-line flags, each overriding the one
// before (LoadConfig). Durations are Go durations ("200ms", "1.5s").
type Config struct {
	// Name is this node's name, unique in the cluster; it is also its
	// Raft server ID and the name in its certificate. Required (init and
	// join write it into DataDir/node.yaml, which the agent reads).
	Name string `yaml:"name"`
	// Role is server (Raft voter that runs resources), witness (voter,
	// runs nothing) or client (runs resources, not a voter). Default
	// server.
	Role string `yaml:"role"`
	// DataDir holds the Raft log, snapshots, keys, certificates and
	// tokens; created with mode 0700. Default /var/lib/paceline.
	DataDir string `yaml:"data_dir"`
	// Listen is the host:port of the HTTP API (mutual TLS for nodes,
	// tokens for clients). Default 0.0.0.0:7100.
	Listen string `yaml:"listen"`
	// Advertise is the host:port other nodes and clients use to reach the
	// API. Default: Listen, which then must name a host.
	Advertise string `yaml:"advertise"`
	// RaftListen is the host:port of the Raft transport (mutual TLS).
	// Default: Listen's host with its port plus 1000 (7101 -> 8101).
	RaftListen string `yaml:"raft_listen"`
	// Profile picks the lease timings: "default" (heartbeat 200ms, lease
	// TTL 1.5s, self-fence deadline 1s) or "fast" (100ms, 600ms, 300ms),
	// for low-latency networks. Heartbeat, LeaseTTL and
	// SelfFenceDeadline, when set, override the profile.
	Profile string `yaml:"profile"`
	// Heartbeat is how often a node renews its lease.
	Heartbeat time.Duration `yaml:"heartbeat"`
	// LeaseTTL is how long a lease lasts after the leader granted it; at
	// least twice Heartbeat.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// SelfFenceDeadline is how long a node whose lease expired may take to
	// stop its resources; with a watchdog it is the watchdog timeout (a
	// simulated watchdog's --timeout must not be longer). Without a
	// watchdog the leader recovers a lost node's resources after LeaseTTL
	// plus this; with one, the node feeds it only until SelfFenceDeadline
	// plus half a heartbeat before its lease expires, so it is reset by
	// then and the leader recovers at LeaseTTL. With a watchdog it must
	// be at most LeaseTTL - 1.5 x Heartbeat.
	SelfFenceDeadline time.Duration `yaml:"self_fence_deadline"`
	// Watchdog is "" (none), a device path ("/dev/watchdog") or
	// "sim:unix:PATH" (the simulated watchdog of test hosts). Default "".
	Watchdog string `yaml:"watchdog"`
	// AgentDirs are the only directories OCF agents are run from; each
	// must be owned by root. Default [/usr/lib/ocf/resource.d].
	AgentDirs []string `yaml:"agent_dirs"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `yaml:"log_level"`
	// RunDir is this agent's run directory: the builtin agents' pid and
	// state files, and HA_RSCTMP and HA_VARRUN of its OCF agents (RunDir/
	// ocf), so several agents on one machine keep separate state as
	// separate hosts do. It must be one a reboot clears (a tmpfs): state
	// that outlived its processes would report resources running that
	// never ran. Default /run/paceline/NAME as root, else
	// $XDG_RUNTIME_DIR/paceline/NAME, else $TMPDIR/paceline-UID/NAME.
	RunDir string `yaml:"run_dir"`
	// ShutdownTimeout bounds the drain of a clean shutdown (SIGTERM,
	// SIGINT or `paceline node stop`): the node's resources move away
	// first; if they have not after this long, the node stops what it
	// still runs itself and exits (Pacemaker's shutdown-escalation).
	// Default 20m.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// LogFile, when set, is an absolute path the agent also writes its log
	// to, besides stderr: mode 0600, its directory created 0700, rotated
	// at 10 MiB with 5 older files kept (PATH.1 ... PATH.5; package
	// logfile). `paceline report` collects it. Default "" (stderr only).
	LogFile string `yaml:"log_file"`
}

// Lease timing profiles (Config.Profile).
var profiles = map[string][3]time.Duration{
	"default": {200 * time.Millisecond, 1500 * time.Millisecond, time.Second},
	"fast":    {100 * time.Millisecond, 600 * time.Millisecond, 300 * time.Millisecond},
}

// DefaultConfig returns the defaults; Name is left empty.
func DefaultConfig() Config {
	return Config{
		Role:      "server",
		DataDir:   "/var/lib/paceline",
		Listen:    "0.0.0.0:7100",
		Profile:   "default",
		AgentDirs: []string{"/usr/lib/ocf/resource.d"},
		LogLevel:  "info",

		ShutdownTimeout: 20 * time.Minute,
	}
}

// LoadConfig builds the configuration: defaults, then the YAML file at
// path (path "" reads DefaultConfigPath if it exists; a named file must
// exist), then the environment (environ as os.Environ returns it, only
// PACELINE_* entries that name a key are used; others such as
// PACELINE_ADDR belong to the CLI and are ignored), then flags (YAML key
// to value, as given on the command line). It resolves the derived
// defaults (Advertise, RaftListen, the profile's timings) and validates:
// the error names the key and where its value came from.
func LoadConfig(path string, environ []string, flags map[string]string) (Config, error) {
	c := DefaultConfig()
	explicit := map[string]bool{}
	file := path
	if file == "" {
		file = DefaultConfigPath
	}
	b, err := os.ReadFile(file)
	switch {
	case err == nil:
		if err := decodeYAML(b, &c); err != nil {
			return Config{}, fmt.Errorf("%w: %s: %v", ErrConfig, file, err)
		}
		var present map[string]any
		yaml.Unmarshal(b, &present)
		for k := range present {
			explicit[k] = true
		}
	case path == "" && errors.Is(err, fs.ErrNotExist):
	default:
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, EnvPrefix) {
			continue
		}
		key := strings.ToLower(strings.TrimPrefix(k, EnvPrefix))
		if !slices.Contains(keys(), key) {
			continue
		}
		if err := c.set(key, v); err != nil {
			return Config{}, fmt.Errorf("%w: environment %s: %v", ErrConfig, k, err)
		}
		explicit[key] = true
	}
	for _, key := range sortedKeys(flags) {
		if err := c.set(key, flags[key]); err != nil {
			return Config{}, fmt.Errorf("%w: flag --%s: %v", ErrConfig, strings.ReplaceAll(key, "_", "-"), err)
		}
		explicit[key] = true
	}
	// The node's identity, written by init or join into the data
	// directory, fills what nothing above set.
	id := filepath.Join(c.DataDir, NodeFile)
	if b, err := os.ReadFile(id); err == nil {
		var n Config
		if err := decodeYAML(b, &n); err != nil {
			return Config{}, fmt.Errorf("%w: %s: %v", ErrConfig, id, err)
		}
		for key, v := range map[string]string{"name": n.Name, "role": n.Role, "listen": n.Listen, "advertise": n.Advertise, "raft_listen": n.RaftListen} {
			if v != "" && !explicit[key] {
				c.set(key, v)
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	c.resolve()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// decodeYAML decodes one YAML document strictly: unknown keys are refused
// with their line.
func decodeYAML(b []byte, c *Config) error {
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	var extra any
	if err := d.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("more than one YAML document")
	}
	return nil
}

// keys are the YAML keys of Config, in declaration order.
func keys() []string {
	return []string{"name", "role", "data_dir", "listen", "advertise", "raft_listen", "profile",
		"heartbeat", "lease_ttl", "self_fence_deadline", "watchdog", "agent_dirs", "log_level", "shutdown_timeout", "run_dir", "log_file"}
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// set assigns one key from its text form.
func (c *Config) set(key, v string) error {
	dur := func(p *time.Duration) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration (like 200ms or 1.5s)", v)
		}
		*p = d
		return nil
	}
	switch key {
	case "name":
		c.Name = v
	case "role":
		c.Role = v
	case "data_dir":
		c.DataDir = v
	case "listen":
		c.Listen = v
	case "advertise":
		c.Advertise = v
	case "raft_listen":
		c.RaftListen = v
	case "profile":
		c.Profile = v
	case "heartbeat":
		return dur(&c.Heartbeat)
	case "lease_ttl":
		return dur(&c.LeaseTTL)
	case "self_fence_deadline":
		return dur(&c.SelfFenceDeadline)
	case "watchdog":
		c.Watchdog = v
	case "agent_dirs":
		c.AgentDirs = nil
		for _, d := range strings.Split(v, ",") {
			if d = strings.TrimSpace(d); d != "" {
				c.AgentDirs = append(c.AgentDirs, d)
			}
		}
	case "log_level":
		c.LogLevel = v
	case "shutdown_timeout":
		return dur(&c.ShutdownTimeout)
	case "run_dir":
		c.RunDir = v
	case "log_file":
		c.LogFile = v
	default:
		return fmt.Errorf("unknown setting %q (known: %s)", key, strings.Join(keys(), ", "))
	}
	return nil
}

// resolve fills the defaults derived from other settings.
func (c *Config) resolve() {
	if p, ok := profiles[c.Profile]; ok {
		if c.Heartbeat == 0 {
			c.Heartbeat = p[0]
		}
		if c.LeaseTTL == 0 {
			c.LeaseTTL = p[1]
		}
		if c.SelfFenceDeadline == 0 {
			c.SelfFenceDeadline = p[2]
		}
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 20 * time.Minute
	}
	if c.Advertise == "" {
		if host, _, err := net.SplitHostPort(c.Listen); err == nil && host != "" && !net.ParseIP(host).IsUnspecified() {
			c.Advertise = c.Listen
		}
	}
	if c.RaftListen == "" {
		if host, port, err := net.SplitHostPort(c.Listen); err == nil {
			if n, err := strconv.Atoi(port); err == nil && n > 0 && n+1000 <= 65535 {
				c.RaftListen = net.JoinHostPort(host, strconv.Itoa(n+1000))
			}
		}
	}
	if c.DataDir != "" {
		c.DataDir = filepath.Clean(c.DataDir)
	}
	if c.RunDir == "" && c.Name != "" {
		c.RunDir = defaultRunDir(c.Name)
	}
	if c.RunDir != "" {
		c.RunDir = filepath.Clean(c.RunDir)
	}
}

// defaultRunDir is Config.RunDir's default for node name.
func defaultRunDir(name string) string {
	if os.Geteuid() == 0 {
		return filepath.Join("/run/paceline", name)
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		return filepath.Join(d, "paceline", name)
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("paceline-%d", os.Geteuid()), name)
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,62})$`)

// Validate reports every problem at once, each naming its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrConfig, key, fmt.Sprintf(format, args...)))
	}
	switch {
	case c.Name == "":
		bad("name", "required (the node's name; set by init/join, --name or PACELINE_NAME)")
	case !nameRE.MatchString(c.Name):
		bad("name", "%q must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit", c.Name)
	}
	if !slices.Contains([]string{"server", "witness", "client"}, c.Role) {
		bad("role", "%q must be server, witness or client", c.Role)
	}
	if c.DataDir == "" {
		bad("data_dir", "required")
	}
	checkAddr := func(key, addr string, needHost bool) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			bad(key, "%q is not host:port", addr)
			return
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			bad(key, "%q has an invalid port", addr)
		}
		if needHost && (host == "" || net.ParseIP(host).IsUnspecified()) {
			bad(key, "%q must name a host others can reach, not a wildcard", addr)
		}
	}
	checkAddr("listen", c.Listen, false)
	if c.Advertise == "" {
		bad("advertise", "required when listen (%q) is a wildcard address", c.Listen)
	} else {
		checkAddr("advertise", c.Advertise, true)
	}
	if c.RaftListen == "" {
		bad("raft_listen", "required (no default: listen's port + 1000 is out of range)")
	} else {
		checkAddr("raft_listen", c.RaftListen, false)
		if c.RaftListen == c.Listen {
			bad("raft_listen", "%q is the same as listen", c.RaftListen)
		}
	}
	if _, ok := profiles[c.Profile]; !ok {
		bad("profile", "%q must be default or fast", c.Profile)
	}
	if c.Heartbeat <= 0 {
		bad("heartbeat", "%v must be positive", c.Heartbeat)
	}
	if c.LeaseTTL < 2*c.Heartbeat {
		bad("lease_ttl", "%v must be at least twice the heartbeat (%v)", c.LeaseTTL, c.Heartbeat)
	}
	if c.RunDir != "" && !filepath.IsAbs(c.RunDir) {
		bad("run_dir", "%q is not an absolute path", c.RunDir)
	}
	if c.ShutdownTimeout < 0 {
		bad("shutdown_timeout", "%v must not be negative", c.ShutdownTimeout)
	}
	if c.SelfFenceDeadline < 0 {
		bad("self_fence_deadline", "%v must not be negative", c.SelfFenceDeadline)
	} else if c.Watchdog != "" && c.LeaseTTL >= 2*c.Heartbeat && c.Heartbeat > 0 {
		lc := membership.Config{Heartbeat: c.Heartbeat, TTL: c.LeaseTTL, SelfFenceDeadline: c.SelfFenceDeadline}
		if err := lc.CanGuard(c.SelfFenceDeadline); err != nil {
			bad("self_fence_deadline", "%v is the watchdog timeout (watchdog %s) and too long for lease_ttl %v: at most lease_ttl - 1.5 x heartbeat", c.SelfFenceDeadline, c.Watchdog, c.LeaseTTL)
		}
	}
	if _, err := watchdog.Parse(c.Watchdog); err != nil {
		bad("watchdog", "%q: %v (want a device under /dev or sim:unix:PATH)", c.Watchdog, err)
	}
	if len(c.AgentDirs) == 0 {
		bad("agent_dirs", "at least one directory is required")
	}
	for _, d := range c.AgentDirs {
		if !filepath.IsAbs(d) || filepath.Base(d) != "resource.d" {
			bad("agent_dirs", "%q must be an absolute path ending in /resource.d", d)
		}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		bad("log_level", "%q must be debug, info, warn or error", c.LogLevel)
	}
	if c.LogFile != "" && (!filepath.IsAbs(c.LogFile) || strings.HasSuffix(c.LogFile, "/")) {
		bad("log_file", "%q must be an absolute path to a file", c.LogFile)
	}
	return errors.Join(errs...)
}
