// Package e2e runs Paceline on real hosts simulated by Linux network
// namespaces (DESIGN.md, Tests, level 3): every host is a namespace with
// one veth into a bridge that lives in its own switch namespace, so the
// root namespace is left alone. Faults are real: SIGKILL and SIGSTOP of
// process groups, links set down, nftables drop rules, and a host "crash"
// (every process of the namespace killed, extra addresses removed, link
// down) that stands in for a watchdog reset.
//
// Every namespace and link is named with the pl-e2e- prefix and removed by
// t.Cleanup, also when the test fails; NewNet first removes leftovers of an
// earlier run. The tests need root, ip and nft and skip with a notice
// otherwise.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Prefix starts the name of every namespace and link the harness creates:
// "pl-e2e-", or $PL_E2E_PREFIX (pl- and up to 4 more characters ending in
// "-", such as "pl-b1-"), so that two runs on one machine (a benchmark
// beside the tests) do not remove each other's namespaces.
var Prefix = prefixFromEnv()

func prefixFromEnv() string {
	p := os.Getenv("PL_E2E_PREFIX")
	if p == "" {
		return "pl-e2e-"
	}
	if !regexp.MustCompile(`^pl-[a-z0-9]{1,3}-$`).MatchString(p) {
		panic(fmt.Sprintf("e2e: PL_E2E_PREFIX %q: want pl-, 1 to 3 lower-case letters or digits, and -", p))
	}
	return p
}

var (
	switchNS = Prefix + "sw"
	bridge   = Prefix + "br"
)

const (
	subnet = "10.77.0."
	// hostLink is every host's end of its veth, the same name in every
	// namespace (so a VIP resource can name one nic for all hosts).
	hostLink = "pl-eth0"
	// nftTable is the nftables table (family inet) holding partition rules.
	nftTable = "pl_e2e"
	// execTimeout bounds every Exec; the process group is killed after it.
	execTimeout = 20 * time.Second
)

// Net is a switch namespace with a bridge, N host namespaces and a client
// namespace, all on 10.77.0.0/24. It is owned by one test.
type Net struct {
	t      *testing.T
	dir    string
	mntDir string  // holds the hosts' mount-namespace files (a private mount)
	Hosts  []*Host // Hosts[i] is pl-e2e-h(i+1) with address 10.77.0.(11+i)
	Client *Host   // pl-e2e-cl, 10.77.0.2: where the CLI runs

	mu    sync.Mutex
	procs []*Proc
	links int // AddLink's links so far
}

// Host is one network namespace with one veth into the bridge.
type Host struct {
	net  *Net
	Name string // short name: h1, h2, ... or cl
	NS   string // namespace: pl-e2e-h1
	Addr string // its address without prefix length: 10.77.0.11
	Link string // its end of the veth, inside NS
	peer string // the bridge's end, inside the switch namespace
	// Env is the environment of Exec and Start (defaults to the test
	// process's environment without PACELINE_* variables).
	Env []string
	// mnt is the host's mount namespace (a bind-mounted nsfs file): its
	// own /run, a tmpfs, as a real host's, which Crash empties as a
	// reboot does. Every process of the host runs in it.
	mnt string
}

// Proc is a long-running process started in a host namespace in its own
// process group.
type Proc struct {
	Host *Host
	Cmd  *exec.Cmd
	Log  string // path of the file receiving stdout and stderr
	done chan struct{}
	err  error
}

// Need skips the test with a notice unless it runs as root with ip and
// nft, and not in -short mode.
func Need(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: network-namespace tests skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("e2e: needs root for network namespaces")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("e2e: %s is missing (apt-get install iproute2 nftables)", tool)
		}
	}
}

// NewNet builds the network: the switch, hosts host namespaces and the
// client. Everything is removed by t.Cleanup.
func NewNet(t *testing.T, hosts int) *Net {
	t.Helper()
	Need(t)
	if hosts < 1 || hosts > 9 {
		t.Fatalf("e2e: %d hosts, want 1..9", hosts)
	}
	Cleanup()
	n := &Net{t: t, dir: t.TempDir()}
	t.Cleanup(n.close)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PACELINE_") {
			env = append(env, kv)
		}
	}
	// The hosts' mount namespaces are kept as files in a private bind
	// mount (unshare --mount=FILE needs one).
	n.mntDir = filepath.Join(n.dir, "mnt")
	if err := os.MkdirAll(n.mntDir, 0o700); err != nil {
		t.Fatal(err)
	}
	n.must("mount", "--bind", n.mntDir, n.mntDir)
	n.must("mount", "--make-private", n.mntDir)
	n.must("ip", "netns", "add", switchNS)
	n.must("ip", "-n", switchNS, "link", "add", bridge, "type", "bridge")
	n.must("ip", "-n", switchNS, "link", "set", bridge, "up")
	n.must("ip", "-n", switchNS, "link", "set", "lo", "up")
	add := func(name, addr string) *Host {
		h := &Host{net: n, Name: name, NS: Prefix + name, Addr: addr, Link: hostLink, peer: Prefix + name + "b", Env: env}
		n.must("ip", "netns", "add", h.NS)
		n.must("ip", "link", "add", h.Link, "netns", h.NS, "type", "veth", "peer", "name", h.peer, "netns", switchNS)
		n.must("ip", "-n", switchNS, "link", "set", h.peer, "master", bridge, "up")
		n.must("ip", "-n", h.NS, "link", "set", "lo", "up")
		n.must("ip", "-n", h.NS, "addr", "add", addr+"/24", "dev", h.Link)
		n.must("ip", "-n", h.NS, "link", "set", h.Link, "up")
		h.mnt = filepath.Join(n.mntDir, name)
		if err := os.WriteFile(h.mnt, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		n.must("unshare", "--mount="+h.mnt, "--propagation", "private", "true")
		h.freshRun()
		return h
	}
	for i := range hosts {
		n.Hosts = append(n.Hosts, add(fmt.Sprintf("h%d", i+1), subnet+strconv.Itoa(11+i)))
	}
	n.Client = add("cl", subnet+"2")
	return n
}

// AddLink gives host h another link named name: a veth into the same
// bridge as its own link, up, without an address, for what the host
// bridges onto the network (a VM host's guests).
func (n *Net) AddLink(h *Host, name string) {
	n.t.Helper()
	n.mu.Lock()
	n.links++
	peer := fmt.Sprintf("%sl%d", Prefix, n.links)
	n.mu.Unlock()
	n.must("ip", "link", "add", name, "netns", h.NS, "type", "veth", "peer", "name", peer, "netns", switchNS)
	n.must("ip", "-n", switchNS, "link", "set", peer, "master", bridge, "up")
	n.must("ip", "-n", h.NS, "link", "set", name, "up")
}

// Cleanup removes every pl-e2e-* namespace (with its links) left behind
// by an earlier run, killing the processes still inside first.
func Cleanup() {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], Prefix) {
			continue
		}
		killNS(f[0])
		exec.Command("ip", "netns", "del", f[0]).Run()
	}
	// A veth whose namespace vanished mid-setup may be left in the root.
	out, _ = exec.Command("ip", "-o", "link", "show").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		if strings.HasPrefix(name, Prefix) {
			exec.Command("ip", "link", "del", name).Run()
		}
	}
}

// killNS SIGKILLs every process in the namespace.
func killNS(ns string) {
	out, _ := exec.Command("ip", "netns", "pids", ns).Output()
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func (n *Net) close() {
	n.mu.Lock()
	procs := n.procs
	n.procs = nil
	n.mu.Unlock()
	for _, p := range procs {
		p.kill()
	}
	for _, h := range append(n.Hosts, n.Client) {
		if h != nil {
			killNS(h.NS)
		}
	}
	for _, p := range procs {
		p.wait(5 * time.Second)
	}
	if n.mntDir != "" {
		for _, h := range append(n.Hosts, n.Client) {
			if h != nil && h.mnt != "" {
				exec.Command("umount", h.mnt).Run()
			}
		}
		exec.Command("umount", n.mntDir).Run()
	}
	if n.t.Failed() {
		// PL_E2E_KEEP=DIR keeps every whole log of a failed test there.
		keep := os.Getenv("PL_E2E_KEEP")
		if keep != "" {
			keep = filepath.Join(keep, strings.NewReplacer("/", "_").Replace(n.t.Name()))
			os.MkdirAll(keep, 0o700)
		}
		for _, p := range procs {
			if b, err := os.ReadFile(p.Log); err == nil {
				n.t.Logf("--- %s ---\n%s", filepath.Base(p.Log), tail(b, 8000))
				if keep != "" {
					os.WriteFile(filepath.Join(keep, filepath.Base(p.Log)), b, 0o600)
				}
			}
		}
	}
	Cleanup()
}

func tail(b []byte, max int) []byte {
	if len(b) > max {
		return b[len(b)-max:]
	}
	return b
}

func (n *Net) must(args ...string) string {
	n.t.Helper()
	out, err := run(context.Background(), nil, args...)
	if err != nil {
		n.t.Fatalf("e2e: %v", err)
	}
	return out
}

// run runs a command in its own process group and returns its stdout; the
// error carries stderr. The group is killed when ctx ends.
func run(ctx context.Context, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, execTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// Exec runs a command inside the host's namespace (ip netns exec) in its
// own process group with h.Env and returns its stdout; the error carries
// stderr. It is killed after 20 s.
func (h *Host) Exec(args ...string) (string, error) {
	return run(context.Background(), h.Env, h.in(args...)...)
}

// in is the command line that runs args inside the host: its network
// namespace, then its mount namespace (its own /run).
func (h *Host) in(args ...string) []string {
	// nsenter opens both namespace files before it enters either (a mount
	// namespace file cannot be opened from inside "ip netns exec"'s own).
	return append([]string{"nsenter", "--net=/run/netns/" + h.NS, "--mount=" + h.mnt, "--"}, args...)
}

// freshRun mounts an empty tmpfs on the host's /run, as at boot.
func (h *Host) freshRun() {
	nsenter := []string{"nsenter", "--mount=" + h.mnt, "--"}
	run(context.Background(), nil, append(nsenter, "umount", "-l", "/run")...)
	h.net.must(append(nsenter, "mount", "-t", "tmpfs", "-o", "mode=0755,size=64m", "pl-run", "/run")...)
}

// Remove removes a file as the host's processes see it.
func (h *Host) Remove(path string) error {
	_, err := run(context.Background(), nil, "nsenter", "--mount="+h.mnt, "--", "rm", path)
	return err
}

// ReadFile reads a file as the host's processes see it (its /run is its
// own).
func (h *Host) ReadFile(path string) ([]byte, error) {
	out, err := run(context.Background(), nil, "nsenter", "--mount="+h.mnt, "--", "cat", path)
	return []byte(out), err
}

// Start starts a long-running process inside the host's namespace in its
// own process group, stdout and stderr to a log file named name.log in the
// test's directory. The harness kills it at cleanup.
func (h *Host) Start(name string, args ...string) *Proc {
	t := h.net.t
	t.Helper()
	logPath := filepath.Join(h.net.dir, name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	argv := h.in(args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = h.Env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("e2e: start %s on %s: %v", name, h.Name, err)
	}
	p := &Proc{Host: h, Cmd: cmd, Log: logPath, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	h.net.mu.Lock()
	h.net.procs = append(h.net.procs, p)
	h.net.mu.Unlock()
	return p
}

// StartOutside starts a long-running process outside every host (in the
// test's own namespaces), in its own process group, logged like Start's.
// It is not a host's process: KillAgent and Crash leave it alone; the
// harness kills it at cleanup.
func (n *Net) StartOutside(name string, args ...string) *Proc {
	t := n.t
	t.Helper()
	logPath := filepath.Join(n.dir, name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Killed with the test process too (outside every host, Cleanup would
	// not find it): the parent-death signal fires when the thread that
	// started the process ends, so that thread stays locked to a
	// goroutine that lives as long as the process.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &Proc{Cmd: cmd, Log: logPath, done: make(chan struct{})}
	started := make(chan error)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		err := cmd.Start()
		started <- err
		if err != nil {
			return
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		t.Fatalf("e2e: start %s: %v", name, err)
	}
	n.mu.Lock()
	n.procs = append(n.procs, p)
	n.mu.Unlock()
	return p
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ReadLog returns what the process has logged so far.
func (p *Proc) ReadLog() string {
	b, _ := os.ReadFile(p.Log)
	return string(b)
}

func (p *Proc) signal(sig syscall.Signal) {
	if !p.Exited() {
		syscall.Kill(-p.Cmd.Process.Pid, sig)
	}
}

func (p *Proc) kill() {
	p.signal(syscall.SIGCONT) // a stopped group dies too, but be explicit
	p.signal(syscall.SIGKILL)
}

func (p *Proc) wait(limit time.Duration) {
	select {
	case <-p.done:
	case <-time.After(limit):
	}
}

// procs returns the live processes started on h.
func (h *Host) procs() []*Proc {
	h.net.mu.Lock()
	defer h.net.mu.Unlock()
	var ps []*Proc
	for _, p := range h.net.procs {
		if p.Host == h && !p.Exited() {
			ps = append(ps, p)
		}
	}
	return ps
}

// KillAgent SIGKILLs the process group of every process Start started on
// the host and waits for them to end.
func (h *Host) KillAgent() {
	for _, p := range h.procs() {
		p.kill()
		p.wait(5 * time.Second)
	}
}

// StopAgent SIGSTOPs the process groups Start started on the host (a hung
// host); ContAgent resumes them.
func (h *Host) StopAgent() {
	for _, p := range h.procs() {
		p.signal(syscall.SIGSTOP)
	}
}

// ContAgent SIGCONTs what StopAgent stopped.
func (h *Host) ContAgent() {
	for _, p := range h.procs() {
		p.signal(syscall.SIGCONT)
	}
}

// LinkDown sets the host's end of its veth down; LinkUp sets it up again.
func (h *Host) LinkDown() { h.net.must("ip", "-n", h.NS, "link", "set", h.Link, "down") }

// LinkUp sets the host's end of its veth up.
func (h *Host) LinkUp() { h.net.must("ip", "-n", h.NS, "link", "set", h.Link, "up") }

// Crash simulates a watchdog reset: every process in the namespace is
// SIGKILLed, every address but the host's own is removed from its link
// (a VIP does not survive a reset) and the link goes down.
func (h *Host) Crash() {
	killNS(h.NS)
	for _, p := range h.procs() {
		p.wait(5 * time.Second)
	}
	addrs, _ := linkAddrs(h)
	for _, a := range addrs {
		if ip, _, _ := strings.Cut(a, "/"); ip != h.Addr {
			run(context.Background(), nil, "ip", "-n", h.NS, "addr", "del", a, "dev", h.Link)
		}
	}
	h.LinkDown()
	// A reboot empties /run: what agents kept there is gone.
	h.freshRun()
}

// Restore brings a host back after a fault: its link up and its own
// address back (a watchdog reset flushes every address). Processes are
// the caller's to start again.
func (h *Host) Restore() {
	h.LinkUp()
	if ok, _ := Holds(h, h.Addr); !ok {
		h.net.must("ip", "-n", h.NS, "addr", "add", h.Addr+"/24", "dev", h.Link)
	}
}

// Partition drops traffic between the hosts of a and b with nftables rules
// in table inet pl_e2e of each host namespace. With oneWay only packets
// from a to b are dropped (b still reaches a). Heal removes the rules.
func (n *Net) Partition(a, b []*Host, oneWay bool) {
	n.t.Helper()
	drop := func(from, to []*Host) {
		for _, h := range from {
			for _, o := range to {
				n.nft(h, "add rule inet "+nftTable+" output ip daddr "+o.Addr+" drop")
			}
		}
		for _, h := range to {
			for _, o := range from {
				n.nft(h, "add rule inet "+nftTable+" input ip saddr "+o.Addr+" drop")
			}
		}
	}
	for _, h := range append(append([]*Host{}, a...), b...) {
		n.nft(h, "add table inet "+nftTable)
		n.nft(h, "add chain inet "+nftTable+" input { type filter hook input priority 0 ; policy accept ; }")
		n.nft(h, "add chain inet "+nftTable+" output { type filter hook output priority 0 ; policy accept ; }")
	}
	drop(a, b)
	if !oneWay {
		drop(b, a)
	}
}

// Heal removes every partition rule of every host.
func (n *Net) Heal() {
	for _, h := range append(append([]*Host{}, n.Hosts...), n.Client) {
		run(context.Background(), nil, "ip", "netns", "exec", h.NS, "nft", "delete", "table", "inet", nftTable)
	}
}

func (n *Net) nft(h *Host, rule string) {
	n.t.Helper()
	n.must("ip", "netns", "exec", h.NS, "nft", rule)
}
