// Package vm tests VM high availability on real libvirt hosts simulated by
// Linux namespaces: every host is a network namespace with private mount
// and UTS namespaces running its own libvirtd (libvirt-host.sh), listening
// over TCP on the host's address, with QEMU guests (software emulation)
// built by scripts/vm-guest.sh. The hosts' bridges and a client namespace
// share one L2 segment through a switch namespace, so the client pings a
// guest wherever it runs, and the hosts' libvirtds migrate to each other.
// The shared storage is one directory every host mounts through bindfs as
// a FUSE file system libvirt takes for a shared one.
//
// Agents run in the test process, each operation on a thread that entered
// the network namespace of the host it runs on, as the host's own agent
// would. A Watcher asks every libvirtd every 100 ms which domains run and
// fails the test if one runs on two hosts.
//
// Namespaces and links are named pl-f-*, removed by t.Cleanup (also on
// failure) after every process inside was killed; NewNet first removes
// leftovers of an earlier run. The tests need root, libvirtd, QEMU,
// bindfs, busybox-static and a Debian kernel and skip with a notice
// otherwise; they run only with PL_VM_TESTS=1 (a few minutes on 2 cores).
package vm

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
	"github.com/vishvananda/netns"
)

// Names and addresses of the test network.
const (
	prefix    = "pl-f-"
	switchNS  = prefix + "sw"
	switchBr  = prefix + "br"
	hostLink  = prefix + "eth" // every host's end of its veth
	GuestBr   = prefix + "vbr" // every host's bridge, the guests' NICs attach to it
	subnet    = "10.79.0."
	clientIP  = subnet + "2"
	execLimit = 30 * time.Second
)

// Net is the switch, the libvirt hosts and the client namespace.
type Net struct {
	t      *testing.T
	Dir    string // the test's directory: hosts' state, shared storage, logs
	Shared string // the shared storage's directory (mounted on every host at SharedMnt)
	Hosts  []*Host
	Client *Host

	mu    sync.Mutex
	procs []*exec.Cmd
}

// SharedMnt and LocalMnt are where every host mounts the shared storage
// and its own local storage.
const (
	SharedMnt = "/mnt/pl-vm/shared"
	LocalMnt  = "/mnt/pl-vm/local"
)

// Host is a namespace; libvirt hosts also run a libvirtd.
type Host struct {
	net  *Net
	Name string // h1, h2 or cl
	NS   string // pl-f-h1
	Addr string // 10.79.0.11
	Dir  string // its private state (etc, lib, log, local)
	Log  string // libvirtd's log
	URI  string // qemu+tcp://ADDR/system
}

// Need skips the test with a notice unless the VM tests are enabled and
// can run here.
func Need(t *testing.T) {
	t.Helper()
	if os.Getenv("PL_VM_TESTS") != "1" {
		t.Skip("vm: the libvirt/QEMU tests run only with PL_VM_TESTS=1 (a few minutes)")
	}
	if os.Geteuid() != 0 {
		t.Skip("vm: needs root for namespaces and libvirtd")
	}
	for tool, pkg := range map[string]string{"ip": "iproute2", "unshare": "util-linux", "nsenter": "util-linux", "libvirtd": "libvirt-daemon-system",
		"qemu-system-x86_64": "qemu-system-x86", "bindfs": "bindfs", "ping": "iputils-ping", "cpio": "cpio"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("vm: %s is missing (apt-get install %s)", tool, pkg)
		}
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("vm: /bin/busybox is missing (apt-get install busybox-static)")
	}
	if m, _ := filepath.Glob("/boot/vmlinuz-*"); len(m) == 0 {
		t.Skip("vm: no /boot/vmlinuz-* (apt-get install linux-image-amd64)")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("vm: no /dev/fuse for bindfs")
	}
}

// NewNet builds the switch, hosts libvirt hosts (h1 at 10.79.0.11, ...)
// and the client (10.79.0.2), and waits until every libvirtd answers.
func NewNet(t *testing.T, hosts int) *Net {
	t.Helper()
	Need(t)
	Cleanup()
	dir, err := os.MkdirTemp("", "pl-f-vm-")
	if err != nil {
		t.Fatal(err)
	}
	n := &Net{t: t, Dir: dir, Shared: filepath.Join(dir, "shared")}
	t.Cleanup(func() { n.close(); os.RemoveAll(dir) })
	if err := os.MkdirAll(n.Shared, 0o755); err != nil {
		t.Fatal(err)
	}
	n.must("ip", "netns", "add", switchNS)
	n.must("ip", "-n", switchNS, "link", "add", switchBr, "type", "bridge")
	n.must("ip", "-n", switchNS, "link", "set", switchBr, "up")
	add := func(name, addr string, bridged bool) *Host {
		h := &Host{net: n, Name: name, NS: prefix + name, Addr: addr, Dir: filepath.Join(dir, name)}
		peer := prefix + name + "p"
		n.must("ip", "netns", "add", h.NS)
		n.must("ip", "link", "add", hostLink, "netns", h.NS, "type", "veth", "peer", "name", peer, "netns", switchNS)
		n.must("ip", "-n", switchNS, "link", "set", peer, "master", switchBr, "up")
		n.must("ip", "-n", h.NS, "link", "set", "lo", "up")
		dev := hostLink
		if bridged {
			// The host's address lives on its guest bridge, as on a real
			// VM host: guests and host share the segment.
			dev = GuestBr
			n.must("ip", "-n", h.NS, "link", "add", GuestBr, "type", "bridge")
			n.must("ip", "-n", h.NS, "link", "set", hostLink, "master", GuestBr)
			n.must("ip", "-n", h.NS, "link", "set", GuestBr, "up")
		}
		n.must("ip", "-n", h.NS, "link", "set", hostLink, "up")
		n.must("ip", "-n", h.NS, "addr", "add", addr+"/24", "dev", dev)
		return h
	}
	for i := range hosts {
		h := add(fmt.Sprintf("h%d", i+1), subnet+strconv.Itoa(11+i), true)
		h.URI = "qemu+tcp://" + h.Addr + "/system"
		n.Hosts = append(n.Hosts, h)
	}
	n.Client = add("cl", clientIP, false)
	names := "127.0.0.1 localhost\n"
	for _, h := range n.Hosts {
		names += h.Addr + " " + h.Name + "\n"
	}
	for _, h := range n.Hosts {
		if err := os.MkdirAll(h.Dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(h.Dir, "hosts"), []byte(names), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, h := range n.Hosts {
		n.startLibvirtd(h, i)
	}
	for _, h := range n.Hosts {
		n.waitLibvirtd(h)
		if _, err := n.Client.Exec("ping", "-c", "1", "-W", "2", h.Addr); err != nil {
			t.Fatalf("vm: the client does not reach %s: %v", h.Name, err)
		}
	}
	return n
}

// Cleanup removes every pl-f-* namespace left by an earlier run, killing
// the processes inside first (libvirtd, qemu, bindfs).
func Cleanup() {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], prefix) {
			continue
		}
		killNS(f[0])
		exec.Command("ip", "netns", "del", f[0]).Run()
	}
}

// killNS SIGKILLs every process in the namespace and waits (up to 5 s)
// until none is left.
func killNS(ns string) {
	for range 50 {
		out, _ := exec.Command("ip", "netns", "pids", ns).Output()
		pids := strings.Fields(string(out))
		if len(pids) == 0 {
			return
		}
		for _, f := range pids {
			if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (n *Net) close() {
	for _, h := range append(append([]*Host{}, n.Hosts...), n.Client) {
		if h != nil {
			killNS(h.NS)
		}
	}
	n.mu.Lock()
	procs := n.procs
	n.mu.Unlock()
	for _, p := range procs {
		syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
		p.Wait()
	}
	if n.t.Failed() {
		for _, h := range n.Hosts {
			if b, err := os.ReadFile(h.Log); err == nil {
				n.t.Logf("--- libvirtd of %s ---\n%s", h.Name, tail(b, 6000))
			}
			serials, _ := filepath.Glob(filepath.Join(h.Dir, "log", "qemu", "*"))
			for _, f := range serials {
				if b, err := os.ReadFile(f); err == nil {
					n.t.Logf("--- %s of %s ---\n%s", filepath.Base(f), h.Name, tail(b, 1500))
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
		n.t.Fatalf("vm: %v", err)
	}
	return out
}

// run runs a command in its own process group and returns its stdout; the
// error carries stderr.
func run(ctx context.Context, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, execLimit)
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

// Exec runs a command in the host's network namespace.
func (h *Host) Exec(args ...string) (string, error) {
	return run(context.Background(), nil, append([]string{"ip", "netns", "exec", h.NS}, args...)...)
}

// hostScript is libvirt-host.sh next to this file.
func hostScript() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "libvirt-host.sh")
}

func (n *Net) startLibvirtd(h *Host, i int) {
	n.t.Helper()
	h.Log = filepath.Join(n.Dir, h.Name+"-libvirtd.log")
	logf, err := os.Create(h.Log)
	if err != nil {
		n.t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command("ip", "netns", "exec", h.NS, "unshare", "--mount", "--uts", "--propagation", "private", "--", hostScript())
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "PL_VM_NAME=" + h.Name, "PL_VM_ADDR=" + h.Addr,
		fmt.Sprintf("PL_VM_UUID=5a0e0c2e-0000-4000-8000-%012d", i+1), "PL_VM_DIR=" + h.Dir, "PL_VM_SHARED=" + n.Shared}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("vm: start libvirtd on %s: %v", h.Name, err)
	}
	go cmd.Wait()
	n.mu.Lock()
	n.procs = append(n.procs, cmd)
	n.mu.Unlock()
}

func (n *Net) waitLibvirtd(h *Host) {
	n.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		lv, err := h.Dial()
		if err == nil {
			lv.Disconnect()
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(h.Log)
			n.t.Fatalf("vm: libvirtd on %s does not answer: %v\n%s", h.Name, err, tail(b, 4000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// InNS runs f on an OS thread that entered the host's network namespace
// (the thread is discarded afterwards), so sockets f opens and processes
// it starts belong to the host.
func (h *Host) InNS(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		ns, err := netns.GetFromName(h.NS)
		if err != nil {
			panic(fmt.Sprintf("vm: namespace %s: %v", h.NS, err))
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			panic(fmt.Sprintf("vm: enter %s: %v", h.NS, err))
		}
		f()
	}()
	<-done
}

// Dial connects to the host's libvirtd (from inside its namespace).
func (h *Host) Dial() (*libvirt.Libvirt, error) {
	var lv *libvirt.Libvirt
	var err error
	h.InNS(func() {
		var c net.Conn
		c, err = net.DialTimeout("tcp", h.Addr+":16509", 2*time.Second)
		if err != nil {
			return
		}
		lv = libvirt.NewWithDialer(dialers.NewAlreadyConnected(c))
		u, _ := url.Parse(h.URI)
		if err = lv.ConnectToURI(libvirt.RemoteURI(u)); err != nil {
			c.Close()
		}
	})
	return lv, err
}

// ActiveDomains lists the names of the domains a qemu process runs for
// on the host, as its libvirtd reports them.
func ActiveDomains(lv *libvirt.Libvirt) ([]string, error) {
	doms, _, err := lv.ConnectListAllDomains(1, libvirt.ConnectListDomainsActive)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, d := range doms {
		names = append(names, d.Name)
	}
	return names, nil
}

// QemuPID returns the pid of the qemu process running domain on the host
// (its command line names guest=DOMAIN), or 0.
func (h *Host) QemuPID(domain string) int {
	out, _ := exec.Command("ip", "netns", "pids", h.NS).Output()
	for _, f := range strings.Fields(string(out)) {
		b, err := os.ReadFile("/proc/" + f + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if !strings.Contains(args[0], "qemu-system") {
			continue
		}
		for _, a := range args {
			if strings.HasPrefix(a, "guest="+domain+",") || a == "guest="+domain {
				pid, _ := strconv.Atoi(f)
				return pid
			}
		}
	}
	return 0
}

// activeOrNil returns the domains running on the host (failing the test
// when its libvirtd does not answer).
func (h *Host) activeOrNil(t *testing.T) []string {
	t.Helper()
	lv, err := h.Dial()
	if err != nil {
		t.Fatalf("vm: %s: %v", h.Name, err)
	}
	defer lv.Disconnect()
	names, err := ActiveDomains(lv)
	if err != nil {
		t.Fatalf("vm: %s: %v", h.Name, err)
	}
	return names
}

// pidsOf returns the pids of the host's processes whose program's base
// name is prog.
func (h *Host) pidsOf(prog string) []int {
	out, _ := exec.Command("ip", "netns", "pids", h.NS).Output()
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		b, err := os.ReadFile("/proc/" + f + "/cmdline")
		if err != nil {
			continue
		}
		arg0, _, _ := strings.Cut(string(b), "\x00")
		if filepath.Base(arg0) == prog {
			pid, _ := strconv.Atoi(f)
			pids = append(pids, pid)
		}
	}
	return pids
}

// KillLibvirtd SIGKILLs the host's libvirtd (its guests and the shared
// storage mount live on) and waits until it is gone.
func (h *Host) KillLibvirtd() {
	h.net.t.Helper()
	pids := h.pidsOf("libvirtd")
	if len(pids) == 0 {
		h.net.t.Fatalf("vm: no libvirtd on %s", h.Name)
	}
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for range 50 {
		if len(h.pidsOf("libvirtd")) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.net.t.Fatalf("vm: libvirtd on %s does not die", h.Name)
}

// RestartLibvirtd starts libvirtd again inside the host's namespaces (the
// mount and UTS namespaces its bindfs still holds), where it finds its
// running guests again, and waits until it answers.
func (h *Host) RestartLibvirtd() {
	n := h.net
	n.t.Helper()
	holders := h.pidsOf("bindfs")
	if len(holders) == 0 {
		n.t.Fatalf("vm: no bindfs left on %s to find its mount namespace", h.Name)
	}
	logf, err := os.OpenFile(h.Log, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		n.t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command("nsenter", "-t", strconv.Itoa(holders[0]), "-m", "-u", "-n", "--",
		"libvirtd", "--listen", "--pid-file", "/run/libvirtd.pid", "--config", "/etc/libvirt/libvirtd.conf")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("vm: restart libvirtd on %s: %v", h.Name, err)
	}
	go cmd.Wait()
	n.mu.Lock()
	n.procs = append(n.procs, cmd)
	n.mu.Unlock()
	n.waitLibvirtd(h)
}
