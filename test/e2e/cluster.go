package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Port is the API port every node listens on; Raft uses Port+1000.
const Port = 7100

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

// Binary builds cmd/paceline once per test process; RemoveBinary (from
// TestMain) deletes it.
func Binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "pl-e2e-bin-")
		if buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "paceline")
		out, err := exec.Command("go", "build", "-o", buildBin, "github.com/paceline/paceline/cmd/paceline").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// RemoveBinary removes what Binary built.
func RemoveBinary() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

// Status is the part of `paceline status --json` the tests read.
type Status struct {
	Leader string `json:"leader"`
	Quorum bool   `json:"quorum"`
	Nodes  []struct {
		Name, State string
		FencedBy    string `json:"fenced_by"`
	}
	// Collectives are the groups and clones.
	Collectives []struct{ ID, Kind string }
	// Gate is what a two-node cluster lacks (docs/two-node.md).
	Gate string `json:"gate"`
	// TwoNode is the two-node part (docs/two-node.md).
	TwoNode *struct {
		Servers  []string
		Declared bool
		Lost     string
	} `json:"two_node"`
	Resources []struct {
		ID, Agent, Role, Parent string
		Nodes                   []string
		Instances               []struct {
			Node, Role string
			// Replication is a database instance's health (issue 12).
			Replication *struct {
				Role, LSN, Sync string
				Timeline        int
			}
		}
	}
	// VMs are the VM resources (issue 14), as status --json shows them.
	VMs []VM `json:"vms"`
}

// VM is one VM of status --json.
type VM struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	Host    string `json:"host"`
	HALevel string `json:"ha_level"`
	Storage string `json:"storage"`
	Reason  string `json:"reason"`
}

// VM returns the VM's state (the zero VM when absent).
func (s *Status) VM(id string) VM {
	for _, v := range s.VMs {
		if v.ID == id {
			return v
		}
	}
	return VM{}
}

// Resource returns the role and nodes of resource id.
func (s *Status) Resource(id string) (role string, nodes []string) {
	for _, r := range s.Resources {
		if r.ID == id {
			return r.Role, r.Nodes
		}
	}
	return "", nil
}

// Online counts the nodes reported online.
func (s *Status) Online() int {
	n := 0
	for _, x := range s.Nodes {
		if x.State == "online" {
			n++
		}
	}
	return n
}

// Cluster is a Paceline cluster on a Net: node nI runs on host hI, the CLI
// runs in the client namespace.
type Cluster struct {
	t      *testing.T
	Net    *Net
	Bin    string
	dir    string
	Agents map[string]*Proc // node name -> its `paceline agent`
	opts   Options
	starts int
	all    []*Proc
}

// NodeName is the Paceline node name of host i (0-based): n1, n2, ...
func NodeName(i int) string { return fmt.Sprintf("n%d", i+1) }

// Listen is the --listen address of host h.
func Listen(h *Host) string { return fmt.Sprintf("%s:%d", h.Addr, Port) }

// Host returns the host running node name.
func (c *Cluster) Host(name string) *Host {
	for i, h := range c.Net.Hosts {
		if NodeName(i) == name {
			return h
		}
	}
	c.t.Fatalf("e2e: no node %q", name)
	return nil
}

// DataDir is node name's --data-dir.
func (c *Cluster) DataDir(name string) string { return filepath.Join(c.dir, name) }

// NewCluster runs the exact commands of a cluster's life on every host of
// n: paceline init on h1, agent; token create (from the client), join and
// agent on every other host; property set stonith-enabled=false. It waits
// until every node is online with quorum.
//
// roles, when given, are the --role of each host's node in order (the
// first must be server); by default every node is a server.
func NewCluster(t *testing.T, n *Net, roles ...string) *Cluster {
	t.Helper()
	return NewClusterWith(t, n, Options{Roles: roles})
}

// Options are NewClusterWith's choices.
type Options struct {
	// Roles are the --role of each host's node in order (the first must
	// be server); by default every node is a server.
	Roles []string
	// AgentArgs are extra `paceline agent` flags for every node, such as
	// "--profile", "fast".
	AgentArgs []string
	// WatchdogTimeout, when positive, runs `paceline watchdog-sim
	// --socket PATH --netns HOST --timeout WatchdogTimeout` outside every
	// host and starts each agent with --watchdog sim:unix:PATH.
	WatchdogTimeout time.Duration
	// InitArgs are extra `paceline init` flags for n1, such as
	// "--two-node".
	InitArgs []string
	// KeepStonith leaves stonith-enabled at its default (true) instead of
	// setting it to false: a lost node's resources are then held until a
	// fence device or `node confirm-down` (or a watchdog) releases them.
	KeepStonith bool
}

// NewClusterWith is NewCluster with options.
func NewClusterWith(t *testing.T, n *Net, o Options) *Cluster {
	t.Helper()
	c := &Cluster{t: t, Net: n, Bin: Binary(t), dir: t.TempDir(), Agents: map[string]*Proc{}, opts: o}
	if o.WatchdogTimeout > 0 {
		for i, h := range n.Hosts {
			sock := filepath.Join(c.dir, NodeName(i)+".wd")
			n.StartOutside(h.Name+"-watchdog", c.Bin, "watchdog-sim", "--socket", sock, "--netns", h.NS, "--timeout", o.WatchdogTimeout.String())
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if _, err := os.Stat(sock); err == nil {
					break
				} else if time.Now().After(deadline) {
					t.Fatalf("e2e: watchdog-sim for %s did not listen on %s", h.Name, sock)
				}
			}
		}
	}
	h1 := n.Hosts[0]
	c.must(h1, append([]string{"init", "--name", "n1", "--data-dir", c.DataDir("n1"), "--listen", Listen(h1)}, o.InitArgs...)...)
	c.StartAgent(h1)
	n.Client.Env = append(n.Client.Env, "PACELINE_ADDR=https://"+Listen(h1),
		"PACELINE_TOKEN_FILE="+filepath.Join(c.DataDir("n1"), "admin.token"),
		"PACELINE_CACERT="+filepath.Join(c.DataDir("n1"), "ca.pem"))
	c.WaitStatus(nil, "n1 leads", 20*time.Second, func(st *Status) bool { return st.Leader == "n1" })
	for i, h := range n.Hosts[1:] {
		name := NodeName(i + 1)
		tok := strings.TrimSpace(c.MustSetUp("token", "create", "--ttl", "10m"))
		args := []string{"join", "--name", name, "--data-dir", c.DataDir(name), "--listen", Listen(h), "--token", tok, Listen(h1)}
		if i+1 < len(o.Roles) && o.Roles[i+1] != "" {
			args = append(args, "--role", o.Roles[i+1])
		}
		c.must(h, args...)
		c.StartAgent(h)
	}
	// From now on the CLI tries every node.
	c.SetAddrs(n.Client, n.Hosts...)
	if !o.KeepStonith {
		c.MustSetUp("property", "set", "stonith-enabled=false")
	}
	c.WaitStatus(nil, "every node online with quorum", 30*time.Second, func(st *Status) bool {
		return st.Quorum && st.Online() == len(n.Hosts)
	})
	return c
}

// RunDir is the run directory of node name's agent, on its host (read it
// with Host.ReadFile).
func RunDir(name string) string { return "/run/paceline/" + name }

// StartAgent starts (again) `paceline agent` on host h with the cluster's
// options.
func (c *Cluster) StartAgent(h *Host) *Proc {
	c.t.Helper()
	name := nodeOf(c, h)
	// Each host has its own /run (Host.freshRun): the agent's default run
	// directory /run/paceline/NAME is the host's, as on a real one.
	args := []string{c.Bin, "agent", "--data-dir", c.DataDir(name)}
	if c.opts.WatchdogTimeout > 0 {
		args = append(args, "--watchdog", "sim:unix:"+filepath.Join(c.dir, name+".wd"))
	}
	args = append(args, c.opts.AgentArgs...)
	c.starts++
	p := h.Start(fmt.Sprintf("%s-agent-%d", name, c.starts), args...)
	c.Agents[name] = p
	c.all = append(c.all, p)
	return p
}

// allAgents returns every agent process StartAgent started, in order.
func (c *Cluster) allAgents() []*Proc { return c.all }

// SetAddrs points the CLI on from at the API of hosts (PACELINE_ADDR).
func (c *Cluster) SetAddrs(from *Host, hosts ...*Host) {
	var addrs []string
	for _, h := range hosts {
		addrs = append(addrs, "https://"+Listen(h))
	}
	var env []string
	for _, kv := range from.Env {
		if !strings.HasPrefix(kv, "PACELINE_ADDR=") {
			env = append(env, kv)
		}
	}
	from.Env = append(env, "PACELINE_ADDR="+strings.Join(addrs, ","))
}

// Paceline runs the paceline CLI on host h.
func (c *Cluster) Paceline(h *Host, args ...string) (string, error) {
	return h.Exec(append([]string{c.Bin}, args...)...)
}

func (c *Cluster) must(h *Host, args ...string) string {
	c.t.Helper()
	out, err := c.Paceline(h, args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// Must runs the CLI from the client namespace and fails the test on error.
func (c *Cluster) Must(args ...string) string {
	c.t.Helper()
	return c.must(c.Net.Client, args...)
}

// Status runs `paceline status --json` from the client namespace against
// the API of hosts (every host when none are named).
func (c *Cluster) Status(hosts ...*Host) (*Status, error) {
	cl := c.Net.Client
	if len(hosts) > 0 {
		cp := *cl // the same namespace, another PACELINE_ADDR
		c.SetAddrs(&cp, hosts...)
		cl = &cp
	}
	out, err := c.Paceline(cl, "status", "--json")
	if err != nil {
		return nil, err
	}
	var st Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return nil, fmt.Errorf("status --json: %w: %q", err, out)
	}
	return &st, nil
}

// WaitStatus polls status (from the API of hosts, or every host when nil)
// until cond holds and returns that status; it fails the test after limit.
// Every sample is checked: no resource is ever reported on two nodes.
func (c *Cluster) WaitStatus(hosts []*Host, what string, limit time.Duration, cond func(*Status) bool) *Status {
	c.t.Helper()
	var last *Status
	var lastErr error
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		st, err := c.Status(hosts...)
		if err != nil {
			lastErr = err
			continue
		}
		last = st
		c.CheckSingle(st)
		if cond(st) {
			return st
		}
	}
	c.t.Fatalf("e2e: timed out after %v waiting for %s; last status %+v, last error %v", limit, what, last, lastErr)
	return nil
}

// CheckSingle fails the test if st reports a resource active on two nodes
// (a clone's instances are meant to be).
// A fence device (stonith:) is not checked: "started" only registers it
// with a node, and, as in Pacemaker, a device on a node being fenced is
// started elsewhere before the fence (the fence may need it), so both
// nodes list it until the fence is confirmed. Nor is a VM (status'
// "vms"): a live migration's source lists it until the stop that follows
// migrate_from (its domain gone there, or paused); test/vm checks VMs on
// the hypervisors instead (its Watcher asks every libvirtd every 100 ms
// whether a domain runs twice).
func (c *Cluster) CheckSingle(st *Status) {
	c.t.Helper()
	clones := map[string]bool{}
	for _, x := range st.Collectives {
		clones[x.ID] = x.Kind == "clone"
	}
	for _, r := range st.Resources {
		if len(r.Nodes) > 1 && !strings.HasPrefix(r.Agent, "stonith:") && !clones[r.Parent] && st.VM(r.ID).ID == "" {
			c.t.Errorf("e2e: %s reported active on %v", r.ID, r.Nodes)
		}
	}
}

// LogTime returns the time= stamp of the first line of an agent log
// (log/slog text format) that contains substr and is not before since.
func LogTime(log, substr string, since time.Time) (time.Time, bool) {
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, substr) {
			continue
		}
		if at, ok := lineTime(line); ok && !at.Before(since) {
			return at, true
		}
	}
	return time.Time{}, false
}

func lineTime(line string) (time.Time, bool) {
	f := strings.Fields(line)
	if len(f) == 0 || !strings.HasPrefix(f[0], "time=") {
		return time.Time{}, false
	}
	at, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(f[0], "time="))
	return at, err == nil
}

// GrepLog returns the lines of an agent log since a time that contain any
// of words, each line once, for a failure message.
func GrepLog(log string, since time.Time, words ...string) string {
	var b strings.Builder
	last := ""
	for _, line := range strings.Split(log, "\n") {
		if at, ok := lineTime(line); !ok || at.Before(since) || line == last {
			continue
		}
		for _, w := range words {
			if strings.Contains(line, w) {
				b.WriteString("\n  " + line)
				last = line
				break
			}
		}
	}
	return b.String()
}

// nodeOf is the node name of host h.
func nodeOf(c *Cluster, h *Host) string {
	for i, x := range c.Net.Hosts {
		if x == h {
			return NodeName(i)
		}
	}
	c.t.Fatalf("e2e: no node on %s", h.Name)
	return ""
}

// MustSetUp runs a set-up command from the client, again while the
// cluster answers that a leader election is under way or the leader lost
// its leadership while committing (a loaded machine; a change that did
// commit all the same then answers that it exists), and fails the test on
// any other error.
func (c *Cluster) MustSetUp(args ...string) string {
	c.t.Helper()
	for i := 0; ; i++ {
		out, err := c.Paceline(c.Net.Client, args...)
		if err == nil {
			return out
		}
		if i > 0 && strings.Contains(err.Error(), "exists") {
			return "" // the attempt whose leadership was lost did commit
		}
		if i >= 10 || !strings.Contains(err.Error(), "not the leader") && !strings.Contains(err.Error(), "leadership lost") {
			c.t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// FenceHistoryEntry is the part of `paceline fence history --json` the
// tests read.
type FenceHistoryEntry struct {
	Target, Action, Device, Origin, Executor, Result, Reason string
	Level                                                    int
	Start, End                                               time.Time
}

// FenceHistory runs `paceline fence history NODE --json`.
func (c *Cluster) FenceHistory(node string) []FenceHistoryEntry {
	c.t.Helper()
	var h []FenceHistoryEntry
	if err := json.Unmarshal([]byte(c.Must("fence", "history", node, "--json")), &h); err != nil {
		c.t.Fatal(err)
	}
	return h
}

// AddIPMIDevices gives every host a simulated BMC (Net.AddBMC: user
// admin, the given password) and creates, with the CLI's words, a
// fence_ipmilan device ipmi-nI for each node (pcmk_host_list=nI). It
// returns the BMCs in host order; stonith-enabled and stonith-action are
// the caller's.
func (c *Cluster) AddIPMIDevices(password string) []*BMC {
	c.t.Helper()
	NeedBMC(c.t)
	var bmcs []*BMC
	for i, h := range c.Net.Hosts {
		b := c.Net.AddBMC(h, password)
		bmcs = append(bmcs, b)
		name := NodeName(i)
		c.MustSetUp("resource", "create", "ipmi-"+name, "stonith:fence_ipmilan", "ip="+b.Addr, "username="+b.User,
			"password="+b.Password, "lanplus=1", "cipher=3", "pcmk_host_list="+name)
	}
	return bmcs
}
