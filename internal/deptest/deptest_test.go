// Package deptest checks Paceline's import rules (DESIGN.md, "Layers"): the
// layers import only downwards, the model is plain data, and the scheduler
// is a pure function that cannot reach the disk, the network or other
// processes. It reads the import graph with "go list -deps -json".
package deptest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/paceline/paceline"

// pkg is the part of "go list -json" output the rules need.
type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string // direct imports (not tests)
	Deps       []string // transitive imports
	Error      *struct{ Err string }
}

// loadGraph lists every package of the module and all their dependencies.
func loadGraph(t *testing.T) map[string]*pkg {
	t.Helper()
	// go test puts its own GOROOT/bin first in PATH.
	goBin := "go"
	// -e: report packages that fail to load instead of stopping, so the
	// rules are checked even while a package does not compile.
	cmd := exec.Command(goBin, "list", "-e", "-deps", "-json", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	graph := map[string]*pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		graph[p.ImportPath] = &p
	}
	return graph
}

// own reports whether path is a package of this module.
func own(path string) bool {
	return path == module || strings.HasPrefix(path, module+"/")
}

// under reports whether path is dir or a package below it (dir relative
// to the module, e.g. "internal/sched").
func under(path, dir string) bool {
	full := module + "/" + dir
	return path == full || strings.HasPrefix(path, full+"/")
}

// packagesUnder returns the listed packages at or below dir.
func packagesUnder(graph map[string]*pkg, dir string) []*pkg {
	var ps []*pkg
	for path, p := range graph {
		if under(path, dir) {
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].ImportPath < ps[j].ImportPath })
	return ps
}

// rule is one import rule for the packages at or below Dir.
type rule struct {
	// Dir is the packages' directory relative to the module root.
	Dir string
	// Why is the design reason, quoted in failure messages.
	Why string
	// OwnAllowed lists the directories of this module the packages may
	// depend on, directly or not (their own subtree is always allowed).
	OwnAllowed []string
	// OwnForbidden lists directories inside OwnAllowed that are still
	// off limits (checked first).
	OwnForbidden []string
	// ThirdPartyAllowed lists the module path prefixes of non-standard,
	// non-module packages the packages may depend on (nil: none).
	ThirdPartyAllowed []string
	// StdForbidden lists standard packages the packages must not import
	// directly (checked on direct imports only: fmt itself imports os).
	StdForbidden []string
}

// raftDeps are hashicorp/raft, raft-boltdb and their own dependencies:
// allowed in consensus and, through it, in the layers above.
var raftDeps = []string{"github.com/hashicorp/raft", "github.com/hashicorp/raft-boltdb/v2",
	"github.com/hashicorp/go-hclog", "github.com/hashicorp/go-metrics", "github.com/armon/go-metrics",
	"github.com/hashicorp/go-msgpack", "github.com/hashicorp/go-immutable-radix", "github.com/hashicorp/golang-lru",
	"github.com/boltdb/bolt", "go.etcd.io/bbolt", "github.com/fatih/color", "github.com/mattn/go-colorable",
	"github.com/mattn/go-isatty", "golang.org/x/sys"}

// netDeps are the builtin vip and ping agents' netlink, ARP, NDP and ICMP
// libraries and their own dependencies: allowed in internal/agents and,
// through builtin, in the layers that wire it.
var netDeps = []string{"github.com/vishvananda/netlink", "github.com/vishvananda/netns",
	"github.com/mdlayher/arp", "github.com/mdlayher/ndp", "github.com/mdlayher/ethernet",
	"github.com/mdlayher/packet", "github.com/mdlayher/socket", "github.com/josharian/native",
	"golang.org/x/net", "golang.org/x/sys", "golang.org/x/sync", "golang.org/x/text"}

// promDeps are prometheus/client_golang and its own dependencies: allowed
// in internal/metrics (the only package that imports them) and, through
// it, in the API server that serves /metrics and the wiring above.
var promDeps = []string{"github.com/prometheus/client_golang", "github.com/prometheus/client_model",
	"github.com/prometheus/common", "github.com/prometheus/procfs", "github.com/beorn7/perks",
	"github.com/cespare/xxhash/v2", "github.com/munnerz/goautoneg", "google.golang.org/protobuf",
	"golang.org/x/sys"}

// cobraDeps are the CLI's command tree and, for the hidden gen-docs
// command the package build runs, cobra's man page generator.
var cobraDeps = []string{"github.com/spf13/cobra", "github.com/spf13/pflag", "github.com/inconshreveable/mousetrap",
	"github.com/cpuguy83/go-md2man/v2", "github.com/russross/blackfriday/v2"}

// libvirtDeps are builtin vm's libvirt RPC client (pure Go, no cgo) and
// what it imports (its ssh dialer needs golang.org/x/crypto): allowed in
// internal/agents and, through builtin, in the layers that wire it.
var libvirtDeps = []string{"github.com/digitalocean/go-libvirt", "golang.org/x/crypto"}

var rules = []rule{
	{
		Dir: "internal/model",
		Why: "the model is plain data: it imports only the standard library",
	},
	{
		Dir:        "internal/sched",
		Why:        "the scheduler is a pure function of (config, status, now): no disk, network or processes, and only the model below it",
		OwnAllowed: []string{"internal/model"},
		StdForbidden: []string{"os", "os/exec", "os/signal", "net", "net/http", "net/rpc",
			"syscall", "io/ioutil", "plugin", "unsafe"},
	},
	{
		Dir: "internal/plan",
		Why: "the plan turns the scheduler's decision into executable actions: pure like the scheduler, " +
			"the scheduler and the model only",
		OwnAllowed: []string{"internal/sched", "internal/model"},
		StdForbidden: []string{"os", "os/exec", "os/signal", "net", "net/http", "net/rpc",
			"syscall", "io/ioutil", "plugin", "unsafe"},
	},
	{
		Dir: "internal/vmha",
		Why: "VM high availability is translated into the scheduler's input: pure like the scheduler, " +
			"the scheduler (for its view of the current state) and the model only",
		OwnAllowed: []string{"internal/sched", "internal/model"},
		StdForbidden: []string{"os", "os/exec", "os/signal", "net", "net/http", "net/rpc",
			"syscall", "io/ioutil", "plugin", "unsafe"},
	},
	{
		Dir:        "internal/cib",
		Why:        "the CIB importer turns XML into the model: the standard library and the model only",
		OwnAllowed: []string{"internal/model"},
	},
	{
		Dir: "internal/clock",
		Why: "the clock is a leaf: the standard library only",
	},
	{
		Dir: "internal/agents",
		Why: "agent classes run one operation for the executor: the standard library and the model, " +
			"never the executor, the store or the scheduler above them; builtin's vip and ping agents need " +
			"netlink (addresses, routes), raw ARP/NDP announcements and ICMP echo, its vm agent libvirt's RPC",
		OwnAllowed:        []string{"internal/model"},
		ThirdPartyAllowed: append(append([]string{}, netDeps...), libvirtDeps...),
	},
	{
		Dir: "internal/agentcatalog",
		Why: "the agent catalogue lists installed agents and runs their meta-data action through the class runners " +
			"it is given: the agent values and the model, nothing above them",
		OwnAllowed:   []string{"internal/model", "internal/agents"},
		OwnForbidden: []string{"internal/agents/ocf", "internal/agents/builtin"},
	},
	{
		Dir: "internal/executor",
		Why: "the executor runs operations through the agent interface it declares: it knows the agent values, " +
			"the model and the clock, not the classes (the daemon wires them) nor anything above it",
		OwnAllowed:   []string{"internal/model", "internal/agents", "internal/clock"},
		OwnForbidden: []string{"internal/agents/ocf", "internal/agents/builtin", "internal/agents/systemd"},
	},
	{
		Dir:        "internal/store",
		Why:        "the replicated state machine is deterministic: the standard library and the model only, no disk, network, processes or clock",
		OwnAllowed: []string{"internal/model"},
		StdForbidden: []string{"os", "os/exec", "os/signal", "net", "net/http", "net/rpc",
			"syscall", "io/ioutil", "plugin", "unsafe", "time", "math/rand", "math/rand/v2", "crypto/rand"},
	},
	{
		Dir:               "internal/consensus",
		Why:               "consensus is the only package that knows hashicorp/raft; it wraps the store and nothing above it",
		OwnAllowed:        []string{"internal/model", "internal/store"},
		ThirdPartyAllowed: raftDeps,
	},
	{
		Dir:        "internal/membership",
		Why:        "membership is lease and quorum bookkeeping with the time as an input: the model and the clock only",
		OwnAllowed: []string{"internal/model", "internal/clock"},
	},
	{
		Dir: "internal/controller",
		Why: "the controller plans with the scheduler, reads and writes the store through consensus, and reaches " +
			"node executors only through the Dispatcher it declares",
		OwnAllowed: []string{"internal/sched", "internal/plan", "internal/store", "internal/consensus", "internal/model",
			"internal/membership", "internal/clock", "internal/vmha"},
		// through consensus
		ThirdPartyAllowed: raftDeps,
	},
	{
		Dir: "internal/peer",
		Why: "the node-to-node RPC carries the controller's wire types (renewals, results, ops) and proposals " +
			"over mutual TLS; the node runtime uses it, so it never reaches the wiring package, the API or the CLI",
		OwnAllowed: []string{"internal/controller", "internal/consensus", "internal/store", "internal/model",
			"internal/pki", "internal/sched", "internal/plan", "internal/membership", "internal/clock", "internal/vmha"},
		ThirdPartyAllowed: raftDeps,
	},
	{
		Dir: "internal/node",
		Why: "the node runtime (leases, self-fencing, the executor's results, the controller while leading, the drain) " +
			"is one implementation for the daemon and the test cluster: it reaches other nodes through the peer " +
			"RPC, never the wiring package, the API or the CLI, and runs agents only through the executor",
		OwnAllowed: []string{"internal/peer", "internal/controller", "internal/executor", "internal/agents",
			"internal/consensus", "internal/store", "internal/model", "internal/pki", "internal/sched", "internal/plan",
			"internal/membership", "internal/clock", "internal/fence", "internal/vmha"},
		OwnForbidden:      []string{"internal/agents/ocf", "internal/agents/builtin", "internal/agents/systemd"},
		ThirdPartyAllowed: raftDeps,
	},
	{
		Dir: "internal/fence",
		Why: "the fence layer decides (pure topology) and runs fence agents through the stonith class: the model, " +
			"the agent values and classes and the clock; never the controller, the daemon, the store or the network above it",
		OwnAllowed:        []string{"internal/model", "internal/agents", "internal/clock"},
		OwnForbidden:      []string{"internal/agents/builtin"},
		ThirdPartyAllowed: []string{},
		StdForbidden:      []string{"net", "net/http", "net/rpc"},
	},
	{
		Dir:               "internal/testcluster",
		Why:               "the in-process test cluster wires every internal layer together",
		OwnAllowed:        []string{"internal"},
		ThirdPartyAllowed: append(append(append([]string{}, raftDeps...), netDeps...), libvirtDeps...),
	},
	{
		Dir: "internal/watchdog",
		Why: "the watchdog (device, simulator, lease-gated feeder) is a leaf under the fence layer: " +
			"the standard library, the clock and golang.org/x/sys for the kernel's watchdog ioctls",
		OwnAllowed:        []string{"internal/clock"},
		ThirdPartyAllowed: []string{"golang.org/x/sys"},
	},
	{
		Dir: "internal/compat",
		Why: "the Pacemaker helper commands (crm_node, crm_attribute, ...) and their local endpoint are a leaf: " +
			"the standard library only; the daemon implements the endpoint's Handler over the store",
	},
	{
		Dir: "internal/pki",
		Why: "the security material (CA, certificates, tokens, TLS configs) is a leaf: the standard library only",
	},
	{
		Dir: "api",
		Why: "the public client and wire types: the standard library, the model (aliased, so the config " +
			"YAML/JSON schema is the model's) and the YAML codec; nothing that runs the cluster",
		OwnAllowed:        []string{"internal/model"},
		ThirdPartyAllowed: []string{"go.yaml.in/yaml/v3"},
	},
	{
		Dir: "internal/httpapi",
		Why: "the API server speaks the api/ wire types, reads and proposes through the small Backend interface " +
			"it declares (store commands as values), authenticates with pki and asks the pure scheduler for its " +
			"view of the current state (status); it never reaches consensus, the controller or the executor",
		OwnAllowed: []string{"api", "internal/model", "internal/pki", "internal/store", "internal/sched", "internal/metrics", "internal/webui", "internal/events", "internal/vmha",
			// fence devices and levels are checked with the fence layer's
			// pure parsers (ParseDevice, TopologyFromConfig), which come
			// with the package's imports
			"internal/fence", "internal/agents", "internal/clock"},
		ThirdPartyAllowed: append([]string{"go.yaml.in/yaml/v3"}, promDeps...),
	},
	{
		Dir: "internal/webui",
		Why: "the web UI is a client of the API served in process: it reads and acts only through api/ (with " +
			"the model it carries) and knows the token roles from pki; never the store, the scheduler or anything below",
		OwnAllowed:        []string{"api", "internal/model", "internal/pki"},
		ThirdPartyAllowed: []string{"go.yaml.in/yaml/v3"},
	},
	{
		Dir: "internal/events",
		Why: "the event recorder compares views of the replicated state (a pure Tracker) and appends events " +
			"through the functions it is given: the wire types of status, the store's commands and the model; " +
			"no network, processes, consensus or controller",
		OwnAllowed:        []string{"api", "internal/store", "internal/model"},
		ThirdPartyAllowed: []string{"go.yaml.in/yaml/v3"}, // through api
		StdForbidden:      []string{"os/exec", "net", "net/http", "net/rpc", "syscall", "plugin", "unsafe"},
	},
	{
		Dir: "internal/alerts",
		Why: "alert delivery (webhooks, e-mail, Pacemaker alert agents) reads committed events and alerts " +
			"through the functions it is given and records deliveries as events: the store's types and the " +
			"model; it never reaches consensus, the controller or the API server",
		OwnAllowed:        []string{"api", "internal/events", "internal/store", "internal/model", "internal/version"},
		ThirdPartyAllowed: []string{"go.yaml.in/yaml/v3"}, // through api
	},
	{
		Dir: "internal/version",
		Why: "the version stamp is a leaf: the standard library only",
	},
	{
		Dir: "internal/logfile",
		Why: "the rotated log file is a leaf: the standard library only",
	},
	{
		Dir: "internal/metrics",
		Why: "the metrics registry is a leaf the daemon wires: the only package that imports prometheus/client_golang, " +
			"fed through plain function hooks so the runtime and the executor never import it",
		ThirdPartyAllowed: promDeps,
	},
	{
		Dir: "internal/cli",
		Why: "the CLI reaches the engine directly only for the offline simulate and demo commands; " +
			"the cluster commands go through the API client (api/, with the model and YAML codec it carries); " +
			"version names the binary",
		OwnAllowed:        []string{"api", "internal/model", "internal/cib", "internal/sched", "internal/version"},
		ThirdPartyAllowed: append([]string{"go.yaml.in/yaml/v3"}, cobraDeps...),
	},
	{
		Dir: "internal/daemon",
		Why: "the daemon is the one wiring package: it may build every subsystem, but nothing of the CLI " +
			"or the test cluster",
		OwnAllowed:        []string{"internal", "api"},
		OwnForbidden:      []string{"internal/cli", "internal/testcluster"},
		ThirdPartyAllowed: append(append(append(append([]string{"go.yaml.in/yaml/v3"}, raftDeps...), netDeps...), promDeps...), libvirtDeps...),
	},
	{
		Dir:        "cmd/paceline",
		Why:        "main connects the CLI to the process and hands it the daemon (the one wiring package) for init and agent",
		OwnAllowed: []string{"internal", "api"},
		ThirdPartyAllowed: append(append(append(append(append([]string{"go.yaml.in/yaml/v3"}, cobraDeps...), raftDeps...), netDeps...),
			promDeps...), libvirtDeps...),
	},
}

func TestImportRules(t *testing.T) {
	graph := loadGraph(t)
	for _, r := range rules {
		ps := packagesUnder(graph, r.Dir)
		if len(ps) == 0 {
			t.Logf("no packages under %s yet; rule not checked", r.Dir)
			continue
		}
		for _, p := range ps {
			if p.Error != nil {
				t.Logf("note: %s does not load (%s); checking the imports go list could read", p.ImportPath, p.Error.Err)
			}
			checkRule(t, graph, r, p)
		}
	}
}

// reporter is the part of testing.TB the checker uses.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// recorder collects violations instead of failing a test.
type recorder struct{ errs *[]string }

func (recorder) Helper() {}
func (r recorder) Errorf(format string, args ...any) {
	*r.errs = append(*r.errs, fmt.Sprintf(format, args...))
}

func checkRule(t reporter, graph map[string]*pkg, r rule, p *pkg) {
	t.Helper()
	for _, imp := range p.Imports {
		for _, f := range r.StdForbidden {
			if imp == f {
				t.Errorf("%s imports %q, which is forbidden there: %s", p.ImportPath, imp, r.Why)
			}
		}
	}
	for _, dep := range p.Deps {
		d := graph[dep]
		switch {
		case d != nil && d.Standard:
			continue
		case own(dep):
			if under(dep, r.Dir) || (allowedOwn(dep, r.OwnAllowed) && !allowedOwn(dep, r.OwnForbidden)) {
				continue
			}
			t.Errorf("%s depends on %s (%s), which it may not: %s. Allowed in this module: %s",
				p.ImportPath, dep, importChain(graph, p.ImportPath, dep), r.Why, describe(r.OwnAllowed))
		default:
			if d == nil && !strings.Contains(strings.SplitN(dep, "/", 2)[0], ".") {
				continue // standard library package go list did not describe
			}
			if allowedThirdParty(dep, r.ThirdPartyAllowed) {
				continue
			}
			t.Errorf("%s depends on third-party package %s (%s): %s. Allowed third-party modules: %s",
				p.ImportPath, dep, importChain(graph, p.ImportPath, dep), r.Why, describe(r.ThirdPartyAllowed))
		}
	}
}

func allowedOwn(dep string, dirs []string) bool {
	for _, d := range dirs {
		if under(dep, d) {
			return true
		}
	}
	return false
}

func allowedThirdParty(dep string, prefixes []string) bool {
	for _, p := range prefixes {
		if dep == p || strings.HasPrefix(dep, p+"/") {
			return true
		}
	}
	return false
}

func describe(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

// importChain returns one import path from "from" to "to" ("a -> b -> c"),
// so a failure says where a forbidden dependency came in.
func importChain(graph map[string]*pkg, from, to string) string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var chain []string
			for c := to; c != ""; c = prev[c] {
				chain = append([]string{c}, chain...)
			}
			return "via " + strings.Join(chain, " -> ")
		}
		if p := graph[cur]; p != nil {
			for _, imp := range p.Imports {
				if _, seen := prev[imp]; !seen {
					prev[imp] = cur
					queue = append(queue, imp)
				}
			}
		}
	}
	return "indirectly"
}

// TestRulesCatchViolations checks the checker on a made-up graph, so a
// rule that can never fire is noticed.
func TestRulesCatchViolations(t *testing.T) {
	graph := map[string]*pkg{
		module + "/internal/sched": {ImportPath: module + "/internal/sched",
			Imports: []string{"os", module + "/internal/cib"},
			Deps:    []string{"os", module + "/internal/cib", module + "/internal/model"}},
		module + "/internal/cib":   {ImportPath: module + "/internal/cib", Imports: []string{module + "/internal/model"}, Deps: []string{module + "/internal/model"}},
		module + "/internal/model": {ImportPath: module + "/internal/model"},
		"os":                       {ImportPath: "os", Standard: true},
	}
	var r rule
	for _, x := range rules {
		if x.Dir == "internal/sched" {
			r = x
		}
	}
	var errs []string
	rec := recorder{errs: &errs}
	checkRule(rec, graph, r, graph[module+"/internal/sched"])
	if len(errs) != 2 {
		t.Fatalf("want 2 violations (imports os, depends on cib), got %d: %q", len(errs), errs)
	}
}

// TestExecutorCannotImportClasses checks the executor rule's exception: it
// may use internal/agents but not the agent classes below it.
func TestExecutorCannotImportClasses(t *testing.T) {
	ex, ocf := module+"/internal/executor", module+"/internal/agents/ocf"
	graph := map[string]*pkg{
		ex:                          {ImportPath: ex, Imports: []string{ocf}, Deps: []string{ocf, module + "/internal/agents"}},
		ocf:                         {ImportPath: ocf, Imports: []string{module + "/internal/agents"}, Deps: []string{module + "/internal/agents"}},
		module + "/internal/agents": {ImportPath: module + "/internal/agents"},
	}
	var r rule
	for _, x := range rules {
		if x.Dir == "internal/executor" {
			r = x
		}
	}
	var errs []string
	checkRule(recorder{errs: &errs}, graph, r, graph[ex])
	if len(errs) != 1 {
		t.Fatalf("want 1 violation (depends on agents/ocf), got %d: %q", len(errs), errs)
	}
}

// TestOnlyConsensusImportsRaft checks that hashicorp/raft stays behind the
// consensus package (DESIGN.md, Layers): other packages may depend on it
// through consensus, but none imports it directly.
func TestOnlyConsensusImportsRaft(t *testing.T) {
	graph := loadGraph(t)
	for path, p := range graph {
		if !own(path) || under(path, "internal/consensus") {
			continue
		}
		for _, imp := range p.Imports {
			if allowedThirdParty(imp, []string{"github.com/hashicorp/raft", "github.com/hashicorp/raft-boltdb"}) {
				t.Errorf("%s imports %s: only internal/consensus may know hashicorp/raft", path, imp)
			}
		}
	}
}
