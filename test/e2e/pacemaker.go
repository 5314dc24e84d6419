package e2e

// Pacemaker runs a real Corosync 3 + Pacemaker 2.1 cluster on the
// harness's hosts, so the failover benchmark can measure it beside
// Paceline and keepalived in the same topology.
//
// Each host gets one "ns" process (unshare --mount, then sleep) that owns a
// private mount namespace: tmpfs on /run and /dev/shm (corosync's pid
// file, pacemaker's /run/crm, the agents' /run/resource-agents and libqb's
// shared-memory rings would otherwise collide between hosts), and bind
// mounts of per-host directories of the test's temporary directory on
// /etc/corosync, /var/lib/corosync, /var/lib/pacemaker and /var/log (the
// "disk", which survives Restart). corosync, pacemakerd and every CLI call
// enter that mount namespace with nsenter from inside the host's network
// namespace; libqb's IPC sockets are abstract, so they are private to the
// network namespace. Nothing is mounted in the root mount namespace.

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// VIPResource is the id of the IPaddr2 primitive in the seeded CIB.
const VIPResource = "vip"

// ErrPacemakerDown is returned by Crm and friends for a host whose
// Pacemaker namespace is not running (after Crash or KillAgent, before
// Restart).
var ErrPacemakerDown = errors.New("e2e: pacemaker: host's daemons are not running")

// PacemakerOptions configures the cluster NewPacemaker builds. The zero
// value is DefaultPacemakerOptions.
type PacemakerOptions struct {
	// VIP is the address of the ocf:heartbeat:IPaddr2 resource; default
	// 10.77.0.100.
	VIP string
	// CIDR is its prefix length; default 24.
	CIDR int
	// MonitorInterval is the VIP's recurring monitor interval; default 1 s.
	MonitorInterval time.Duration
	// Token is corosync's totem.token (how long a silent node takes to be
	// declared lost); 0 keeps corosync's default (3000 ms, to which
	// corosync adds token_coefficient 650 ms for each node beyond two).
	Token time.Duration
	// NoQuorumPolicy is Pacemaker's no-quorum-policy; default "stop". With
	// two hosts corosync runs with two_node: 1, so the survivor of a pair
	// keeps quorum.
	NoQuorumPolicy string
	// DCDeadtime is Pacemaker's dc-deadtime, how long a starting node
	// waits to hear from a DC before it calls an election; default 2 s
	// (Pacemaker's own default, 20 s, would add that much to every
	// cluster start; it does not delay failover, where the survivors call
	// an election as soon as they lose the DC).
	DCDeadtime time.Duration
	// StartTimeout bounds the wait for the cluster (and a restarted host)
	// to come online and for the VIP to start; default 90 s.
	StartTimeout time.Duration
}

// DefaultPacemakerOptions returns the defaults documented on the fields.
func DefaultPacemakerOptions() PacemakerOptions {
	return PacemakerOptions{
		VIP:             "10.77.0.100",
		CIDR:            24,
		MonitorInterval: time.Second,
		NoQuorumPolicy:  "stop",
		DCDeadtime:      2 * time.Second,
		StartTimeout:    90 * time.Second,
	}
}

func (o PacemakerOptions) withDefaults() PacemakerOptions {
	d := DefaultPacemakerOptions()
	if o.VIP == "" {
		o.VIP = d.VIP
	}
	if o.CIDR == 0 {
		o.CIDR = d.CIDR
	}
	if o.MonitorInterval == 0 {
		o.MonitorInterval = d.MonitorInterval
	}
	if o.NoQuorumPolicy == "" {
		o.NoQuorumPolicy = d.NoQuorumPolicy
	}
	if o.DCDeadtime == 0 {
		o.DCDeadtime = d.DCDeadtime
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = d.StartTimeout
	}
	return o
}

// Validate reports every problem of the options at once.
func (o PacemakerOptions) Validate() error {
	var errs []error
	if ip := net.ParseIP(o.VIP); ip == nil || ip.To4() == nil {
		errs = append(errs, fmt.Errorf("e2e: pacemaker: VIP %q is not an IPv4 address", o.VIP))
	}
	if o.CIDR < 1 || o.CIDR > 32 {
		errs = append(errs, fmt.Errorf("e2e: pacemaker: CIDR %d, want 1..32", o.CIDR))
	}
	if o.MonitorInterval < time.Second || o.MonitorInterval%time.Second != 0 {
		errs = append(errs, fmt.Errorf("e2e: pacemaker: MonitorInterval %v, want whole seconds >= 1s", o.MonitorInterval))
	}
	if o.Token < 0 || o.Token%time.Millisecond != 0 {
		errs = append(errs, fmt.Errorf("e2e: pacemaker: Token %v, want whole milliseconds >= 0", o.Token))
	}
	if o.DCDeadtime < time.Second || o.DCDeadtime%time.Second != 0 {
		errs = append(errs, fmt.Errorf("e2e: pacemaker: DCDeadtime %v, want whole seconds >= 1s", o.DCDeadtime))
	}
	switch o.NoQuorumPolicy {
	case "stop", "ignore", "freeze", "demote":
	default:
		errs = append(errs, fmt.Errorf("e2e: pacemaker: NoQuorumPolicy %q, want stop, ignore, freeze or demote", o.NoQuorumPolicy))
	}
	return errors.Join(errs...)
}

// Pacemaker is a Corosync + Pacemaker cluster on some of a Net's hosts,
// node names n1..nN in the order of Hosts. It is owned by one test; its
// processes are killed by t.Cleanup, also when the test fails.
type Pacemaker struct {
	t     *testing.T
	net   *Net
	Hosts []*Host
	Opts  PacemakerOptions
	nodes map[*Host]*pcmkNode
	ids   struct{ uid, gid int } // hacluster, haclient
}

// pcmkNode is one host's cluster node.
type pcmkNode struct {
	name string // n1, ...
	dir  string // the host's "disk": etc-corosync, var-lib-corosync, ...
	ns   *Proc  // holds the private mount namespace
	mnt  string // /proc/PID/ns/mnt of ns
	// mntID is the namespace's identity (mnt:[N]), to find its processes
	// after ns is gone.
	mntID string
	// procs are the processes started for this node (ns, corosync,
	// pacemakerd), newest last.
	procs []*Proc
}

// pacemakerTools are the programs HavePacemaker checks for.
var pacemakerTools = []string{"corosync", "corosync-cfgtool", "pacemakerd", "crm_mon", "cibadmin", "crm_attribute", "crm_resource", "nsenter", "unshare"}

const ipaddr2 = "/usr/lib/ocf/resource.d/heartbeat/IPaddr2"

// HavePacemaker reports whether corosync, pacemaker, its CLI, the
// IPaddr2 agent and the hacluster user are installed
// (scripts/install-pacemaker.sh installs them).
func HavePacemaker() bool { return pacemakerMissing() == "" }

func pacemakerMissing() string {
	for _, tool := range pacemakerTools {
		if _, err := exec.LookPath(tool); err != nil {
			return tool
		}
	}
	if _, err := os.Stat(ipaddr2); err != nil {
		return ipaddr2
	}
	if _, err := user.Lookup("hacluster"); err != nil {
		return "user hacluster"
	}
	return ""
}

// NeedPacemaker skips the test with a notice unless Need passes and
// Pacemaker is installed.
func NeedPacemaker(t *testing.T) {
	t.Helper()
	Need(t)
	if m := pacemakerMissing(); m != "" {
		t.Skipf("e2e: %s is missing (scripts/install-pacemaker.sh installs corosync, pacemaker, pacemaker-cli-utils, resource-agents)", m)
	}
}

// NewPacemaker starts corosync and pacemakerd on hosts with a seeded CIB
// (stonith-enabled=false: there are no fence devices; no-quorum-policy;
// dc-deadtime; resource-stickiness=100; the VIP as ocf:heartbeat:IPaddr2
// on the hosts' link), waits until every node is online with a DC elected
// and exactly one host holds the VIP. It fails the test if that does not
// happen within opts.StartTimeout.
func NewPacemaker(t *testing.T, n *Net, hosts []*Host, opts PacemakerOptions) *Pacemaker {
	t.Helper()
	NeedPacemaker(t)
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(hosts) < 2 {
		t.Fatalf("e2e: pacemaker: %d hosts, want at least 2", len(hosts))
	}
	p := &Pacemaker{t: t, net: n, Hosts: hosts, Opts: opts, nodes: map[*Host]*pcmkNode{}}
	if err := p.lookupIDs(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Registered after TempDir, so it runs before the directory (the
	// nodes' bind-mounted disks) is removed.
	t.Cleanup(p.close)
	conf, cib := p.corosyncConf(), p.cib()
	for i, h := range hosts {
		nd := &pcmkNode{name: NodeName(i), dir: filepath.Join(dir, h.Name)}
		p.nodes[h] = nd
		if err := p.makeDisk(nd, conf, cib); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	for _, h := range hosts {
		p.startCorosync(h)
	}
	for _, h := range hosts {
		p.waitCorosync(h)
	}
	for _, h := range hosts {
		p.startPacemakerd(h)
	}
	if err := p.WaitOnline(hosts, hosts, opts.StartTimeout); err != nil {
		t.Fatal(err)
	}
	t.Logf("pacemaker: %d nodes online with a DC %v after start", len(hosts), time.Since(start).Round(time.Millisecond))
	if err := waitFor(opts.StartTimeout, func() error { _, err := p.Holder(); return err }); err != nil {
		out, _ := p.Crm(hosts[0], "crm_mon", "-1", "-r", "-f")
		t.Fatalf("e2e: pacemaker: VIP not started: %v\n%s", err, out)
	}
	h, _ := p.Holder()
	t.Logf("pacemaker: VIP %s on %s %v after start", opts.VIP, h.Name, time.Since(start).Round(time.Millisecond))
	return p
}

func (p *Pacemaker) lookupIDs() error {
	u, err := user.Lookup("hacluster")
	if err != nil {
		return fmt.Errorf("e2e: pacemaker: %w", err)
	}
	g, err := user.LookupGroup("haclient")
	if err != nil {
		return fmt.Errorf("e2e: pacemaker: %w", err)
	}
	p.ids.uid, _ = strconv.Atoi(u.Uid)
	p.ids.gid, _ = strconv.Atoi(g.Gid)
	return nil
}

// corosyncConf is the corosync.conf of every node: knet over the hosts'
// addresses, no crypto (a benchmark on a private bridge), logging to
// stderr (the corosync Proc's log).
func (p *Pacemaker) corosyncConf() string {
	var b strings.Builder
	b.WriteString("totem {\n\tversion: 2\n\tcluster_name: pl-e2e\n\ttransport: knet\n")
	b.WriteString("\tcrypto_cipher: none\n\tcrypto_hash: none\n")
	if p.Opts.Token > 0 {
		fmt.Fprintf(&b, "\ttoken: %d\n", p.Opts.Token.Milliseconds())
	}
	b.WriteString("}\n")
	b.WriteString("logging {\n\tto_stderr: yes\n\tto_logfile: no\n\tto_syslog: no\n\ttimestamp: hires\n\tfileline: off\n}\n")
	b.WriteString("quorum {\n\tprovider: corosync_votequorum\n")
	if len(p.Hosts) == 2 {
		b.WriteString("\ttwo_node: 1\n")
	}
	b.WriteString("}\n")
	b.WriteString("uidgid {\n\tuid: hacluster\n\tgid: haclient\n}\n")
	b.WriteString("nodelist {\n")
	for i, h := range p.Hosts {
		fmt.Fprintf(&b, "\tnode {\n\t\tname: %s\n\t\tnodeid: %d\n\t\tring0_addr: %s\n\t}\n", NodeName(i), i+1, h.Addr)
	}
	b.WriteString("}\n")
	return b.String()
}

// makeDisk creates a node's directories with the owners and modes the
// Debian packages give them, and its corosync.conf.
func (p *Pacemaker) makeDisk(nd *pcmkNode, conf, cib string) error {
	root, ha := [2]int{0, 0}, [2]int{p.ids.uid, p.ids.gid}
	dirs := []struct {
		path  string
		owner [2]int
		mode  os.FileMode
	}{
		{"etc-corosync", root, 0o755},
		{"var-lib-corosync", root, 0o755},
		{"var-lib-pacemaker", root, 0o755},
		{"var-lib-pacemaker/cib", ha, 0o750},
		{"var-lib-pacemaker/pengine", ha, 0o750},
		{"var-lib-pacemaker/blackbox", ha, 0o750},
		{"var-lib-pacemaker/cores", ha, 0o750},
		{"var-log", root, 0o755},
		{"var-log/pacemaker", ha, 0o770},
	}
	for _, d := range dirs {
		path := filepath.Join(nd.dir, d.path)
		if err := os.MkdirAll(path, d.mode); err != nil {
			return fmt.Errorf("e2e: pacemaker: %w", err)
		}
		if err := os.Chmod(path, d.mode); err != nil {
			return fmt.Errorf("e2e: pacemaker: %w", err)
		}
		if err := os.Chown(path, d.owner[0], d.owner[1]); err != nil {
			return fmt.Errorf("e2e: pacemaker: %w", err)
		}
	}
	// TempDir is 0700 root, but hacluster reaches the bind mounts through
	// their mount points, not through it.
	if err := os.WriteFile(filepath.Join(nd.dir, "etc-corosync", "corosync.conf"), []byte(conf), 0o644); err != nil {
		return fmt.Errorf("e2e: pacemaker: %w", err)
	}
	cibPath := filepath.Join(nd.dir, "var-lib-pacemaker", "cib", "cib.xml")
	if err := os.WriteFile(cibPath, []byte(cib), 0o600); err != nil {
		return fmt.Errorf("e2e: pacemaker: %w", err)
	}
	if err := os.Chown(cibPath, p.ids.uid, p.ids.gid); err != nil {
		return fmt.Errorf("e2e: pacemaker: %w", err)
	}
	return nil
}

// nsScript builds the private mount namespace and then becomes sleep, so
// /proc/PID/ns/mnt of the process is the namespace once PID runs sleep.
const nsScript = `set -e
d=$1
mount -t tmpfs -o mode=0755,size=64m pl-e2e-run /run
mkdir -p /run/crm /run/resource-agents
chown hacluster:haclient /run/crm
chmod 0750 /run/crm
mount -t tmpfs -o mode=1777,size=256m pl-e2e-shm /dev/shm
mount --bind "$d/etc-corosync" /etc/corosync
mount --bind "$d/var-lib-corosync" /var/lib/corosync
mount --bind "$d/var-lib-pacemaker" /var/lib/pacemaker
mount --bind "$d/var-log" /var/log
exec sleep infinity
`

// startNode starts the host's node and waits until corosync answers.
func (p *Pacemaker) startNode(h *Host) {
	p.t.Helper()
	p.startCorosync(h)
	p.waitCorosync(h)
	p.startPacemakerd(h)
}

// startCorosync starts the host's mount namespace holder, waits until
// its mounts are in place, and starts corosync. It fails the test if the
// namespace does not come up.
func (p *Pacemaker) startCorosync(h *Host) {
	t := p.t
	t.Helper()
	nd := p.nodes[h]
	nd.ns = h.Start("pcmk-"+h.Name+"-ns", "unshare", "--mount", "--propagation", "private", "sh", "-c", nsScript, "sh", nd.dir)
	nd.procs = append(nd.procs, nd.ns)
	// ip netns exec, unshare and sh exec without forking: the Proc's pid
	// becomes sleep once the mounts are in place.
	pid := strconv.Itoa(nd.ns.Cmd.Process.Pid)
	if err := waitFor(10*time.Second, func() error {
		if nd.ns.Exited() {
			return fmt.Errorf("exited: %s", nd.ns.ReadLog())
		}
		comm, err := os.ReadFile("/proc/" + pid + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != "sleep" {
			return errors.New("mounts not ready")
		}
		return nil
	}); err != nil {
		t.Fatalf("e2e: pacemaker: mount namespace of %s: %v", h.Name, err)
	}
	nd.mnt = "/proc/" + pid + "/ns/mnt"
	nd.mntID = nsInode(nd.mnt)
	nd.procs = append(nd.procs, h.Start("pcmk-"+h.Name+"-corosync", "nsenter", "--mount="+nd.mnt, "--", "corosync", "-f"))
}

// waitCorosync waits until corosync on h answers corosync-cfgtool and
// fails the test otherwise.
func (p *Pacemaker) waitCorosync(h *Host) {
	p.t.Helper()
	if err := waitFor(20*time.Second, func() error {
		_, err := p.Crm(h, "corosync-cfgtool", "-s")
		return err
	}); err != nil {
		p.t.Fatalf("e2e: pacemaker: corosync on %s: %v", h.Name, err)
	}
}

// startPacemakerd starts pacemakerd on h (logging to the node's
// /var/log/pacemaker/pacemaker.log); it forks the subdaemons, each in
// its own session.
func (p *Pacemaker) startPacemakerd(h *Host) {
	nd := p.nodes[h]
	nd.procs = append(nd.procs, h.Start("pcmk-"+h.Name+"-pacemakerd", "nsenter", "--mount="+nd.mnt, "--",
		"env", "PCMK_logfile=/var/log/pacemaker/pacemaker.log", "PCMK_logfacility=none", "pacemakerd"))
}

// waitFor polls f every 50 ms until it returns nil or limit passes, and
// returns its last error then.
func waitFor(limit time.Duration, f func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %w", limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// running reports whether the host's namespace holder is alive.
func (nd *pcmkNode) running() bool { return nd.ns != nil && !nd.ns.Exited() }

// Node returns the cluster node name of h (n1, ...).
func (p *Pacemaker) Node(h *Host) string { return p.nodes[h].name }

// Crm runs a command (a Pacemaker or Corosync CLI: crm_mon, cibadmin,
// crm_resource, corosync-cmapctl, ...) inside h's network and private
// mount namespaces and returns its stdout; the error carries stderr. It
// returns ErrPacemakerDown if h's namespace is not running.
func (p *Pacemaker) Crm(h *Host, args ...string) (string, error) {
	nd := p.nodes[h]
	if nd == nil {
		return "", fmt.Errorf("e2e: pacemaker: %s is not a node", h.Name)
	}
	if !nd.running() {
		return "", fmt.Errorf("%w: %s", ErrPacemakerDown, h.Name)
	}
	return h.Exec(append([]string{"nsenter", "--mount=" + nd.mnt, "--"}, args...)...)
}

// crmMon is the part of crm_mon --output-as=xml that WaitOnline reads.
type crmMon struct {
	Summary struct {
		DC struct {
			Present bool   `xml:"present,attr"`
			Name    string `xml:"name,attr"`
		} `xml:"current_dc"`
	} `xml:"summary"`
	Nodes []struct {
		Name   string `xml:"name,attr"`
		Online bool   `xml:"online,attr"`
	} `xml:"nodes>node"`
}

// status runs crm_mon on h and parses it.
func (p *Pacemaker) status(h *Host) (*crmMon, error) {
	out, err := p.Crm(h, "crm_mon", "--output-as=xml")
	if err != nil {
		return nil, err
	}
	var m crmMon
	if err := xml.Unmarshal([]byte(out), &m); err != nil {
		return nil, fmt.Errorf("e2e: pacemaker: crm_mon on %s: %w", h.Name, err)
	}
	return &m, nil
}

// DC returns the host of the Designated Controller as crm_mon on h (any
// running node if h is nil) sees it.
func (p *Pacemaker) DC(h *Host) (*Host, error) {
	if h == nil {
		for _, o := range p.Hosts {
			if p.nodes[o].running() {
				h = o
				break
			}
		}
		if h == nil {
			return nil, ErrPacemakerDown
		}
	}
	m, err := p.status(h)
	if err != nil {
		return nil, err
	}
	if !m.Summary.DC.Present {
		return nil, fmt.Errorf("e2e: pacemaker: %s sees no DC", h.Name)
	}
	for _, o := range p.Hosts {
		if p.Node(o) == m.Summary.DC.Name {
			return o, nil
		}
	}
	return nil, fmt.Errorf("e2e: pacemaker: DC %q is not a node", m.Summary.DC.Name)
}

// WaitOnline waits until, as seen from every host of from, a DC is
// elected and every host of want is online; it returns an error naming
// what was still missing after limit.
func (p *Pacemaker) WaitOnline(from, want []*Host, limit time.Duration) error {
	return waitFor(limit, func() error {
		for _, h := range from {
			m, err := p.status(h)
			if err != nil {
				return err
			}
			if !m.Summary.DC.Present {
				return fmt.Errorf("%s sees no DC", h.Name)
			}
			online := map[string]bool{}
			for _, nd := range m.Nodes {
				online[nd.Name] = nd.Online
			}
			for _, w := range want {
				if !online[p.Node(w)] {
					return fmt.Errorf("%s sees %s (%s) offline", h.Name, p.Node(w), w.Name)
				}
			}
		}
		return nil
	})
}

// cib is the seeded cib.xml of every node (without a .sig digest file,
// which pacemaker-based accepts with a warning).
func (p *Pacemaker) cib() string {
	o := p.Opts
	return fmt.Sprintf(`<cib validate-with="pacemaker-3.0" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="cib-bootstrap-options-stonith-enabled" name="stonith-enabled" value="false"/>
        <nvpair id="cib-bootstrap-options-no-quorum-policy" name="no-quorum-policy" value="%[6]s"/>
        <nvpair id="cib-bootstrap-options-dc-deadtime" name="dc-deadtime" value="%[7]ds"/>
        <nvpair id="cib-bootstrap-options-cluster-name" name="cluster-name" value="pl-e2e"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources>
      <primitive id="%[1]s" class="ocf" provider="heartbeat" type="IPaddr2">
        <instance_attributes id="%[1]s-ia">
          <nvpair id="%[1]s-ip" name="ip" value="%[2]s"/>
          <nvpair id="%[1]s-cidr" name="cidr_netmask" value="%[3]d"/>
          <nvpair id="%[1]s-nic" name="nic" value="%[4]s"/>
        </instance_attributes>
        <operations>
          <op id="%[1]s-monitor" name="monitor" interval="%[5]ds" timeout="20s"/>
        </operations>
      </primitive>
    </resources>
    <constraints/>
    <rsc_defaults>
      <meta_attributes id="rsc-options">
        <nvpair id="rsc-options-resource-stickiness" name="resource-stickiness" value="100"/>
      </meta_attributes>
    </rsc_defaults>
  </configuration>
  <status/>
</cib>
`, VIPResource, o.VIP, o.CIDR, hostLink, int(o.MonitorInterval/time.Second), o.NoQuorumPolicy, int(o.DCDeadtime/time.Second))
}

// Holder returns the one host that has the VIP on its link; it is an
// error if none or several do.
func (p *Pacemaker) Holder() (*Host, error) {
	var holders []*Host
	for _, h := range p.Hosts {
		ok, err := Holds(h, p.Opts.VIP)
		if err != nil {
			return nil, err
		}
		if ok {
			holders = append(holders, h)
		}
	}
	switch len(holders) {
	case 1:
		return holders[0], nil
	case 0:
		return nil, fmt.Errorf("e2e: pacemaker: no host holds %s", p.Opts.VIP)
	default:
		var names []string
		for _, h := range holders {
			names = append(names, h.Name)
		}
		return nil, fmt.Errorf("e2e: pacemaker: %s held by %s", p.Opts.VIP, strings.Join(names, ", "))
	}
}

// Kill SIGKILLs every process of h's node (a host whose cluster stack
// dies) and leaves its addresses alone: the process groups started for
// it and any process left in its private mount namespace (pacemakerd's
// subdaemons run in their own sessions, IPaddr2's send_arp is
// daemonized). Crash kills them too. h.KillAgent reaches only the groups
// of the namespace holder, corosync and pacemakerd; the subdaemons then
// exit within milliseconds on losing corosync. Either way nothing removes
// the VIP from h (there is no fencing), so it is held twice until Restart
// lets Pacemaker see and recover the duplicate.
func (p *Pacemaker) Kill(h *Host) {
	nd := p.nodes[h]
	for _, pr := range nd.procs {
		pr.kill()
	}
	if nd.mntID != "" {
		killMountNS(h, nd.mntID)
	}
	for _, pr := range nd.procs {
		pr.wait(5 * time.Second)
	}
	nd.procs = nil
	nd.ns = nil
}

// nsInode returns the namespace link (mnt:[N]) of a /proc/PID/ns/mnt
// path, or "" if the process is gone.
func nsInode(path string) string {
	if path == "" {
		return ""
	}
	l, err := os.Readlink(path)
	if err != nil {
		return ""
	}
	return l
}

// killMountNS SIGKILLs the processes of h's network namespace whose mount
// namespace is ino: the daemons pacemakerd forked (which may have left
// its process group).
func killMountNS(h *Host, ino string) {
	out, _ := exec.Command("ip", "netns", "pids", h.NS).Output()
	for _, f := range strings.Fields(string(out)) {
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 1 || pid == os.Getpid() {
			continue
		}
		if nsInode("/proc/"+f+"/ns/mnt") == ino {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// Restart brings h's node back after a fault (KillAgent, Kill, LinkDown,
// Crash): it sets the link up, and unless all of the node's processes
// still run, kills what is left of them and starts the node afresh (its
// disk, with the CIB, is kept; /run and /dev/shm are new). It then waits
// until the node is online as seen from itself and from every other
// running node, and fails the test otherwise.
func (p *Pacemaker) Restart(h *Host) {
	p.t.Helper()
	nd := p.nodes[h]
	h.LinkUp()
	alive := len(nd.procs) > 0
	for _, pr := range nd.procs {
		alive = alive && !pr.Exited()
	}
	if !alive {
		p.Kill(h)
		p.startNode(h)
	}
	var from []*Host
	for _, o := range p.Hosts {
		if p.nodes[o].running() {
			from = append(from, o)
		}
	}
	if err := p.WaitOnline(from, []*Host{h}, p.Opts.StartTimeout); err != nil {
		p.t.Fatalf("e2e: pacemaker: restart of %s: %v", h.Name, err)
	}
}

// close kills every node's processes and, when the test failed, logs the
// tail of each node's pacemaker.log.
func (p *Pacemaker) close() {
	for _, h := range p.Hosts {
		if nd := p.nodes[h]; nd != nil {
			p.Kill(h)
		}
	}
	if p.t.Failed() {
		for _, h := range p.Hosts {
			nd := p.nodes[h]
			if nd == nil {
				continue
			}
			if b, err := os.ReadFile(filepath.Join(nd.dir, "var-log", "pacemaker", "pacemaker.log")); err == nil {
				p.t.Logf("--- pacemaker.log of %s (%s) ---\n%s", h.Name, nd.name, tail(b, 6000))
			}
		}
	}
}
