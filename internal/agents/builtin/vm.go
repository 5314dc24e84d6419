package builtin

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	libvirt "github.com/digitalocean/go-libvirt"

	"github.com/paceline/paceline/internal/agents"
	"github.com/paceline/paceline/internal/model"
)

// vm runs one libvirt domain per resource through the host's libvirtd
// (like ocf:heartbeat:VirtualDomain, without virsh or a shell):
//
//   - start defines the domain from the xml file on this host and starts it;
//   - stop asks the guest to shut down, destroys it after shutdown_timeout
//     and undefines it, so a domain is known only to the host running it;
//     a self-fence under vm-ha-strategy Force destroys it at once, and
//     kills its qemu itself when libvirtd does not answer (vm_unknown.go);
//   - monitor reports libvirtd's state: 0 while a qemu process runs the
//     domain (running, paused, blocked, shutting down, suspended), 7 when
//     it is undefined or shut off (with the reason: crashed, destroyed,
//     shutdown ...);
//   - migrate_to (on the source, CRM_meta_migrate_target naming the target
//     node) live-migrates the domain peer to peer to the target's libvirtd
//     (migrate_uri), persistent there and undefined here; only storage=
//     shared domains migrate, and libvirt's unsafe flag is never passed;
//   - migrate_from (on the target) checks that the domain runs here.
//
// The meta-attribute ha-level (NeverStop or None) is read by the
// scheduler, not here. Every process publishes its host's capacity once
// (vmCapacity), and each VM's needs from its XML (vmNeeds).
func (c *Class) vm(ctx context.Context, req *agents.Request) agents.Result {
	var res agents.Result
	if p, err := parseVM(req.Params); err == nil && req.Op == "monitor" {
		var unknown string
		var answered bool
		res, unknown, answered = p.monitor(ctx)
		c.vmUnknown(ctx, req.ResourceID, unknown)
		if !answered {
			// libvirtd does not answer: nothing more to ask it.
			res.ExitReason = strings.Join(strings.Fields(res.ExitReason), " ")
			return res
		}
	} else {
		res = c.vmOp(ctx, req)
	}
	if (req.Op == "monitor" || req.Op == "start") && (res.RC == agents.RCOK || res.RC == agents.RCNotRunning) {
		// libvirtd answered: this host's capacity and the VM's needs, for
		// placement.
		if p, err := parseVM(req.Params); err == nil {
			c.vmCapacity(ctx, &p)
			c.vmNeeds(ctx, req.ResourceID, &p)
		}
	}
	// One line, whatever libvirt's messages hold.
	res.ExitReason = strings.Join(strings.Fields(res.ExitReason), " ")
	return res
}

func (c *Class) vmOp(ctx context.Context, req *agents.Request) agents.Result {
	switch req.Op {
	case "meta-data":
		return agents.Result{RC: agents.RCOK, Status: agents.StatusDone, Output: vmMetadata}
	case "start", "stop", "monitor", "migrate_to", "migrate_from", "validate-all":
	default:
		return agents.Result{RC: agents.RCUnimplemented, Status: agents.StatusNotSupported, ExitReason: "vm has no action " + req.Op}
	}
	p, err := parseVM(req.Params)
	if err != nil {
		return rc(agents.RCNotConfigured, "%v", err)
	}
	if req.Op == "start" || req.Op == "validate-all" {
		if lvl, ok := req.Meta[vmHALevelMeta]; ok && !slices.Contains(vmHALevels, lvl) {
			return rc(agents.RCNotConfigured, "meta %s %q of domain %s is not %s", vmHALevelMeta, lvl, p.domain, strings.Join(vmHALevels, " or "))
		}
	}
	switch req.Op {
	case "validate-all":
		if _, res := p.readXML(); res != nil {
			return *res
		}
		return ok()
	case "start":
		return p.start(ctx)
	case "stop":
		destroy := req.Meta[model.MetaVMDestroy] == "true"
		if destroy {
			p.shutdownTimeout = 0 // a self-fence: no time for a graceful shutdown
		}
		return p.stop(ctx, destroy)
	case "monitor":
		res, _, _ := p.monitor(ctx)
		return res
	case "migrate_to":
		return p.migrateTo(ctx, req.Meta["migrate_target"])
	}
	return p.migrateFrom(ctx)
}

// vmHALevelMeta is the meta-attribute naming a VM's HA level, one of
// vmHALevels (the scheduler acts on it; the agent only checks it).
const vmHALevelMeta = "ha-level"

var vmHALevels = []string{"NeverStop", "None"}

// Storage kinds of the storage parameter.
const (
	vmStorageShared = "shared"
	vmStorageLocal  = "local"
)

// vmParams is a parsed set of vm parameters.
type vmParams struct {
	domain          string
	xmlPath         string
	storage         string
	uri             *url.URL
	migrateURI      string // template: %n is the target node
	shutdownTimeout time.Duration
}

// domainNamePattern is what builtin:vm accepts as a domain name (libvirt
// accepts more; these are the names that are safe in any log or file).
var domainNamePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}$`)

// nodeNamePattern is what a target node name may look like to be put in a
// migration uri (a host name or an address, nothing that changes the uri).
var nodeNamePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.:-]*$`)

// parseVM checks the parameters; every problem is reported at once.
func parseVM(params map[string]string) (vmParams, error) {
	p := vmParams{
		domain:          params["domain"],
		xmlPath:         params["xml"],
		storage:         params["storage"],
		migrateURI:      params["migrate_uri"],
		shutdownTimeout: 30 * time.Second,
	}
	var errs []error
	switch {
	case p.domain == "":
		errs = append(errs, errors.New("parameter domain is required"))
	case !domainNamePattern.MatchString(p.domain):
		errs = append(errs, fmt.Errorf("domain %q is not a valid domain name", p.domain))
	}
	if p.xmlPath != "" && !strings.HasPrefix(p.xmlPath, "/") {
		errs = append(errs, fmt.Errorf("xml %q is not an absolute path", p.xmlPath))
	}
	switch p.storage {
	case "":
		p.storage = vmStorageLocal
	case vmStorageShared, vmStorageLocal:
	default:
		errs = append(errs, fmt.Errorf("storage %q is not shared or local", p.storage))
	}
	raw := params["uri"]
	if raw == "" {
		raw = "qemu:///system"
	}
	if u, err := url.Parse(raw); err != nil {
		errs = append(errs, fmt.Errorf("uri %q: %v", raw, err))
	} else if _, _, err := libvirtEndpoint(u); err != nil {
		errs = append(errs, err)
	} else {
		p.uri = u
	}
	if p.migrateURI == "" {
		p.migrateURI = "qemu+tcp://%n/system"
		if p.uri != nil && p.uri.Scheme == "qemu+tcp" && p.uri.Port() != "" {
			p.migrateURI = "qemu+tcp://%n:" + p.uri.Port() + p.uri.Path
		}
	} else if !strings.Contains(p.migrateURI, "%n") {
		errs = append(errs, fmt.Errorf("migrate_uri %q does not contain %%n (the target node)", p.migrateURI))
	}
	if s := params["shutdown_timeout"]; s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			d, err = time.ParseDuration(s + "s")
		}
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("shutdown_timeout %q is not a duration", s))
		}
		p.shutdownTimeout = d
	}
	return p, errors.Join(errs...)
}

// domainXML is the part of a domain definition the agent checks.
type domainXML struct {
	XMLName xml.Name `xml:"domain"`
	Type    string   `xml:"type,attr"`
	Name    string   `xml:"name"`
	UUID    string   `xml:"uuid"`
	VCPU    string   `xml:"vcpu"`
	Memory  struct {
		Unit  string `xml:"unit,attr"`
		Value string `xml:",chardata"`
	} `xml:"memory"`
}

// readXML reads and checks the domain definition. A missing or unreadable
// file is RCNotInstalled (this host lacks it; another may have it); a
// definition that is not a domain, or names another domain, is
// RCNotConfigured.
func (p *vmParams) readXML() (string, *agents.Result) {
	def, _, res := p.parseXML()
	return def, res
}

// parseXML is readXML that also returns the parsed definition.
func (p *vmParams) parseXML() (string, *domainXML, *agents.Result) {
	fail := func(code agents.RC, format string, args ...any) (string, *domainXML, *agents.Result) {
		r := rc(code, format, args...)
		return "", nil, &r
	}
	if p.xmlPath == "" {
		return fail(agents.RCNotConfigured, "parameter xml is required to start domain %s", p.domain)
	}
	b, err := os.ReadFile(p.xmlPath)
	if errors.Is(err, fs.ErrNotExist) {
		return fail(agents.RCNotInstalled, "xml file %s of domain %s does not exist", p.xmlPath, p.domain)
	}
	if err != nil {
		return fail(agents.RCNotInstalled, "xml file of domain %s: %v", p.domain, err)
	}
	var d domainXML
	if err := xml.Unmarshal(b, &d); err != nil {
		return fail(agents.RCNotConfigured, "xml file %s is not a libvirt domain definition: %v", p.xmlPath, err)
	}
	if d.Type == "" {
		return fail(agents.RCNotConfigured, "xml file %s: <domain> has no type attribute", p.xmlPath)
	}
	if strings.TrimSpace(d.Name) != p.domain {
		return fail(agents.RCNotConfigured, "xml file %s defines domain %q, not %q (parameter domain)", p.xmlPath, strings.TrimSpace(d.Name), p.domain)
	}
	return string(b), &d, nil
}

// connect opens the session or returns the failure as a result.
func (p *vmParams) connect(ctx context.Context) (*vmSession, *agents.Result) {
	s, err := dialVM(ctx, ctx, p.uri)
	if err != nil {
		r := rc(agents.RCUnknownError, "domain %s: %v", p.domain, err)
		return nil, &r
	}
	return s, nil
}

// open connects and looks the domain up: the session (closed by the
// caller), the domain and its state, or the failure as a result.
func (p *vmParams) open(ctx context.Context) (*vmSession, libvirt.Domain, domainState, *agents.Result) {
	s, dom, st, err := p.session(ctx, 0)
	if err != nil {
		r := rc(agents.RCUnknownError, "%v", err)
		return nil, libvirt.Domain{}, domainState{}, &r
	}
	return s, dom, st, nil
}

// session is open with the failure as an error: one wrapping
// ErrVMUnreachable when libvirtd cannot be reached, or did not answer
// within answer (0: until ctx ends). The session lives until ctx ends.
func (p *vmParams) session(ctx context.Context, answer time.Duration) (*vmSession, libvirt.Domain, domainState, error) {
	hctx, cancel := ctx, context.CancelFunc(func() {})
	if answer > 0 {
		hctx, cancel = context.WithTimeout(ctx, answer)
	}
	defer cancel()
	s, err := dialVM(ctx, hctx, p.uri)
	if err != nil {
		return nil, libvirt.Domain{}, domainState{}, fmt.Errorf("domain %s: %w", p.domain, err)
	}
	// The look-up too ends with hctx.
	quiet := context.AfterFunc(hctx, func() { s.conn.Close() })
	dom, st, err := s.lookup(p.domain)
	quiet()
	if err != nil {
		s.close()
		if hctx.Err() != nil {
			err = fmt.Errorf("domain %s: %w at %s: no answer (%v)", p.domain, ErrVMUnreachable, s.uri, context.Cause(hctx))
		}
		return nil, libvirt.Domain{}, domainState{}, err
	}
	return s, dom, st, nil
}

func (p *vmParams) start(ctx context.Context) agents.Result {
	def, res := p.readXML()
	if res != nil {
		return *res
	}
	s, _, st, res := p.open(ctx)
	if res != nil {
		return *res
	}
	defer s.close()
	if st.active() {
		return ok()
	}
	dom, err := s.lv.DomainDefineXML(def)
	if err != nil {
		return rc(agents.RCUnknownError, "define domain %s on %s from %s: %v", p.domain, s.uri, p.xmlPath, err)
	}
	if err := s.lv.DomainCreate(dom); err != nil {
		// Leave the host as it was: a domain is defined only where it runs.
		s.lv.DomainUndefineFlags(dom, 0)
		return rc(agents.RCUnknownError, "start domain %s on %s: %v", p.domain, s.uri, err)
	}
	st, err = s.waitState(ctx, p.domain, func(st domainState) bool { return st.active() || st.state == libvirt.DomainShutoff })
	if err != nil {
		return rc(agents.RCUnknownError, "domain %s after start: %v", p.domain, err)
	}
	if !st.active() {
		return rc(agents.RCUnknownError, "domain %s is %s right after start", p.domain, st)
	}
	return ok()
}

// stopMargin is the part of stop's timeout kept for destroy and undefine
// after a graceful shutdown that did not finish.
const stopMargin = 3 * time.Second

// stop stops the domain; destroy (a self-fence under Force) skips the
// graceful shutdown, and kills the domain's qemu itself when libvirtd
// does not answer.
func (p *vmParams) stop(ctx context.Context, destroy bool) agents.Result {
	s, dom, st, err := p.answering(ctx)
	if errors.Is(err, ErrVMUnreachable) {
		if pid, known := p.qemuPID(); known && pid == 0 {
			// Nothing runs the domain here: stopped (libvirtd keeps its
			// definition until it is back; a start redefines it).
			r := ok()
			r.Output = fmt.Sprintf("%v; no qemu process runs domain %s here: stopped", err, p.domain)
			return r
		} else if pid != 0 && destroy {
			return p.killQemu(err, pid)
		} else if pid != 0 {
			return rc(agents.RCUnknownError, "%v; its qemu (pid %d) still runs here: cannot stop it", err, pid)
		}
	}
	if err != nil {
		return rc(agents.RCUnknownError, "%v", err)
	}
	defer s.close()
	if !st.defined {
		return ok()
	}
	var note string
	if st.active() {
		grace := p.shutdownTimeout
		if dl, ok := ctx.Deadline(); ok && time.Until(dl)-stopMargin < grace {
			grace = max(time.Until(dl)-stopMargin, 0)
		}
		if grace > 0 {
			st = p.shutdown(ctx, s, dom, grace, st)
		}
		if st.active() {
			note = fmt.Sprintf("domain %s did not shut down within %s; destroyed", p.domain, grace)
			if err := s.lv.DomainDestroy(dom); err != nil && libvirtCode(err) != int(libvirt.ErrOperationInvalid) && !libvirt.IsNotFound(err) {
				return rc(agents.RCUnknownError, "destroy domain %s on %s: %v", p.domain, s.uri, err)
			}
			var err error
			if st, err = s.waitState(ctx, p.domain, func(st domainState) bool { return !st.active() }); err != nil {
				return rc(agents.RCUnknownError, "domain %s after destroy: %v", p.domain, err)
			}
		}
	}
	if st.defined {
		if err := s.lv.DomainUndefineFlags(dom, 0); err != nil && !libvirt.IsNotFound(err) {
			return rc(agents.RCUnknownError, "undefine domain %s on %s: %v", p.domain, s.uri, err)
		}
	}
	r := ok()
	r.Output = note
	return r
}

// shutdownRepeat is how often stop presses the guest's power button
// again while it waits: a guest still booting may miss the first press.
const shutdownRepeat = 5 * time.Second

// shutdown asks the guest to shut down (ACPI power button, again every
// shutdownRepeat) and waits up to grace for it to stop; it returns the
// last state seen.
func (p *vmParams) shutdown(ctx context.Context, s *vmSession, dom libvirt.Domain, grace time.Duration, st domainState) domainState {
	gctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	for gctx.Err() == nil {
		if err := s.lv.DomainShutdown(dom); err != nil {
			return st
		}
		rctx, rcancel := context.WithTimeout(gctx, shutdownRepeat)
		st, _ = s.waitState(rctx, p.domain, func(st domainState) bool { return !st.active() })
		rcancel()
		if !st.active() {
			break
		}
	}
	return st
}

// monitor reports libvirtd's state of the domain. When libvirtd does not
// answer (answered false), the domain's qemu process says what it can
// (vmParams.qemuPID): none runs it here, so it is not running (7); one
// still runs it, so it runs although libvirtd cannot say how: 0, with
// unknown saying why its state is unknown (never "not running", which
// would get the VM started a second time elsewhere, nor a failure, whose
// recovery would stop it). Without a local qemu to look at (a remote
// uri) the failure stands.
func (p *vmParams) monitor(ctx context.Context) (res agents.Result, unknown string, answered bool) {
	s, _, st, err := p.answering(ctx)
	if errors.Is(err, ErrVMUnreachable) {
		switch pid, known := p.qemuPID(); {
		case pid != 0:
			r := ok()
			unknown = fmt.Sprintf("%v; its qemu (pid %d) still runs", err, pid)
			r.Output = unknown
			return r, unknown, false
		case known:
			return rc(agents.RCNotRunning, "%v; no qemu process runs domain %s here", err, p.domain), "", false
		}
		return rc(agents.RCUnknownError, "%v", err), "", false
	}
	if err != nil {
		return rc(agents.RCUnknownError, "%v", err), "", true
	}
	defer s.close()
	if !st.active() {
		return rc(agents.RCNotRunning, "domain %s is %s on %s", p.domain, st, s.uri), "", true
	}
	r := ok()
	r.Output = fmt.Sprintf("domain %s is %s on %s", p.domain, st, s.uri)
	return r, "", true
}

// migrateFlags are the flags of every live migration: live, peer to peer
// between the libvirtds, the definition moved with the domain and the
// migration aborted on an I/O error. Never libvirt.MigrateUnsafe.
const migrateFlags = libvirt.MigrateLive | libvirt.MigratePeer2peer | libvirt.MigratePersistDest |
	libvirt.MigrateUndefineSource | libvirt.MigrateAbortOnError

func (p *vmParams) migrateTo(ctx context.Context, target string) agents.Result {
	if p.storage != vmStorageShared {
		return rc(agents.RCUnknownError, "domain %s has storage=%s: live migration needs shared storage; it keeps running here", p.domain, p.storage)
	}
	if target == "" {
		return rc(agents.RCNotConfigured, "migrate_to of domain %s without a target node (CRM_meta_migrate_target)", p.domain)
	}
	if !nodeNamePattern.MatchString(target) {
		return rc(agents.RCNotConfigured, "migration target %q of domain %s is not a node name", target, p.domain)
	}
	dest := strings.ReplaceAll(p.migrateURI, "%n", target)
	if u, err := url.Parse(dest); err != nil || u.Host == "" {
		return rc(agents.RCNotConfigured, "migration uri %q of domain %s (migrate_uri) names no host", dest, p.domain)
	}
	s, dom, st, res := p.open(ctx)
	if res != nil {
		return *res
	}
	defer s.close()
	if !st.active() {
		return rc(agents.RCUnknownError, "domain %s is %s on %s, nothing to migrate", p.domain, st, s.uri)
	}
	// The operation's timeout aborts the migration job; libvirt then
	// resumes the domain here (it never runs on both hosts).
	s.setOnCancel(func() { s.lv.DomainAbortJob(dom) })
	if _, err := s.lv.DomainMigratePerform3Params(dom, libvirt.OptString{dest}, nil, nil, migrateFlags); err != nil {
		if ctx.Err() != nil {
			return rc(agents.RCUnknownError, "migration of domain %s to %s aborted: %v", p.domain, target, context.Cause(ctx))
		}
		return rc(agents.RCUnknownError, "migrate domain %s to %s (%s): %v", p.domain, target, dest, err)
	}
	return ok()
}

func (p *vmParams) migrateFrom(ctx context.Context) agents.Result {
	s, _, st, res := p.open(ctx)
	if res != nil {
		return *res
	}
	defer s.close()
	if !st.active() {
		return rc(agents.RCUnknownError, "domain %s is %s on %s after its migration", p.domain, st, s.uri)
	}
	return ok()
}

const vmMetadata = `<?xml version="1.0"?>
<resource-agent name="vm" version="1.0">
<version>1.1</version>
<shortdesc lang="en">A libvirt domain (virtual machine)</shortdesc>
<longdesc lang="en">Runs one libvirt domain through the host's libvirtd (RPC, no virsh): start defines it from the xml file and starts it, stop shuts it down (destroyed after shutdown_timeout) and undefines it, monitor reports libvirtd's state (7 when shut off or crashed), migrate_to/migrate_from live-migrate it peer to peer (shared storage only). The meta-attribute ha-level (NeverStop or None) sets what the cluster does when the domain stops on its own.</longdesc>
<parameters>
<parameter name="domain" required="1" unique="1"><shortdesc lang="en">Domain name, as in the xml file</shortdesc><content type="string"/></parameter>
<parameter name="xml" required="1"><shortdesc lang="en">Absolute path of the domain XML file, defined on the host that starts the domain</shortdesc><content type="string"/></parameter>
<parameter name="storage"><shortdesc lang="en">shared (the disks are on storage every host sees: live migration and restart elsewhere) or local</shortdesc><content type="string" default="local"/></parameter>
<parameter name="uri"><shortdesc lang="en">libvirt uri of this host's libvirtd: qemu:///system, qemu+unix:///system?socket=PATH or qemu+tcp://HOST[:PORT]/system</shortdesc><content type="string" default="qemu:///system"/></parameter>
<parameter name="migrate_uri"><shortdesc lang="en">libvirt uri of the migration target's libvirtd, %n standing for the target node</shortdesc><content type="string" default="qemu+tcp://%n/system"/></parameter>
<parameter name="shutdown_timeout"><shortdesc lang="en">How long stop waits for the guest to shut down before destroying it</shortdesc><content type="string" default="30s"/></parameter>
</parameters>
<actions>
<action name="start" timeout="60s"/><action name="stop" timeout="60s"/>
<action name="monitor" timeout="20s" interval="10s" depth="0"/>
<action name="migrate_to" timeout="120s"/><action name="migrate_from" timeout="30s"/>
<action name="meta-data" timeout="5s"/><action name="validate-all" timeout="20s"/>
</actions>
</resource-agent>
`
