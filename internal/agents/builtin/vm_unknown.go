package builtin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"

	"github.com/paceline/paceline/internal/agents"
	"github.com/paceline/paceline/internal/model"
)

// What builtin:vm does when the host's libvirtd does not answer (stopped,
// crashed, hung): libvirtd is only the domain's manager; the guest is its
// qemu process, which lives on without it (and libvirtd, back, finds it
// again). So monitor and stop look at the qemu process instead.

// libvirtdAnswer bounds how long monitor and stop wait for libvirtd to
// answer (a connection, a look-up) before they take it for unreachable.
const libvirtdAnswer = 5 * time.Second

// qemuStateDir is where the system libvirtd's QEMU driver keeps each
// running domain's pid file (NAME.pid).
const qemuStateDir = "/run/libvirt/qemu"

// answering is session waiting at most libvirtdAnswer for libvirtd.
func (p *vmParams) answering(ctx context.Context) (*vmSession, libvirt.Domain, domainState, error) {
	return p.session(ctx, libvirtdAnswer)
}

// qemuPID returns the pid of the qemu process that runs the domain on this
// host, 0 when none does; known is false when this host's processes say
// nothing about it (a remote libvirtd's uri, or a session libvirtd). The
// system libvirtd's pid file names the process; without one, any qemu
// process whose -name is the domain's counts (a process seen where it
// may not be is the safe mistake: the VM is not started twice).
func (p *vmParams) qemuPID() (pid int, known bool) {
	if p.uri == nil || p.uri.Path != "/system" {
		return 0, false
	}
	if network, _, err := libvirtEndpoint(p.uri); err != nil || network != "unix" {
		return 0, false
	}
	if b, err := os.ReadFile(filepath.Join(qemuStateDir, p.domain+".pid")); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 && runsDomain(n, p.domain) {
			return n, true
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range procs {
		n, err := strconv.Atoi(filepath.Base(dir))
		if err == nil && runsDomain(n, p.domain) {
			return n, true
		}
	}
	return 0, true
}

// runsDomain reports whether process pid is a qemu running domain (its
// arguments hold "-name guest=DOMAIN," or "-name DOMAIN", as libvirt
// starts it).
func runsDomain(pid int, domain string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return false
	}
	args := bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0})
	if !strings.HasPrefix(filepath.Base(string(args[0])), "qemu") {
		return false
	}
	for i := 0; i+1 < len(args); i++ {
		if string(args[i]) != "-name" {
			continue
		}
		v := string(args[i+1])
		if v == domain || strings.HasPrefix(v, "guest="+domain+",") || v == "guest="+domain {
			return true
		}
	}
	return false
}

// vmUnknown publishes why VM id's state is unknown on this node (the
// node attribute model.AttrVMUnknownPrefix+id), or clears it once the
// monitor knows again; nothing is written while it stays clear.
func (c *Class) vmUnknown(ctx context.Context, id, why string) {
	if id == "" || c.cfg.Attrs == nil {
		return
	}
	name := model.AttrVMUnknownPrefix + id
	c.mu.Lock()
	was := c.published[name]
	c.mu.Unlock()
	if why == "" && was == "" {
		return
	}
	c.publish(ctx, map[string]string{name: why})
}

// killQemu destroys the domain without libvirtd, as libvirt's destroy
// does (SIGKILL of its qemu), for a self-fence under Force: the leader
// starts the VM elsewhere once this host's lease and self-fence deadline
// have run out, so the host must not wait for a libvirtd that does not
// answer (unreached is why). It succeeds once no qemu of the domain runs
// here; libvirtd, when back, finds the domain shut off.
func (p *vmParams) killQemu(unreached error, pid int) agents.Result {
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return rc(agents.RCUnknownError, "%v; kill its qemu (pid %d): %v", unreached, pid, err)
	}
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if now, _ := p.qemuPID(); now == 0 {
			r := ok()
			r.Output = fmt.Sprintf("%v; destroyed: killed its qemu (pid %d)", unreached, pid)
			return r
		}
	}
	return rc(agents.RCUnknownError, "%v; its qemu (pid %d) still runs 2s after SIGKILL", unreached, pid)
}
