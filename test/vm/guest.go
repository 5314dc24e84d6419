package vm

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"

	"github.com/paceline/paceline/internal/agents"
)

// Guest is one test guest: its definition file and where it answers.
type Guest struct {
	Name      string
	UUID      string // fixed: every host knows the same domain
	IP        string // its address on the test network
	MAC       string
	XMLPath   string // the domain XML, in the test's directory
	Disk      string // the disk as the hosts see it (SharedMnt or LocalMnt)
	MemoryMiB int
	VCPUs     int // <vcpu>: 1 unless the test sets it before WriteXML
	Kernel    string
	Initrd    string
	Bridge    string
}

var (
	buildOnce           sync.Once
	guestDir, buildErrs string
)

// guestImage builds (or finds in the cache) the guest's kernel and
// initramfs with scripts/vm-guest.sh; the cache is $PL_VM_CACHE or
// ~/.cache/paceline-vm-guest (~/.cache/paceline is the demo's, 0700).
func guestImage(t *testing.T) (kernel, initrd string) {
	t.Helper()
	buildOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "vm-guest.sh")
		out, err := exec.Command(script).CombinedOutput()
		if err != nil {
			buildErrs = fmt.Sprintf("vm-guest.sh: %v: %s", err, out)
			return
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		guestDir = lines[len(lines)-1]
	})
	if buildErrs != "" {
		t.Fatal(buildErrs)
	}
	return filepath.Join(guestDir, "vmlinuz"), filepath.Join(guestDir, "initrd.img")
}

// NewGuest writes the definition of guest number i (name gI, address
// 10.77.0.(100+i)) with its disk on the shared storage, or on the local
// storage of host when storage is "local".
func (n *Net) NewGuest(i int, storage string, host *Host) *Guest {
	t := n.t
	t.Helper()
	kernel, initrd := guestImage(t)
	g := &Guest{Name: fmt.Sprintf("g%d", i), UUID: fmt.Sprintf("6b1c2f0e-7a3d-4e5f-9a10-%012d", i),
		IP: subnet + strconv.Itoa(100+i), MAC: fmt.Sprintf("52:54:00:79:00:%02x", i),
		MemoryMiB: 96, VCPUs: 1, Kernel: kernel, Initrd: initrd, Bridge: GuestBr}
	var diskFile string
	if storage == "local" {
		g.Disk = LocalMnt + "/" + g.Name + ".img"
		diskFile = filepath.Join(host.Dir, "local", g.Name+".img")
	} else {
		g.Disk = SharedMnt + "/" + g.Name + ".img"
		diskFile = filepath.Join(n.Shared, g.Name+".img")
	}
	if err := os.MkdirAll(filepath.Dir(diskFile), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(diskFile)
	if err == nil {
		err = f.Truncate(8 << 20)
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	g.XMLPath = filepath.Join(n.Dir, g.Name+".xml")
	g.WriteXML(t)
	return g
}

// WriteXML writes the guest's domain XML (again: after a change of its
// fields) from guest.xml.
func (g *Guest) WriteXML(t *testing.T) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	tmpl, err := template.ParseFiles(filepath.Join(filepath.Dir(file), "guest.xml"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(g.XMLPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := tmpl.Execute(out, g); err != nil {
		t.Fatal(err)
	}
}

// agentClass is what runs an agent's operations (builtin.Class, ocf.Class).
type agentClass interface {
	Run(context.Context, agents.Request) agents.Result
}

// Run performs one operation of an agent on the host, from inside its
// network namespace, as the host's own agent would.
func (h *Host) Run(class agentClass, typ agents.Type, id, op string, params, meta map[string]string, timeout time.Duration) agents.Result {
	var res agents.Result
	if err := h.InNS(func() {
		res = class.Run(context.Background(), agents.Request{ResourceID: id, Agent: typ, Op: op,
			Params: params, Meta: meta, Timeout: timeout, Node: h.Addr})
	}); err != nil {
		return agents.Failed(agents.RCUnknownError, agents.StatusError, "%v", err)
	}
	return res
}

// WaitPing waits until the guest answers ping from the client and returns
// how long that took.
func (n *Net) WaitPing(ip string, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < limit {
		if _, err := n.Client.Exec("ping", "-c", "1", "-W", "1", ip); err == nil {
			return time.Since(start), nil
		}
	}
	return time.Since(start), fmt.Errorf("%s does not answer ping after %s", ip, limit)
}

// Uptime asks the guest for its uptime and boot id (HTTP from the
// client's namespace).
func (n *Net) Uptime(ip string) (float64, string, error) {
	var body string
	var err error
	nsErr := n.Client.InNS(func() {
		var c net.Conn
		c, err = net.DialTimeout("tcp", ip+":80", 3*time.Second)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err = io.WriteString(c, "GET /cgi-bin/uptime HTTP/1.0\r\n\r\n"); err != nil {
			return
		}
		var b []byte
		b, err = io.ReadAll(c)
		_, body, _ = strings.Cut(string(b), "\r\n\r\n")
	})
	if err == nil {
		err = nsErr
	}
	if err != nil {
		return 0, "", fmt.Errorf("uptime of guest %s: %w", ip, err)
	}
	f := strings.Fields(body)
	if len(f) != 2 {
		return 0, "", fmt.Errorf("guest %s answered %q", ip, body)
	}
	up, err := strconv.ParseFloat(f[0], 64)
	return up, f[1], err
}

// WaitUptime is Uptime, retried for up to limit: the guest answers ping
// a moment before its HTTP server listens.
func (n *Net) WaitUptime(ip string, limit time.Duration) (float64, string, error) {
	start := time.Now()
	for {
		up, boot, err := n.Uptime(ip)
		if err == nil || time.Since(start) > limit {
			return up, boot, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Pinger pings a guest from the client every 10 ms.
type Pinger struct {
	cmd   *exec.Cmd
	done  chan PingStats
	ended chan struct{} // closed when ping has exited
}

// PingStats is what a Pinger saw.
type PingStats struct {
	Sent, Received int
	// MaxGap is the longest time between two replies in a row: the
	// outage as the client saw it (the interval when nothing was lost).
	MaxGap time.Duration
}

// LossMS is the time without replies, in ms: lost echoes times the 10 ms
// interval.
func (s PingStats) LossMS() int { return (s.Sent - s.Received) * 10 }

var (
	pingReply = regexp.MustCompile(`^\[(\d+\.\d+)\] \d+ bytes from`)
	pingSum   = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`)
)

// Ping starts pinging ip from the client.
func (n *Net) Ping(ip string) *Pinger {
	cmd := exec.Command("ip", "netns", "exec", n.Client.NS, "ping", "-n", "-D", "-i", "0.01", "-W", "1", ip)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		n.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	p := &Pinger{cmd: cmd, done: make(chan PingStats, 1), ended: make(chan struct{})}
	go func() {
		var st PingStats
		var last float64
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if m := pingReply.FindStringSubmatch(line); m != nil {
				ts, _ := strconv.ParseFloat(m[1], 64)
				if last != 0 {
					if gap := time.Duration((ts - last) * float64(time.Second)); gap > st.MaxGap {
						st.MaxGap = gap
					}
				}
				last = ts
			}
			if m := pingSum.FindStringSubmatch(line); m != nil {
				st.Sent, _ = strconv.Atoi(m[1])
				st.Received, _ = strconv.Atoi(m[2])
			}
		}
		cmd.Wait()
		close(p.ended)
		p.done <- st
	}()
	n.t.Cleanup(func() {
		select {
		case <-p.ended:
		default:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	return p
}

// Stop ends the pinger and returns its statistics.
func (p *Pinger) Stop() PingStats {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGINT)
	select {
	case st := <-p.done:
		return st
	case <-time.After(5 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		return <-p.done
	}
}

// Watcher asks every host's libvirtd every 100 ms which domains run and
// records every sample in which a domain ran on two hosts at once.
//
// "Runs" is libvirt's running state: during a live migration the target
// holds the domain paused until the source pauses it for good, so both
// are active for a while, but the guest's CPUs run on one side only. A
// sample asks every host twice, in order (h1, h2, ..., h1, h2, ...): a
// domain running on host A in both of A's answers ran throughout, also
// when another host B answered in between, so a domain running on A
// both times and on B the first time ran on both at that moment.
type Watcher struct {
	stop chan struct{}
	done chan struct{}

	mu         sync.Mutex
	samples    int
	overlaps   int // samples with a domain active (running or paused) on two hosts
	violations []string
	where      map[string][]string     // domain -> hosts running it, last sample
	since      map[[2]string]time.Time // {domain, host} -> StartedAfter
	prev       time.Time               // when the previous sample began
}

// Watch starts a Watcher over every host; the test fails at its end if a
// domain was ever seen running on two hosts.
func (n *Net) Watch() *Watcher {
	w := &Watcher{stop: make(chan struct{}), done: make(chan struct{}), where: map[string][]string{},
		since: map[[2]string]time.Time{}}
	conns := make([]*libvirt.Libvirt, len(n.Hosts))
	ask := func(i int, flags libvirt.ConnectListAllDomainsFlags) []string {
		if conns[i] == nil {
			conns[i], _ = n.Hosts[i].Dial()
			if conns[i] == nil {
				return nil
			}
		}
		doms, _, err := conns[i].ConnectListAllDomains(1, flags)
		if err != nil {
			conns[i].Disconnect()
			conns[i] = nil
			return nil
		}
		var names []string
		for _, d := range doms {
			names = append(names, d.Name)
		}
		return names
	}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			sampled := time.Now()
			first := make([][]string, len(n.Hosts))
			active := map[string]int{}
			for i := range n.Hosts {
				first[i] = ask(i, libvirt.ConnectListDomainsRunning)
				for _, d := range ask(i, libvirt.ConnectListDomainsActive) {
					active[d]++
				}
			}
			where := map[string][]string{}
			var bad []string
			for i, h := range n.Hosts {
				second := ask(i, libvirt.ConnectListDomainsRunning)
				for _, d := range first[i] {
					where[d] = append(where[d], h.Name)
					if !slices.Contains(second, d) {
						continue
					}
					for j, o := range n.Hosts {
						if j != i && slices.Contains(first[j], d) {
							bad = append(bad, fmt.Sprintf("%s: domain %s runs on %s and %s",
								time.Now().Format("15:04:05.000"), d, h.Name, o.Name))
						}
					}
				}
			}
			w.mu.Lock()
			w.samples++
			w.where = where
			for k := range w.since {
				if !slices.Contains(where[k[0]], k[1]) {
					delete(w.since, k)
				}
			}
			for d, hosts := range where {
				for _, h := range hosts {
					if k := [2]string{d, h}; w.since[k].IsZero() {
						w.since[k] = w.prev
					}
				}
			}
			w.violations = append(w.violations, bad...)
			for _, c := range active {
				if c > 1 {
					w.overlaps++
					break
				}
			}
			w.prev = sampled
			w.mu.Unlock()
			select {
			case <-w.stop:
				for _, c := range conns {
					if c != nil {
						c.Disconnect()
					}
				}
				return
			case <-tick.C:
			}
		}
	}()
	n.t.Cleanup(func() {
		samples, bad := w.Stop()
		w.mu.Lock()
		overlaps := w.overlaps
		w.mu.Unlock()
		n.t.Logf("watcher: %d samples of every libvirtd; %d with a domain active on two hosts (a migration's paused copy), %d with one running on two",
			samples, overlaps, len(bad))
		for _, v := range bad {
			n.t.Errorf("never twice: %s", v)
		}
	})
	return w
}

// Where returns the hosts the last sample saw running domain.
func (w *Watcher) Where(domain string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.where[domain]...)
}

// StartedAfter returns a time the current run of domain on the host (by
// its name, h1 ...) began after: when the last sample that did not see it
// there began (that sample asked the host later). It is the zero time
// when the last sample did not see it there, or the first one did.
func (w *Watcher) StartedAfter(domain, host string) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.since[[2]string{domain, host}]
}

// Stop ends the watcher (idempotent) and returns the number of samples
// and the violations.
func (w *Watcher) Stop() (int, []string) {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.samples, append([]string(nil), w.violations...)
}
