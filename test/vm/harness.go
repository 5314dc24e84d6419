// Package vm tests VM high availability on real libvirt hosts: the hosts
// are test/e2e's (e2e.NewNet: a network namespace each, with its own mount
// namespace and /run, on one bridge with the client namespace), and each
// runs its own libvirtd (libvirt-host.sh, in a UTS namespace of its own:
// libvirt refuses to migrate to a host with its own name), listening over
// TCP on the host's address, with QEMU guests (software emulation) built
// by scripts/vm-guest.sh. Every host has a second link into the bridge,
// enslaved to its guest bridge, so the client pings a guest wherever it
// runs, and the hosts' libvirtds migrate to each other. The shared
// storage is one directory every host mounts through bindfs as a FUSE
// file system libvirt takes for a shared one.
//
// The cluster is test/e2e's too (e2e.NewClusterWith: node nI on host hI,
// the CLI in the client namespace), with stonith-enabled left true. Agents
// run in the test process for the agent-level tests, each operation on a
// thread inside the network namespace of the host it runs on. A Watcher
// asks every libvirtd every 100 ms which domains run and fails the test
// if one runs on two hosts.
//
// Names start with e2e.Prefix ($PL_E2E_PREFIX, default pl-e2e-): do not
// run these tests beside test/e2e's with the same prefix. The tests need
// root, libvirtd, QEMU, bindfs, busybox-static and a Debian kernel and
// skip with a notice otherwise; they run only with PL_VM_TESTS=1 (a few
// minutes on 2 cores).
package vm

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"

	"github.com/paceline/paceline/test/e2e"
)

// Names of the guest network on every host.
const (
	guestLink = "pl-gst0"  // every host's second link, into the bridge
	GuestBr   = "pl-vbr"   // every host's guest bridge, the guests' NICs attach to it
	subnet    = "10.77.0." // e2e's network; guests are 10.77.0.(100+i)
)

// SharedMnt and LocalMnt are where every host mounts the shared storage
// and its own local storage.
const (
	SharedMnt = "/mnt/pl-vm/shared"
	LocalMnt  = "/mnt/pl-vm/local"
)

// Net is test/e2e's network whose hosts are libvirt hosts.
type Net struct {
	*e2e.Net
	t      *testing.T
	Dir    string // the test's directory: hosts' state, shared storage, guests' XML
	Shared string // the shared storage's directory (mounted on every host at SharedMnt)
	Hosts  []*Host
}

// Host is an e2e host running a libvirtd.
type Host struct {
	*e2e.Host
	net  *Net
	i    int    // its index in Net.Hosts
	Node string // its cluster node name: n1, n2, ...
	Dir  string // its private state (etc, lib, log, local)
	URI  string // qemu+tcp://ADDR/system
	lv   *e2e.Proc
}

// Need skips the test with a notice unless the VM tests are enabled and
// can run here.
func Need(t *testing.T) {
	t.Helper()
	if os.Getenv("PL_VM_TESTS") != "1" {
		t.Skip("vm: the libvirt/QEMU tests run only with PL_VM_TESTS=1 (a few minutes)")
	}
	e2e.Need(t)
	for tool, pkg := range map[string]string{"unshare": "util-linux", "nsenter": "util-linux", "libvirtd": "libvirt-daemon-system",
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

// NewNet builds e2e's network with hosts libvirt hosts (h1 at
// 10.77.0.11, ...) and waits until every libvirtd answers.
func NewNet(t *testing.T, hosts int) *Net {
	t.Helper()
	Need(t)
	en := e2e.NewNet(t, hosts)
	n := &Net{Net: en, t: t, Dir: t.TempDir()}
	n.Shared = filepath.Join(n.Dir, "shared")
	if err := os.MkdirAll(n.Shared, 0o755); err != nil {
		t.Fatal(err)
	}
	names := "127.0.0.1 localhost\n"
	for i, eh := range en.Hosts {
		names += eh.Addr + " " + e2e.NodeName(i) + "\n"
	}
	for i, eh := range en.Hosts {
		h := &Host{Host: eh, net: n, i: i, Node: e2e.NodeName(i), Dir: filepath.Join(n.Dir, eh.Name),
			URI: "qemu+tcp://" + eh.Addr + "/system"}
		en.AddLink(eh, guestLink)
		for _, args := range [][]string{{"link", "add", GuestBr, "type", "bridge"}, {"link", "set", guestLink, "master", GuestBr},
			{"link", "set", GuestBr, "up"}} {
			if _, err := eh.Exec(append([]string{"ip"}, args...)...); err != nil {
				t.Fatalf("vm: guest bridge of %s: %v", eh.Name, err)
			}
		}
		if err := os.MkdirAll(h.Dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(h.Dir, "hosts"), []byte(names), 0o644); err != nil {
			t.Fatal(err)
		}
		n.Hosts = append(n.Hosts, h)
	}
	for _, h := range n.Hosts {
		h.startLibvirtd()
	}
	for _, h := range n.Hosts {
		h.waitLibvirtd()
		if _, err := n.Client.Exec("ping", "-c", "1", "-W", "2", h.Addr); err != nil {
			t.Fatalf("vm: the client does not reach %s: %v", h.Name, err)
		}
	}
	return n
}

// hostScript is libvirt-host.sh next to this file.
func hostScript() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "libvirt-host.sh")
}

// startLibvirtd makes the host a libvirt host (libvirt-host.sh, in a UTS
// namespace of its own) and starts its libvirtd; the harness kills it at
// cleanup, Crash with the host.
func (h *Host) startLibvirtd() {
	saved := h.Env
	h.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "PL_VM_NAME=" + h.Node, "PL_VM_ADDR=" + h.Addr,
		fmt.Sprintf("PL_VM_UUID=5a0e0c2e-0000-4000-8000-%012d", h.i+1), "PL_VM_DIR=" + h.Dir, "PL_VM_SHARED=" + h.net.Shared}
	h.lv = h.Start(h.Name+"-libvirtd", "unshare", "--uts", "--", hostScript())
	h.Env = saved
}

func (h *Host) waitLibvirtd() {
	t := h.net.t
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		lv, err := h.Dial()
		if err == nil {
			lv.Disconnect()
			return
		}
		if time.Now().After(deadline) || h.lv.Exited() {
			t.Fatalf("vm: libvirtd on %s does not answer: %v\n%s", h.Name, err, tail(h.lv.ReadLog(), 4000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(s string, max int) string {
	if len(s) > max {
		return s[len(s)-max:]
	}
	return s
}

// Dial connects to the host's libvirtd (from inside its namespace).
func (h *Host) Dial() (*libvirt.Libvirt, error) {
	var lv *libvirt.Libvirt
	var err error
	if nsErr := h.InNS(func() {
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
	}); nsErr != nil {
		return nil, nsErr
	}
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

// pidsOf returns the pids of the host's processes whose program's base
// name is prog and whose command line has an argument starting with arg
// ("" for any).
func (h *Host) pidsOf(prog, arg string) []int {
	var pids []int
	for _, pid := range h.NSPids() {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if filepath.Base(args[0]) != prog {
			continue
		}
		for _, a := range args {
			if strings.HasPrefix(a, arg) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// QemuPID returns the pid of the qemu process running domain on the host
// (its command line names guest=DOMAIN), or 0.
func (h *Host) QemuPID(domain string) int {
	if pids := h.pidsOf("qemu-system-x86_64", "guest="+domain+","); len(pids) > 0 {
		return pids[0]
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

// KillLibvirtd SIGKILLs the host's libvirtd (its guests and the shared
// storage mount live on) and waits until it is gone.
func (h *Host) KillLibvirtd() {
	t := h.net.t
	t.Helper()
	pids := h.pidsOf("libvirtd", "")
	if len(pids) == 0 {
		t.Fatalf("vm: no libvirtd on %s", h.Name)
	}
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for range 50 {
		if len(h.pidsOf("libvirtd", "")) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("vm: libvirtd on %s does not die", h.Name)
}

// SignalLibvirtd sends sig to the host's libvirtd (SIGSTOP hangs it: it
// accepts connections and answers nothing; SIGCONT wakes it).
func (h *Host) SignalLibvirtd(sig syscall.Signal) {
	t := h.net.t
	t.Helper()
	pids := h.pidsOf("libvirtd", "")
	if len(pids) == 0 {
		t.Fatalf("vm: no libvirtd on %s", h.Name)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil {
			t.Fatalf("vm: %v to libvirtd %d on %s: %v", sig, pid, h.Name, err)
		}
	}
}

// RestartLibvirtd starts libvirtd again inside the host (in the UTS
// namespace its bindfs still holds), where it finds its running guests
// again, and waits until it answers.
func (h *Host) RestartLibvirtd() {
	t := h.net.t
	t.Helper()
	holders := h.pidsOf("bindfs", "")
	if len(holders) == 0 {
		t.Fatalf("vm: no bindfs left on %s to find its UTS namespace", h.Name)
	}
	h.lv = h.Start(h.Name+"-libvirtd", "nsenter", "-t", strconv.Itoa(holders[0]), "-u", "--",
		"libvirtd", "--listen", "--pid-file", "/run/libvirtd.pid", "--config", "/etc/libvirt/libvirtd.conf")
	h.waitLibvirtd()
}

// Restore boots a crashed (or fenced) host again: e2e's Restore (its
// link and address back), then its libvirtd, with no guest running; the
// caller starts its agent.
func (h *Host) Restore() {
	h.net.t.Helper()
	h.Host.Restore()
	h.startLibvirtd()
	h.waitLibvirtd()
}
