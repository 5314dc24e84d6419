package vm

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paceline/paceline/test/e2e"
)

// Cluster is a Paceline cluster on the libvirt hosts: one `paceline
// agent` per host, inside the host's namespaces (network, mount, UTS: it
// reaches its libvirtd at qemu:///system, as on a real VM host), node
// names the hosts' (h1, h2, ...; each host resolves them); the CLI runs in
// the client namespace. The binary is test/e2e's (e2e.Binary).
type Cluster struct {
	t   *testing.T
	n   *Net
	Bin string
	dir string
	env []string // the client's PACELINE_* environment
}

// agentPort is every node's API port (Raft on agentPort+1000).
const agentPort = 7100

// NewCluster runs init on h1 and join on every other host, starts every
// agent and waits until every node is online with quorum.
func NewCluster(t *testing.T, n *Net) *Cluster {
	t.Helper()
	c := &Cluster{t: t, n: n, Bin: e2e.Binary(t), dir: t.TempDir()}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		if out, err := c.Run("status", "--failcounts"); err == nil {
			t.Logf("--- status ---\n%s", out)
		}
		for _, h := range n.Hosts {
			if b, err := os.ReadFile(filepath.Join(n.Dir, h.Name+"-agent.log")); err == nil {
				// Paceline's own lines (not Raft's).
				var own []string
				for _, l := range strings.Split(string(b), "\n") {
					if strings.Contains(l, "msg=") {
						own = append(own, l)
					}
				}
				t.Logf("--- agent of %s ---\n%s", h.Name, tail([]byte(strings.Join(own, "\n")), 12000))
			}
		}
	})
	h1 := n.Hosts[0]
	c.onHost(h1, "init", "--name", h1.Name, "--data-dir", c.dataDir(h1), "--listen", listen(h1))
	c.StartAgent(h1)
	c.env = []string{"PACELINE_ADDR=https://" + listen(h1),
		"PACELINE_TOKEN_FILE=" + filepath.Join(c.dataDir(h1), "admin.token"),
		"PACELINE_CACERT=" + filepath.Join(c.dataDir(h1), "ca.pem")}
	c.WaitStatus("h1 leads", 30*time.Second, func(st *Status) bool { return st.Leader == h1.Name })
	for _, h := range n.Hosts[1:] {
		tok := strings.TrimSpace(c.Must("token", "create", "--ttl", "10m"))
		c.onHost(h, "join", "--name", h.Name, "--data-dir", c.dataDir(h), "--listen", listen(h), "--token", tok, listen(h1))
		c.StartAgent(h)
	}
	var addrs []string
	for _, h := range n.Hosts {
		addrs = append(addrs, "https://"+listen(h))
	}
	c.env[0] = "PACELINE_ADDR=" + strings.Join(addrs, ",")
	c.WaitStatus("every node online with quorum", 60*time.Second, func(st *Status) bool {
		on := 0
		for _, nd := range st.Nodes {
			if nd.State == "online" {
				on++
			}
		}
		return st.Quorum && on == len(n.Hosts)
	})
	return c
}

func listen(h *Host) string { return h.Addr + ":" + strconv.Itoa(agentPort) }

func (c *Cluster) dataDir(h *Host) string { return filepath.Join(c.dir, h.Name) }

// hostNS returns the nsenter arguments that enter the host's network,
// mount and UTS namespaces (those of its libvirtd: its bindfs holds them).
func (h *Host) hostNS() []string {
	holders := h.pidsOf("bindfs")
	if len(holders) == 0 {
		h.net.t.Fatalf("vm: no bindfs on %s: its libvirt host is not up", h.Name)
	}
	return []string{"nsenter", "-t", strconv.Itoa(holders[0]), "-m", "-u", "-n", "--"}
}

// onHost runs the CLI inside host h.
func (c *Cluster) onHost(h *Host, args ...string) string {
	c.t.Helper()
	out, err := run(context.Background(), []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, append(append(h.hostNS(), c.Bin), args...)...)
	if err != nil {
		c.t.Fatalf("vm: %v", err)
	}
	return out
}

// StartAgent starts (again) the agent of host h, logging to
// DIR/NAME-agent.log; the harness kills it at the end.
func (c *Cluster) StartAgent(h *Host) {
	c.t.Helper()
	logf, err := os.OpenFile(filepath.Join(c.n.Dir, h.Name+"-agent.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	defer logf.Close()
	argv := append(h.hostNS(), c.Bin, "agent", "--data-dir", c.dataDir(h))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("vm: start the agent on %s: %v", h.Name, err)
	}
	go cmd.Wait()
	c.n.mu.Lock()
	c.n.procs = append(c.n.procs, cmd)
	c.n.mu.Unlock()
}

// Run runs the CLI in the client namespace.
func (c *Cluster) Run(args ...string) (string, error) {
	env := append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, c.env...)
	return run(context.Background(), env, append([]string{"ip", "netns", "exec", c.n.Client.NS, c.Bin}, args...)...)
}

// Must is Run that fails the test on an error.
func (c *Cluster) Must(args ...string) string {
	c.t.Helper()
	out, err := c.Run(args...)
	if err != nil {
		c.t.Fatalf("vm: %v", err)
	}
	return out
}

// Status is the part of `paceline status --json` the tests read.
type Status struct {
	Leader string `json:"leader"`
	Quorum bool   `json:"quorum"`
	Epoch  uint64 `json:"epoch"`
	Nodes  []struct{ Name, State string }
	VMs    []VMState `json:"vms"`
}

// VMState is one VM of status --json.
type VMState struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	Host    string `json:"host"`
	HALevel string `json:"ha_level"`
	Storage string `json:"storage"`
	Reason  string `json:"reason"`
}

// VM returns the VM's state ("" when absent).
func (s *Status) VM(id string) VMState {
	for _, v := range s.VMs {
		if v.ID == id {
			return v
		}
	}
	return VMState{}
}

// Status reads `paceline status --json`.
func (c *Cluster) Status() (*Status, error) {
	out, err := c.Run("status", "--json")
	if err != nil {
		return nil, err
	}
	var st Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return nil, fmt.Errorf("status --json: %w", err)
	}
	return &st, nil
}

// WaitStatus polls status every 100 ms until cond holds, and fails the
// test after limit.
func (c *Cluster) WaitStatus(what string, limit time.Duration, cond func(*Status) bool) *Status {
	c.t.Helper()
	var last *Status
	var lastErr error
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		st, err := c.Status()
		if err != nil {
			lastErr = err
			continue
		}
		last = st
		if cond(st) {
			return st
		}
	}
	c.t.Fatalf("vm: timed out after %v waiting for %s; last status %+v, last error %v", limit, what, last, lastErr)
	return nil
}

// WaitVM waits until the VM is in state on host ("" for any host).
func (c *Cluster) WaitVM(id, state, host string, limit time.Duration) VMState {
	c.t.Helper()
	st := c.WaitStatus(fmt.Sprintf("%s %s on %q", id, state, host), limit, func(st *Status) bool {
		v := st.VM(id)
		return v.State == state && (host == "" || v.Host == host)
	})
	return st.VM(id)
}

// Crash is a host's watchdog reset: every process of the host (its agent,
// libvirtd, qemu, bindfs) is SIGKILLed and its link goes down.
func (h *Host) Crash() {
	killNS(h.NS)
	h.net.must("ip", "-n", h.NS, "link", "set", hostLink, "down")
}

// Restore boots a crashed host again: its link up and its libvirtd
// started anew (no guest runs), the caller starting its agent.
func (h *Host) Restore() {
	n := h.net
	n.t.Helper()
	n.must("ip", "-n", h.NS, "link", "set", hostLink, "up")
	for i, x := range n.Hosts {
		if x == h {
			n.startLibvirtd(h, i)
		}
	}
	n.waitLibvirtd(h)
}
