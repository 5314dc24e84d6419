package compat

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

// memHandler is a Handler with real behaviour over maps: a cluster of
// members n1..n3 (n3 offline) seen from n1.
type memHandler struct {
	mu    sync.Mutex
	attrs map[Scope]map[string]map[string]string // scope -> node ("" for crm_config) -> name -> value
	// deny refuses writes in these scopes with ErrPermission, as the
	// daemon refuses cluster options.
	deny map[Scope]bool
}

func newMem() *memHandler {
	return &memHandler{attrs: map[Scope]map[string]map[string]string{}}
}

var members = []Member{{1, "n1", true}, {2, "n2", true}, {3, "n3", false}}

func (h *memHandler) Info(context.Context) (Info, error) {
	return Info{Local: "n1", Members: members, Quorum: true}, nil
}

// checkWrite is check for a write.
func (h *memHandler) checkWrite(scope Scope, node string) error {
	if h.deny[scope] {
		return fmt.Errorf("%w: local caller has role operator; %s needs admin", ErrPermission, scope)
	}
	return h.check(scope, node)
}

func (h *memHandler) check(scope Scope, node string) error {
	if scope == ScopeConfig {
		return nil
	}
	for _, m := range members {
		if m.Name == node {
			return nil
		}
	}
	return ErrNoNode
}

func (h *memHandler) Get(_ context.Context, scope Scope, node, name string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.check(scope, node); err != nil {
		return "", err
	}
	v, ok := h.attrs[scope][node][name]
	if !ok {
		return "", ErrNotFound
	}
	return v, nil
}

func (h *memHandler) Set(_ context.Context, scope Scope, node, name, value string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.checkWrite(scope, node); err != nil {
		return err
	}
	if h.attrs[scope] == nil {
		h.attrs[scope] = map[string]map[string]string{}
	}
	if h.attrs[scope][node] == nil {
		h.attrs[scope][node] = map[string]string{}
	}
	h.attrs[scope][node][name] = value
	return nil
}

func (h *memHandler) Delete(_ context.Context, scope Scope, node, name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.checkWrite(scope, node); err != nil {
		return err
	}
	delete(h.attrs[scope][node], name)
	return nil
}

// dump lists every attribute as "scope/node/name=value", sorted.
func (h *memHandler) dump() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for s, nodes := range h.attrs {
		for n, kv := range nodes {
			for k, v := range kv {
				out = append(out, string(s)+"/"+n+"/"+k+"="+v)
			}
		}
	}
	sort.Strings(out)
	return out
}

// serve runs the endpoint over h on a socket in a temporary directory.
func serve(t *testing.T, h Handler) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pl-compat-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "compat.sock")
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Serve(ctx, ln, h, t.Logf); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return sock
}

type result struct {
	code          int
	stdout, stder string
}

func runTool(sock string, env map[string]string, tool string, args ...string) result {
	var out, errb bytes.Buffer
	code := Main(tool, args, Env{
		Getenv: func(k string) string {
			if k == "PACELINE_COMPAT_SOCKET" {
				return sock
			}
			return env[k]
		},
		Out: &out, Err: &errb,
	})
	return result{code, out.String(), errb.String()}
}

// Each step runs one command against the same store; the store's content
// after the step is checked where given.
func TestTools(t *testing.T) {
	h := newMem()
	sock := serve(t, h)
	rsc := map[string]string{"OCF_RESOURCE_INSTANCE": "db:1"}
	steps := []struct {
		name  string
		env   map[string]string
		tool  string
		args  []string
		code  int
		out   string
		err   string   // substring of stderr
		store []string // nil: not checked
	}{
		{name: "crm_node -n names the local node", tool: "crm_node", args: []string{"-n"}, out: "n1\n"},
		{name: "crm_node -l lists members", tool: "crm_node", args: []string{"--list"}, out: "1 n1 member\n2 n2 member\n3 n3 lost\n"},
		{name: "crm_node -p lists the partition", tool: "crm_node", args: []string{"-p"}, out: "n1 n2\n"},
		{name: "crm_node -q reports quorum", tool: "crm_node", args: []string{"-q"}, out: "1\n"},
		{name: "crm_node -i is the local id", tool: "crm_node", args: []string{"-i"}, out: "1\n"},
		{name: "crm_node -N maps an id", tool: "crm_node", args: []string{"-N", "2"}, out: "n2\n"},
		{name: "crm_node without a command", tool: "crm_node", code: ExitUsage, err: "crm_node: a command is required"},
		{name: "crm_node unknown option", tool: "crm_node", args: []string{"-x"}, code: ExitUsage, err: "crm_node: unknown option -x"},

		{name: "missing attribute: exit 105, Pacemaker's message", tool: "crm_attribute", args: []string{"-N", "n1", "-n", "site", "-G", "-q"},
			code: ExitNoSuch, err: "crm_attribute: Error performing operation: No such device or address\n"},
		{name: "missing attribute with a default", tool: "crm_attribute", args: []string{"-N", "n1", "-n", "site", "-G", "-q", "-d", "west"}, out: "west\n"},
		{name: "-N without -l is a permanent attribute", tool: "crm_attribute", args: []string{"--node", "n2", "--name", "site", "--update", "east"},
			store: []string{"nodes/n2/site=east"}},
		{name: "query prints scope, name and value", tool: "crm_attribute", args: []string{"-N", "n2", "-n", "site", "-G"}, out: "scope=nodes  name=site value=east\n"},
		{name: "-q prints the value only", tool: "crm_attribute", args: []string{"-N", "n2", "-n", "site", "-G", "-q"}, out: "east\n"},
		{name: "clustered flags and attached values", tool: "crm_attribute", args: []string{"-Gq", "-Nn2", "-nsite"}, out: "east\n"},
		{name: "-l reboot is transient, on the local node", tool: "crm_attribute", args: []string{"-l", "reboot", "-n", "pingd", "-v", "1000"},
			store: []string{"nodes/n2/site=east", "status/n1/pingd=1000"}},
		{name: "-t status reads it back", tool: "crm_attribute", args: []string{"-t", "status", "-N", "n1", "-n", "pingd", "-G"}, out: "scope=status  name=pingd value=1000\n"},
		{name: "no node and no lifetime is a cluster option", tool: "crm_attribute", args: []string{"-n", "cluster-delay", "-v", "60s"},
			store: []string{"crm_config//cluster-delay=60s", "nodes/n2/site=east", "status/n1/pingd=1000"}},
		{name: "-D deletes", tool: "crm_attribute", args: []string{"-N", "n2", "-n", "site", "-D"},
			store: []string{"crm_config//cluster-delay=60s", "status/n1/pingd=1000"}},
		{name: "deleting what is not set is fine", tool: "crm_attribute", args: []string{"-N", "n2", "-n", "site", "-D"}},
		{name: "unknown node", tool: "crm_attribute", args: []string{"-N", "n9", "-n", "x", "-v", "1"}, code: ExitNoSuch, err: "Could not map name=n9"},
		{name: "no name", tool: "crm_attribute", args: []string{"-N", "n1", "-G"}, code: ExitUsage, err: "must specify attribute name"},
		{name: "bad lifetime", tool: "crm_attribute", args: []string{"-l", "sometimes", "-n", "x", "-G"}, code: ExitUsage, err: "invalid lifetime"},
		{name: "unsupported type", tool: "crm_attribute", args: []string{"-t", "tickets", "-n", "x", "-G"}, code: ExitUsage, err: "not supported"},
		{name: "missing value", tool: "crm_attribute", args: []string{"-n", "x", "-v"}, code: ExitUsage, err: "crm_attribute: option -v needs a value\n"},
		{name: "stray word", tool: "crm_attribute", args: []string{"-n", "x", "oops"}, code: ExitUsage, err: `unexpected argument "oops"`},
		{name: "--promotion uses OCF_RESOURCE_INSTANCE without the clone suffix, reboot, local", env: rsc,
			tool: "crm_attribute", args: []string{"-p", "-v", "10"},
			store: []string{"crm_config//cluster-delay=60s", "status/n1/master-db=10", "status/n1/pingd=1000"}},
		{name: "--promotion=RSC", tool: "crm_attribute", args: []string{"--promotion=web", "-G", "-q", "-d", "0"}, out: "0\n"},
		{name: "-p RSC takes the next word", tool: "crm_attribute", args: []string{"-p", "db", "-G", "-q"}, out: "10\n"},
		{name: "--promotion without a resource", tool: "crm_attribute", args: []string{"-p", "-G"}, code: ExitUsage, err: "Resource must be specified"},

		{name: "crm_master sets master-RSC forever by default", env: rsc, tool: "crm_master", args: []string{"-v", "5"},
			store: []string{"crm_config//cluster-delay=60s", "nodes/n1/master-db=5", "status/n1/master-db=10", "status/n1/pingd=1000"}},
		{name: "crm_master -l reboot -G -q", env: rsc, tool: "crm_master", args: []string{"-l", "reboot", "-G", "-q"}, out: "10\n"},
		{name: "crm_master -r names the resource", tool: "crm_master", args: []string{"-r", "db", "-N", "n1", "-D"},
			store: []string{"crm_config//cluster-delay=60s", "status/n1/master-db=10", "status/n1/pingd=1000"}},
		{name: "crm_master without a resource", tool: "crm_master", args: []string{"-v", "1"}, code: ExitError, err: "error: No resource specified\n"},

		{name: "attrd_updater -U sets a transient attribute", tool: "attrd_updater", args: []string{"-n", "fw", "-U", "ok", "-d", "5s"},
			store: []string{"crm_config//cluster-delay=60s", "status/n1/fw=ok", "status/n1/master-db=10", "status/n1/pingd=1000"}},
		{name: "attrd_updater -Q", tool: "attrd_updater", args: []string{"-n", "fw", "-Q"}, out: "name=\"fw\" host=\"n1\" value=\"ok\"\n"},
		{name: "attrd_updater -N -U", tool: "attrd_updater", args: []string{"-N", "n2", "-n", "fw", "-U", "bad"}},
		{name: "attrd_updater -p sets a private attribute, apart", tool: "attrd_updater", args: []string{"-N", "n2", "-n", "lsn", "-U", "0/3000", "-p"},
			store: []string{"crm_config//cluster-delay=60s", "private/n2/lsn=0/3000", "status/n1/fw=ok", "status/n1/master-db=10", "status/n1/pingd=1000", "status/n2/fw=bad"}},
		{name: "attrd_updater -p -Q reads it", tool: "attrd_updater", args: []string{"--private", "-N", "n2", "-n", "lsn", "-Q"}, out: "name=\"lsn\" host=\"n2\" value=\"0/3000\"\n"},
		{name: "a private attribute is no transient one", tool: "attrd_updater", args: []string{"-N", "n2", "-n", "lsn", "-Q"}, code: ExitNoSuch, err: "Could not query value of lsn"},
		{name: "attrd_updater -p -D", tool: "attrd_updater", args: []string{"-p", "-N", "n2", "-n", "lsn", "-D"},
			store: []string{"crm_config//cluster-delay=60s", "status/n1/fw=ok", "status/n1/master-db=10", "status/n1/pingd=1000", "status/n2/fw=bad"}},
		{name: "attrd_updater -Q -A lists every node", tool: "attrd_updater", args: []string{"-n", "fw", "-QA"},
			out: "name=\"fw\" host=\"n1\" value=\"ok\"\nname=\"fw\" host=\"n2\" value=\"bad\"\n"},
		{name: "attrd_updater -D", tool: "attrd_updater", args: []string{"-n", "fw", "-D"},
			store: []string{"crm_config//cluster-delay=60s", "status/n1/master-db=10", "status/n1/pingd=1000", "status/n2/fw=bad"}},
		{name: "attrd_updater -Q of what is gone", tool: "attrd_updater", args: []string{"-n", "fw", "-Q"}, code: ExitNoSuch, err: "Could not query value of fw"},
		{name: "attrd_updater without a command", tool: "attrd_updater", args: []string{"-n", "fw"}, code: ExitUsage, err: "Command must be specified"},
		{name: "attrd_updater -l forever", tool: "attrd_updater", args: []string{"-n", "fw", "-U", "1", "-l", "forever"}, code: ExitUsage, err: "only -l reboot"},

		{name: "pacemakerd -$ as ocf_local_nodename reads it", tool: "pacemakerd", args: []string{"-$"}, out: "Pacemaker 2.1.5 (Paceline compatibility: pacemakerd)\n"},
		{name: "pacemakerd does nothing else", tool: "pacemakerd", code: ExitUsage, err: "answers only --version"},
	}
	for _, s := range steps {
		r := runTool(sock, s.env, s.tool, s.args...)
		if r.code != s.code || r.stdout != s.out || !strings.Contains(r.stder, s.err) {
			t.Errorf("%s: %s %q = exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr containing %q",
				s.name, s.tool, s.args, r.code, r.stdout, r.stder, s.code, s.out, s.err)
		}
		if s.code != 0 && strings.Count(r.stder, "\n") != 1 && s.tool != "crm_master" {
			t.Errorf("%s: stderr is not one line: %q", s.name, r.stder)
		}
		if s.store != nil {
			if got := h.dump(); !reflect.DeepEqual(got, s.store) {
				t.Errorf("%s: store %q, want %q", s.name, got, s.store)
			}
		}
	}
}

func TestNoAgent(t *testing.T) {
	r := runTool(filepath.Join(t.TempDir(), "none.sock"), nil, "crm_node", "-n")
	if r.code != ExitError || !strings.Contains(r.stder, "crm_node: cannot reach the local paceline agent") {
		t.Errorf("without an agent: exit %d, stderr %q", r.code, r.stder)
	}
}

func TestSocketMode(t *testing.T) {
	sock := serve(t, newMem())
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket mode %v, want a 0600 socket", fi.Mode())
	}
	// A second Listen replaces the stale socket; a regular file is refused.
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o600)
	if _, err := Listen(file); err == nil {
		t.Errorf("Listen over a regular file succeeded")
	}
}

func TestInstallLinks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bin")
	exe := "/usr/bin/paceline-test"
	// A stale link and a file in the way are replaced.
	os.MkdirAll(dir, 0o777)
	os.Chmod(dir, 0o777)
	os.Symlink("/elsewhere", filepath.Join(dir, "crm_node"))
	os.WriteFile(filepath.Join(dir, "crm_attribute"), []byte("#!/bin/sh\n"), 0o755)
	for range 2 { // idempotent
		if err := InstallLinks(dir, exe); err != nil {
			t.Fatal(err)
		}
	}
	fi, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("link directory mode %v, want 0755", fi.Mode().Perm())
	}
	for _, tool := range Tools {
		if got, err := os.Readlink(filepath.Join(dir, tool)); err != nil || got != exe {
			t.Errorf("%s -> %q (%v), want %s", tool, got, err, exe)
		}
	}
	if err := InstallLinks("bin", exe); err == nil {
		t.Errorf("a relative directory was accepted")
	}
}

func TestGetopt(t *testing.T) {
	opts := []option{{short: 'a', long: "all"}, {short: 'n', long: "name", arg: requiredArg},
		{short: 'p', long: "promotion", arg: optionalArg}, {long: "attr-name", arg: requiredArg, key: "name"}}
	cases := []struct {
		args []string
		want []flag
		err  string
	}{
		{args: []string{"-an", "x"}, want: []flag{{key: "all"}, {key: "name", value: "x", given: true}}},
		{args: []string{"--name=x", "--attr-name", "y"}, want: []flag{{key: "name", value: "x", given: true}, {key: "name", value: "y", given: true}}},
		{args: []string{"-p", "-a"}, want: []flag{{key: "promotion"}, {key: "all"}}},
		{args: []string{"-p"}, want: []flag{{key: "promotion"}}},
		{args: []string{"-prsc", "--promotion", "r2"}, want: []flag{{key: "promotion", value: "rsc", given: true}, {key: "promotion", value: "r2", given: true}}},
		{args: []string{"-n", "-a"}, want: []flag{{key: "name", value: "-a", given: true}}},
		{args: []string{"-a", "--"}, want: []flag{{key: "all"}}},
		{args: []string{"--all=1"}, err: "takes no value"},
		{args: []string{"--nope"}, err: "unknown option --nope"},
		{args: []string{"--name"}, err: "needs a value"},
		{args: []string{"x"}, err: "unexpected argument"},
	}
	for _, c := range cases {
		got, err := getopt(c.args, opts)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("getopt(%q) error %v, want %q", c.args, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("getopt(%q) = %+v, %v; want %+v", c.args, got, err, c.want)
		}
	}
}

// A change the handler refuses with ErrPermission exits with Pacemaker's
// CRM_EX_INSUFFICIENT_PRIV (4) and one line saying what to do instead;
// nothing is written. Reads of the same scope still work.
func TestPermissionDenied(t *testing.T) {
	h := newMem()
	h.Set(context.Background(), ScopeConfig, "", "stonith-enabled", "true")
	h.deny = map[Scope]bool{ScopeConfig: true, ScopeStatus: true}
	sock := serve(t, h)
	for _, c := range []struct {
		tool string
		args []string
		err  string
	}{
		{"crm_attribute", []string{"-n", "stonith-enabled", "-v", "false"},
			"crm_attribute: setting cluster option stonith-enabled needs admin: use `paceline property set stonith-enabled=false` with an admin token\n"},
		{"crm_attribute", []string{"-t", "crm_config", "-n", "stonith-enabled", "-D"},
			"crm_attribute: deleting cluster option stonith-enabled needs admin: use `paceline property set stonith-enabled=` with an admin token\n"},
		{"crm_attribute", []string{"-l", "reboot", "-n", "pingd", "-v", "1"},
			"crm_attribute: Error performing operation: compat: permission denied: local caller has role operator; status needs admin\n"},
		{"attrd_updater", []string{"-n", "pingd", "-U", "1"},
			"attrd_updater: Could not update pingd: compat: permission denied: local caller has role operator; status needs admin\n"},
	} {
		r := runTool(sock, nil, c.tool, c.args...)
		if r.code != ExitPermission || r.stder != c.err || r.stdout != "" {
			t.Errorf("%s %q: exit %d, stdout %q, stderr %q; want exit %d, stderr %q", c.tool, c.args, r.code, r.stdout, r.stder, ExitPermission, c.err)
		}
	}
	if got := h.dump(); !reflect.DeepEqual(got, []string{"crm_config//stonith-enabled=true"}) {
		t.Errorf("refused writes changed the store: %q", got)
	}
	if r := runTool(sock, nil, "crm_attribute", "-t", "crm_config", "-n", "stonith-enabled", "-G", "-q"); r.code != 0 || r.stdout != "true\n" {
		t.Errorf("reading the cluster option: %+v", r)
	}
}

// uidHandler answers Get with the caller's user id as Serve passed it.
type uidHandler struct{ memHandler }

func (h *uidHandler) Get(ctx context.Context, _ Scope, _, _ string) (string, error) {
	uid, ok := PeerUID(ctx)
	if !ok {
		return "", fmt.Errorf("no peer uid")
	}
	return fmt.Sprint(uid), nil
}

// The Handler learns who called: Serve passes the peer's checked uid.
func TestPeerUID(t *testing.T) {
	sock := serve(t, &uidHandler{})
	r := runTool(sock, nil, "crm_attribute", "-N", "n1", "-n", "x", "-G", "-q")
	if want := fmt.Sprintln(os.Geteuid()); r.code != 0 || r.stdout != want {
		t.Errorf("peer uid: %+v, want %q", r, want)
	}
	if _, ok := PeerUID(context.Background()); ok {
		t.Errorf("PeerUID outside Serve reported a uid")
	}
}
