// Package ui tests the web UI in headless Chromium: a 3-node cluster of
// real paceline processes on loopback, and ui.test.js driving Debian's
// chromium through playwright-core (installed with npm into a cache
// directory outside the repository, at the version package.json pins).
// It logs in, reads the overview, sees the page change without a reload
// when the node running a resource is crashed, and checks that a viewer
// gets no action buttons and a 403 when posting one. Screenshots go to
// out/ at the repository's root.
package ui

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// chromium is Debian's browser binary.
const chromium = "/usr/bin/chromium"

// playwrightDir installs the pinned playwright-core (package.json) into a
// cache directory outside the repository, once, and returns its
// node_modules.
func playwrightDir(t *testing.T) string {
	t.Helper()
	pkg, err := os.ReadFile("package.json")
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Dependencies map[string]string }
	if err := json.Unmarshal(pkg, &p); err != nil {
		t.Fatal(err)
	}
	version := p.Dependencies["playwright-core"]
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Skipf("SKIP: no cache directory for playwright-core: %v", err)
	}
	dir := filepath.Join(cache, "paceline-ui-test", "playwright-core-"+version)
	mods := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(mods, "playwright-core", "package.json")); err == nil {
		return mods
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), pkg, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--save-exact")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("SKIP: npm could not install playwright-core %s into %s: %v\n%s", version, dir, err, out)
	}
	return mods
}

type node struct {
	name string
	port int
	cmd  *exec.Cmd
}

// cluster is n1, n2, n3: paceline agents on loopback, each in its own
// process group.
type cluster struct {
	t     *testing.T
	bin   string
	dir   string
	env   []string
	nodes map[string]*node
}

func (c *cluster) run(args ...string) (string, error) {
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("paceline %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

func (c *cluster) must(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

func (c *cluster) addr(n string) string { return fmt.Sprintf("127.0.0.1:%d", c.nodes[n].port) }

func (c *cluster) start(n string) {
	c.t.Helper()
	logf, err := os.Create(filepath.Join(c.dir, n+".log"))
	if err != nil {
		c.t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(c.bin, "agent", "--data-dir", filepath.Join(c.dir, n), "--run-dir", filepath.Join(c.dir, n, "run"))
	cmd.Env, cmd.Stdout, cmd.Stderr = c.env, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.nodes[n].cmd = cmd
}

// crash SIGKILLs a node's agent and everything it started.
func (c *cluster) crash(n string) {
	if cmd := c.nodes[n].cmd; cmd != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		c.nodes[n].cmd = nil
	}
}

type status struct {
	Leader    string
	Quorum    bool
	Nodes     []struct{ Name, State string }
	Resources []struct {
		ID, Role string
		Nodes    []string
	}
}

func (c *cluster) wait(what string, limit time.Duration, cond func(*status) bool) *status {
	c.t.Helper()
	var last string
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out, err := c.run("status", "--json")
		if err != nil {
			last = err.Error()
			continue
		}
		var st status
		if json.Unmarshal([]byte(out), &st) == nil && cond(&st) {
			return &st
		}
		last = out
	}
	c.t.Fatalf("timed out after %v waiting for %s; last: %s", limit, what, last)
	return nil
}

// freePort returns a loopback port p with p+1000 free too (the agent's
// Raft port).
func freePort(t *testing.T, taken map[int]bool) int {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if p+1000 > 65535 || taken[p] {
			continue
		}
		if l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1000)); err == nil {
			l2.Close()
			taken[p] = true
			return p
		}
	}
	t.Fatal("no free port pair")
	return 0
}

// startCluster brings up n1, n2, n3 with the commands a user types, the
// resource web (builtin:dummy) Started and, when Stateful is installed,
// the promotable clone db-clone promoted on one node; the bool says
// whether it is there.
func startCluster(t *testing.T) (*cluster, *status, bool) {
	dir := t.TempDir()
	c := &cluster{t: t, bin: filepath.Join(dir, "paceline"), dir: dir, nodes: map[string]*node{}}
	if out, err := exec.Command("go", "build", "-o", c.bin, "github.com/paceline/paceline/cmd/paceline").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		for n := range c.nodes {
			c.crash(n)
		}
		if t.Failed() {
			for n := range c.nodes {
				b, _ := os.ReadFile(filepath.Join(dir, n+".log"))
				t.Logf("--- %s.log (last 3000 bytes) ---\n%s", n, b[max(0, len(b)-3000):])
			}
		}
	})
	taken := map[int]bool{}
	for _, n := range []string{"n1", "n2", "n3"} {
		c.nodes[n] = &node{name: n, port: freePort(t, taken)}
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PACELINE_") {
			c.env = append(c.env, kv)
		}
	}
	base := c.env
	c.must("init", "--name", "n1", "--data-dir", filepath.Join(dir, "n1"), "--listen", c.addr("n1"))
	c.start("n1")
	c.env = append(base, "PACELINE_ADDR=https://"+c.addr("n1"), "PACELINE_TOKEN_FILE="+filepath.Join(dir, "n1", "admin.token"),
		"PACELINE_CACERT="+filepath.Join(dir, "n1", "ca.pem"))
	c.wait("n1 leads", 20*time.Second, func(st *status) bool { return st.Leader == "n1" })
	for _, n := range []string{"n2", "n3"} {
		tok := c.must("token", "create", "--ttl", "10m")
		c.must("join", "--name", n, "--data-dir", filepath.Join(dir, n), "--listen", c.addr(n), "--token", tok, c.addr("n1"))
		c.start(n)
	}
	c.env = append(base, "PACELINE_ADDR=https://"+c.addr("n1")+",https://"+c.addr("n2")+",https://"+c.addr("n3"),
		"PACELINE_TOKEN_FILE="+filepath.Join(dir, "n1", "admin.token"), "PACELINE_CACERT="+filepath.Join(dir, "n1", "ca.pem"))
	c.must("property", "set", "stonith-enabled=false")
	c.must("resource", "create", "web", "builtin:dummy", "--op", "monitor", "interval=1s")
	promotable := false
	if _, err := os.Stat(stateful); err == nil {
		promotable = true
		c.must("resource", "create", "db", "ocf:pacemaker:Stateful", "--promotable",
			"--op", "monitor", "interval=5s", "role=Master", "--op", "monitor", "interval=6s", "role=Slave")
	} else {
		t.Logf("NOTICE: no %s (pacemaker-resource-agents): the overview shows no promotable clone", stateful)
	}
	st := c.wait("3 nodes online, web Started (and db promoted)", 40*time.Second, func(st *status) bool {
		online := 0
		for _, n := range st.Nodes {
			if n.State == "online" {
				online++
			}
		}
		promoted := !promotable
		for _, r := range st.Resources {
			promoted = promoted || (r.ID == "db" && r.Role == "Promoted" && len(r.Nodes) == 3)
		}
		return st.Quorum && online == 3 && len(webNodes(st)) == 1 && promoted
	})
	return c, st, promotable
}

// stateful is the promotable test agent of Debian's
// pacemaker-resource-agents.
const stateful = "/usr/lib/ocf/resource.d/pacemaker/Stateful"

func webNodes(st *status) []string {
	for _, r := range st.Resources {
		if r.ID == "web" && r.Role == "Started" {
			return r.Nodes
		}
	}
	return nil
}

func TestWebUIInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: the browser test starts a cluster; skipped in -short mode")
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("SKIP: no %s (apt-get install chromium): the web UI browser test needs it", chromium)
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		t.Skip("SKIP: no node (apt-get install nodejs npm): the web UI browser test needs it")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("SKIP: no npm (apt-get install npm): the web UI browser test needs it")
	}
	mods := playwrightDir(t)
	outDir, err := filepath.Abs(filepath.Join("..", "..", "out"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}

	c, st, promotable := startCluster(t)
	victim := webNodes(st)[0]
	uiNode := "n1"
	for _, n := range []string{"n1", "n2", "n3"} {
		if n != victim && n != st.Leader {
			uiNode = n // neither the victim nor (if possible) the leader
		}
	}
	operator := c.must("token", "create", "--role", "operator", "--ttl", "1h")
	viewer := c.must("token", "create", "--role", "viewer", "--ttl", "1h")

	script, _ := filepath.Abs("ui.test.js")
	cmd := exec.Command(nodeBin, script)
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods, "PL_CHROMIUM="+chromium, "PL_UI_URL=https://"+c.addr(uiNode), "PL_UI_NODE="+uiNode,
		"PL_UI_OPERATOR="+operator, "PL_UI_VIEWER="+viewer, "PL_UI_VICTIM="+victim, "PL_UI_OUT="+outDir,
		fmt.Sprintf("PL_UI_PROMOTABLE=%v", promotable))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := false
	defer func() {
		if !done {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		}
	}()
	t.Logf("leader %s, web on %s, browser on %s's UI", st.Leader, victim, uiNode)
	timer := time.AfterFunc(3*time.Minute, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	defer timer.Stop()
	sc := bufio.NewScanner(stdout)
	var crashed time.Time
	for sc.Scan() {
		line := sc.Text()
		t.Logf("ui.test.js: %s", line)
		if line == "CRASH" {
			crashed = time.Now()
			c.crash(victim)
			io.WriteString(stdin, "CRASHED\n")
		}
		if id, ok := strings.CutPrefix(line, "REVOKE "); ok {
			c.must("token", "revoke", id)
			io.WriteString(stdin, "REVOKED\n")
		}
	}
	err = cmd.Wait()
	done = true
	if err != nil {
		t.Fatalf("ui.test.js: %v\n%s", err, stderr.String())
	}
	if crashed.IsZero() {
		t.Fatal("ui.test.js never asked for the crash")
	}
	for _, f := range []string{"ui-overview.png", "ui-resource.png", "ui-overview-phone.png"} {
		if fi, err := os.Stat(filepath.Join(outDir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("screenshot %s: %v", f, err)
		}
	}
	// The buttons' changes are the API's, audited under the operator's
	// token id (plt1.ID.SECRET).
	opID := strings.Split(operator, ".")[1]
	var audit struct {
		Entries []struct{ Token, Role, Action, Result string }
	}
	if err := json.Unmarshal([]byte(c.must("audit", "--json", "--who", opID)), &audit); err != nil {
		t.Fatalf("audit --json: %v", err)
	}
	standbys := 0
	for _, e := range audit.Entries {
		if e.Action == "PUT /v1/nodes/"+uiNode+"/attributes" && e.Token == opID && e.Role == "operator" && e.Result == "ok" {
			standbys++
		}
	}
	if standbys != 2 { // the replayed cookie's standby after the revocation never reached the API
		t.Errorf("audit entries of the operator's standby and unstandby of %s: %d, want 2; %+v", uiNode, standbys, audit)
	}
	// The page showed what the cluster did: web moved off the victim.
	after := c.wait("web recovered", 10*time.Second, func(st *status) bool { n := webNodes(st); return len(n) == 1 && n[0] != victim })
	t.Logf("web now on %s; screenshots in %s", webNodes(after)[0], outDir)
}
