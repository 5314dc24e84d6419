// Package cluster runs real paceline processes on loopback with the exact
// commands of the cluster issue: init, agent, token create, join,
// property set, resource create, status --json; then SIGKILLs the agent
// that runs web (and every process it started) and checks web recovers on
// another node, never reported on two.
package cluster

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

type status struct {
	Leader    string `json:"leader"`
	Quorum    bool   `json:"quorum"`
	Epoch     uint64 `json:"epoch"`
	Nodes     []struct{ Name, State string }
	Resources []struct {
		ID, Agent, Role string
		Nodes           []string
	}
}

// online counts the nodes in state online.
func (st *status) online() int {
	n := 0
	for _, node := range st.Nodes {
		if node.State == "online" {
			n++
		}
	}
	return n
}

// addr is the API address of node n.
func (h *harness) addr(n string) string { return fmt.Sprintf("127.0.0.1:%d", h.ports[n]) }

type harness struct {
	t      *testing.T
	bin    string
	dir    string
	env    []string
	agents map[string]*exec.Cmd
	ports  map[string]int
	// poll is how often waitVMs asks for the status.
	poll time.Duration
	// nice, if set, is the niceness agents are started with, by name:
	// hosts that would be machines of their own (VM hosts at scale) do
	// not take the CPU the voters need on a shared test machine.
	nice map[string]int
}

// freePort returns a loopback port p with p+1000 also free (the agent's
// Raft port).
func freePort(t *testing.T, taken map[int]bool) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if p+1000 > 65535 || taken[p] || taken[p+1000] {
			continue
		}
		if l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1000)); err == nil {
			l2.Close()
			taken[p], taken[p+1000] = true, true
			return p
		}
	}
	t.Fatal("no free port pair")
	return 0
}

func (h *harness) run(args ...string) (string, error) {
	h.t.Helper()
	cmd := exec.Command(h.bin, args...)
	cmd.Env = h.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("paceline %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

func (h *harness) must(args ...string) string {
	h.t.Helper()
	out, err := h.run(args...)
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// agent starts "paceline agent --data-dir DIR" in its own process group.
func (h *harness) agent(name string) {
	h.t.Helper()
	logf, err := os.Create(filepath.Join(h.dir, name+".log"))
	if err != nil {
		h.t.Fatal(err)
	}
	args := []string{h.bin, "agent", "--data-dir", filepath.Join(h.dir, name), "--run-dir", filepath.Join(h.dir, name, "run")}
	if n := h.nice[name]; n != 0 {
		args = append([]string{"nice", "-n", strconv.Itoa(n)}, args...) // nice execs the agent: same pid
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = h.env
	if dir := os.Getenv("PL_PROFILE_DIR"); dir != "" {
		// A developer's aid: SIGUSR1 starts and ends a CPU profile of
		// the agent into DIR/NAME.pprof (cmd/paceline/profile.go).
		cmd.Env = append(slices.Clone(h.env), "PACELINE_CPU_PROFILE="+filepath.Join(dir, name+".pprof"))
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	logf.Close()
	h.agents[name] = cmd
}

// kill SIGKILLs the agent's whole process group.
func (h *harness) kill(name string) {
	cmd := h.agents[name]
	if cmd == nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	delete(h.agents, name)
}

func (h *harness) status() (*status, error) {
	out, err := h.run("status", "--json")
	if err != nil {
		return nil, err
	}
	var st status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return nil, fmt.Errorf("status --json: %v: %q", err, out)
	}
	return &st, nil
}

func (h *harness) web(st *status) (role string, nodes []string) {
	for _, r := range st.Resources {
		if r.ID == "web" {
			return r.Role, r.Nodes
		}
	}
	return "", nil
}

// waitStatus polls status --json until cond holds, failing after limit.
// Every sample is checked: web is never reported on two nodes.
func (h *harness) waitStatus(what string, limit time.Duration, cond func(*status) bool) *status {
	h.t.Helper()
	var last *status
	var lastErr error
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		st, err := h.status()
		if err != nil {
			lastErr = err
			continue
		}
		last = st
		if _, nodes := h.web(st); len(nodes) > 1 {
			h.t.Errorf("web reported active on %v", nodes)
		}
		if cond(st) {
			return st
		}
	}
	h.t.Fatalf("timed out after %v waiting for %s; last status %+v, last error %v", limit, what, last, lastErr)
	return nil
}

// newHarness builds paceline into a temporary directory and returns a
// harness with a free port pair for each named node and an environment
// without the caller's PACELINE_* variables; every agent it starts is
// killed when the test ends (a failed test's logs are printed first).
func newHarness(t *testing.T, names ...string) *harness {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "paceline")
	build := exec.Command("go", "build", "-o", bin, "github.com/paceline/paceline/cmd/paceline")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	h := &harness{t: t, bin: bin, dir: dir, agents: map[string]*exec.Cmd{}, ports: map[string]int{}, poll: 100 * time.Millisecond}
	t.Cleanup(func() {
		// PL_DEBUG_DUMP=1: a failed test's agents dump their goroutines
		// (SIGQUIT) into their logs before they are killed.
		if t.Failed() && os.Getenv("PL_DEBUG_DUMP") != "" {
			for _, cmd := range h.agents {
				cmd.Process.Signal(syscall.SIGQUIT)
			}
			time.Sleep(time.Second)
		}
		for name := range h.agents {
			h.kill(name)
		}
		if t.Failed() {
			for n := range h.ports {
				b, _ := os.ReadFile(filepath.Join(dir, n+".log"))
				t.Logf("--- %s.log ---\n%s", n, b)
			}
		}
	})
	taken := map[int]bool{}
	for _, n := range names {
		h.ports[n] = freePort(t, taken)
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PACELINE_") {
			h.env = append(h.env, kv)
		}
	}
	return h
}

// startCluster builds paceline and brings up n1, n2 and n3 on loopback
// with the exact commands of the cluster issue, and web (builtin:dummy)
// Started; the agents are killed when the test ends.
func startCluster(t *testing.T) (*harness, *status) {
	t.Helper()
	if testing.Short() {
		t.Skip("multi-process cluster test skipped in -short mode")
	}
	h := newHarness(t, "n1", "n2", "n3")
	dir, addr, env := h.dir, h.addr, h.env

	// The exact commands of the issue, with this test's ports.
	h.must("init", "--name", "n1", "--data-dir", filepath.Join(dir, "n1"), "--listen", addr("n1"))
	for _, f := range []string{"admin.token", "ca.pem"} {
		if _, err := os.Stat(filepath.Join(dir, "n1", f)); err != nil {
			t.Fatalf("init did not write %s: %v", f, err)
		}
	}
	h.agent("n1")
	h.env = append(env, "PACELINE_ADDR=https://"+addr("n1"), "PACELINE_TOKEN_FILE="+filepath.Join(dir, "n1", "admin.token"),
		"PACELINE_CACERT="+filepath.Join(dir, "n1", "ca.pem"))
	h.waitStatus("n1 leads", 15*time.Second, func(st *status) bool { return st.Leader == "n1" })
	for _, n := range []string{"n2", "n3"} {
		tok := strings.TrimSpace(h.must("token", "create", "--ttl", "10m"))
		if strings.ContainsAny(tok, " \n") || tok == "" {
			t.Fatalf("token create printed %q, want only the token", tok)
		}
		h.must("join", "--name", n, "--data-dir", filepath.Join(dir, n), "--listen", addr(n), "--token", tok, addr("n1"))
		// A join token is single-use.
		if _, err := h.run("join", "--name", n+"x", "--data-dir", filepath.Join(dir, n+"x"), "--listen", "127.0.0.1:1", "--token", tok, addr("n1")); err == nil || !strings.Contains(err.Error(), "token") {
			t.Errorf("reused join token: %v", err)
		}
		h.agent(n)
	}
	h.must("property", "set", "stonith-enabled=false")
	h.must("resource", "create", "web", "builtin:dummy", "--op", "monitor", "interval=1s")
	st := h.waitStatus("3 nodes online and web Started", 20*time.Second, func(st *status) bool {
		role, nodes := h.web(st)
		return st.Quorum && st.online() == 3 && role == "Started" && len(nodes) == 1
	})
	for _, r := range st.Resources {
		if r.ID == "web" && r.Agent != "builtin:dummy" {
			t.Errorf("web agent %q", r.Agent)
		}
	}
	return h, st
}

func TestThreeNodeClusterOnLoopback(t *testing.T) {
	h, st := startCluster(t)
	addr := h.addr
	_, nodes := h.web(st)
	victim, leader := nodes[0], st.Leader
	epoch := st.Epoch
	export := h.must("config", "export")

	// Each agent executed itself again at start, in place (the PID the
	// harness started answers), with the runtime's system monitor polling
	// (cmd/paceline/sysmon.go).
	for _, n := range []string{"n1", "n2", "n3"} {
		environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", h.agents[n].Process.Pid))
		if err != nil {
			t.Fatalf("%s's environment: %v", n, err)
		}
		if !slices.ContainsFunc(strings.Split(string(environ), "\x00"), func(kv string) bool {
			return strings.HasPrefix(kv, "GODEBUG=") && strings.Contains(kv, "schedtrace=2147483647")
		}) {
			t.Errorf("%s runs without GODEBUG=schedtrace=2147483647 in its environment", n)
		}
	}

	// An API call without a token is refused.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if resp, err := hc.Get("https://" + addr("n1") + "/v1/status"); err != nil {
		t.Errorf("unauthenticated call: %v", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("unauthenticated call: status %d, want 401", resp.StatusCode)
		}
	}

	// A client certificate from another CA fails the handshake.
	if _, err := foreignClient(t).Get("https://" + addr("n1") + "/v1/status"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("foreign client certificate: %v, want a failed handshake", err)
	}

	// SIGKILL the agent running web; the CLI tries every address.
	var addrs []string
	for _, n := range []string{"n1", "n2", "n3"} {
		addrs = append(addrs, "https://"+addr(n))
	}
	h.env = append(h.env, "PACELINE_ADDR="+strings.Join(addrs, ","))
	killed := time.Now()
	h.kill(victim)
	var newLeader time.Duration
	st = h.waitStatus("web Started on another node", 30*time.Second, func(st *status) bool {
		if newLeader == 0 && st.Leader != "" && st.Leader != leader {
			newLeader = time.Since(killed)
		}
		role, nodes := h.web(st)
		return role == "Started" && len(nodes) == 1 && nodes[0] != victim && st.Leader != "" && st.Leader != victim
	})
	_, nodes = h.web(st)
	elected := "leader unchanged"
	if newLeader > 0 {
		elected = fmt.Sprintf("new leader %s after %v", st.Leader, newLeader.Round(10*time.Millisecond))
	}
	t.Logf("FAILOVER killed=%s old-leader=%s web-on=%s web-after=%v %s", victim, leader, nodes[0], time.Since(killed).Round(10*time.Millisecond), elected)

	// Nothing acknowledged was lost.
	if st.Epoch != epoch {
		t.Errorf("epoch %d after the kill, was %d", st.Epoch, epoch)
	}
	if got := h.must("config", "export"); got != export {
		t.Errorf("config export changed after the kill:\n%s\nwas\n%s", got, export)
	}
}

// "paceline ca rotate" replaces the CA of a running cluster: no status
// call fails meanwhile, web stays Started where it was, every node ends
// with a certificate of the new CA and trusts only it (also after an
// agent restart), the old CA's certificates are refused, and a node joins
// with a join token issued after the rotation.
func TestCARotationWithoutDowntime(t *testing.T) {
	h, st := startCluster(t)
	_, nodes := h.web(st)
	webNode := nodes[0]
	oldCA := caFingerprints(t, filepath.Join(h.dir, "n1", "ca.pem"))
	if len(oldCA) != 1 {
		t.Fatalf("before the rotation n1 trusts %v, want one CA", oldCA)
	}
	oldCert := mustReadFile(t, filepath.Join(h.dir, "n2", "node.pem"))
	oldKey := mustReadFile(t, filepath.Join(h.dir, "n2", "node.key"))

	// Poll the cluster through the CLI while the rotation runs.
	h.env = append(h.env, "PACELINE_ADDR=https://"+h.addr("n1")+",https://"+h.addr("n2")+",https://"+h.addr("n3"))
	stop := make(chan struct{})
	type sample struct {
		err  error
		web  []string
		role string
		on   int
	}
	samples := make(chan sample, 10000)
	go func() {
		defer close(samples)
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			st, err := h.status()
			s := sample{err: err}
			if err == nil {
				s.role, s.web = h.web(st)
				s.on = st.online()
			}
			samples <- s
		}
	}()
	started := time.Now()
	out := h.must("ca", "rotate", "--wait", "60s")
	took := time.Since(started)
	time.Sleep(500 * time.Millisecond) // a few samples after the end
	close(stop)
	n, failed := 0, 0
	for s := range samples {
		n++
		switch {
		case s.err != nil:
			failed++
			t.Errorf("status during the rotation: %v", s.err)
		case s.role != "Started" || len(s.web) != 1 || s.web[0] != webNode || s.on != 3:
			t.Errorf("during the rotation: web %s on %v (was on %s), %d nodes online", s.role, s.web, webNode, s.on)
		}
	}
	if !strings.Contains(out, "rotation finished") {
		t.Fatalf("ca rotate printed:\n%s", out)
	}
	t.Logf("ROTATION took=%v status-samples=%d failed=%d\n%s", took.Round(10*time.Millisecond), n, failed, out)
	for _, node := range []string{"n1", "n2", "n3"} {
		for _, line := range strings.Split(string(mustReadFile(t, filepath.Join(h.dir, node+".log"))), "\n") {
			if strings.Contains(line, "CA:") || strings.Contains(line, "Raft connection") {
				t.Logf("%s: %s", node, line)
			}
		}
	}

	// Every node trusts only the new CA and holds a certificate from it.
	newCA := caFingerprints(t, filepath.Join(h.dir, "n1", "ca.pem"))
	if len(newCA) != 1 || newCA[0] == oldCA[0] {
		t.Fatalf("after the rotation n1 trusts %v (old %v), want one new CA", newCA, oldCA)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(mustReadFile(t, filepath.Join(h.dir, "n1", "ca.pem")))
	for _, n := range []string{"n1", "n2", "n3"} {
		if got := caFingerprints(t, filepath.Join(h.dir, n, "ca.pem")); len(got) != 1 || got[0] != newCA[0] {
			t.Errorf("%s trusts %v, want only %s", n, got, newCA[0])
		}
		c, err := tls.LoadX509KeyPair(filepath.Join(h.dir, n, "node.pem"), filepath.Join(h.dir, n, "node.key"))
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		leaf, _ := x509.ParseCertificate(c.Certificate[0])
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil || leaf.Subject.CommonName != n {
			t.Errorf("%s's certificate (%s): %v", n, leaf.Subject.CommonName, err)
		}
	}
	if _, err := os.Stat(filepath.Join(h.dir, "n1", "ca-next.key")); !os.IsNotExist(err) {
		t.Errorf("ca-next.key left behind: %v", err)
	}
	var cs struct {
		Rotating bool
		Nodes    []struct {
			Name    string
			Current bool
		}
	}
	if err := json.Unmarshal([]byte(h.must("ca", "status", "--json")), &cs); err != nil {
		t.Fatal(err)
	}
	if cs.Rotating || len(cs.Nodes) != 3 {
		t.Errorf("ca status after the rotation: %+v", cs)
	}
	for _, n := range cs.Nodes {
		if !n.Current {
			t.Errorf("ca status: %s not on the new CA", n.Name)
		}
	}
	// A second rotation is a new one; none is under way.
	if out := h.must("ca", "status"); !strings.Contains(out, "state:      stable") {
		t.Errorf("ca status:\n%s", out)
	}

	// A member that is down holds the next rotation: the others renew, a
	// second rotation is refused while this one is under way, and once
	// the member is back it renews and the rotation finishes.
	late := "n3"
	if webNode == late {
		late = "n2"
	}
	h.kill(late)
	h.waitStatus(late+" offline", 20*time.Second, func(st *status) bool {
		for _, n := range st.Nodes {
			if n.Name == late {
				return n.State != "online"
			}
		}
		return false
	})
	// Through a node that does not hold the CA key: it forwards.
	other := map[string]string{"n2": "n3", "n3": "n2"}[late]
	env := h.env
	h.env = append(append([]string(nil), env...), "PACELINE_ADDR=https://"+h.addr(other))
	out, err := h.run("ca", "rotate", "--wait", "5s")
	h.env = env
	if err == nil || !strings.Contains(err.Error(), "has not finished yet (2 nodes renewed so far)") {
		t.Fatalf("rotation through %s with %s down: %v\n%s", other, late, err, out)
	}
	if _, err := h.run("ca", "rotate"); err == nil || !strings.Contains(err.Error(), "already under way") {
		t.Errorf("second rotation while one is under way: %v", err)
	}
	if out := h.must("ca", "status"); !strings.Contains(out, "rotating (2 of 3 nodes renewed)") {
		t.Errorf("ca status with %s down:\n%s", late, out)
	}
	if got := caFingerprints(t, filepath.Join(h.dir, "n1", "ca.pem")); len(got) != 2 || got[1] != newCA[0] {
		t.Errorf("during the second rotation n1 trusts %v, want the third CA and %s", got, newCA[0])
	}
	back := time.Now()
	h.agent(late)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if err := json.Unmarshal([]byte(h.must("ca", "status", "--json")), &cs); err != nil {
			t.Fatal(err)
		}
		if !cs.Rotating {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rotation did not finish 30s after %s came back: %+v", late, cs)
		}
	}
	t.Logf("ROTATION with %s down finished %v after it came back", late, time.Since(back).Round(10*time.Millisecond))
	// Replaying the log after its restart, it never trusted the first CA
	// again (dropped by the first rotation).
	for _, line := range strings.Split(string(mustReadFile(t, filepath.Join(h.dir, late+".log"))), "\n") {
		if strings.Contains(line, "CA:") || strings.Contains(line, "serving on") {
			t.Logf("%s: %s", late, line)
		}
		if strings.Contains(line, "trusting") && strings.Contains(line, oldCA[0]) {
			t.Errorf("%s trusted the dropped CA again after its restart: %s", late, line)
		}
	}
	// The store has dropped the old CA; each node's ca.pem follows when
	// it applies that.
	var thirdCA []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if thirdCA = caFingerprints(t, filepath.Join(h.dir, late, "ca.pem")); len(thirdCA) == 1 {
			break
		}
	}
	if len(thirdCA) != 1 || thirdCA[0] == newCA[0] || thirdCA[0] == oldCA[0] {
		t.Errorf("%s trusts %v after the second rotation", late, thirdCA)
	}
	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(mustReadFile(t, filepath.Join(h.dir, "n1", "ca.pem")))

	// n2's certificate of the first CA is refused by the peer endpoints.
	old, err := tls.X509KeyPair(oldCert, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &old, nil }}}}
	if resp, err := hc.Post("https://"+h.addr("n1")+"/internal/v1/heartbeat", "application/json", strings.NewReader("{}")); err == nil {
		resp.Body.Close()
		t.Errorf("old CA's certificate: status %d, want a failed handshake", resp.StatusCode)
	}

	// An agent restarted after the rotation comes back with its renewed
	// certificate; a new node joins with a token issued now.
	h.kill("n3")
	h.agent("n3")
	h.ports["n4"] = freePort(t, map[int]bool{h.ports["n1"]: true, h.ports["n2"]: true, h.ports["n3"]: true})
	tok := strings.TrimSpace(h.must("token", "create", "--ttl", "10m"))
	h.must("join", "--name", "n4", "--data-dir", filepath.Join(h.dir, "n4"), "--listen", h.addr("n4"), "--token", tok, h.addr("n1"))
	h.agent("n4")
	h.waitStatus("4 nodes online", 30*time.Second, func(st *status) bool { return st.online() == 4 })
	if got := caFingerprints(t, filepath.Join(h.dir, "n4", "ca.pem")); len(got) != 1 || got[0] != thirdCA[0] {
		t.Errorf("n4 trusts %v, want %s", got, thirdCA[0])
	}
}

// caFingerprints returns the SHA-256 fingerprints of a PEM bundle's
// certificates.
func caFingerprints(t *testing.T, path string) []string {
	t.Helper()
	b := mustReadFile(t, path)
	var out []string
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			return out
		}
		sum := sha256.Sum256(blk.Bytes)
		out = append(out, hex.EncodeToString(sum[:]))
	}
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// "paceline demo --once" tells its story (cluster up, the node running web
// crashes, web recovers elsewhere, the node comes back) and exits 0 only
// if the recovery happened; it leaves no process behind.
func TestDemoOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process demo test skipped in -short mode")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "paceline")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/paceline/paceline/cmd/paceline").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "demo", "--once")
	cache := filepath.Join(dir, "cache")
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo --once: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
		}
	case <-time.After(3 * time.Minute):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("demo --once did not finish in 3 minutes:\n%s", out.String())
	}
	for _, want := range []string{"web recovered on", "done: web recovered from the crash of"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
	// Its data directory (in the user's cache directory, not a shared
	// temporary one) is gone.
	if !strings.Contains(out.String(), "data in "+filepath.Join(cache, "paceline", "paceline-demo-")) {
		t.Errorf("demo did not keep its data in %s:\n%s", filepath.Join(cache, "paceline"), out.String())
	}
	if left, _ := filepath.Glob(filepath.Join(cache, "paceline", "paceline-demo-*")); len(left) > 0 {
		t.Errorf("demo left %v behind", left)
	}
	// The status it prints once the crashed node is back shows web still
	// running, not the restarted node's old state.
	_, back, _ := strings.Cut(out.String(), "bringing")
	if !regexp.MustCompile(`(?m)^\s+\* web\s+\(builtin:process\):\s+Started n\d`).MatchString(back) {
		t.Errorf("the status after the node came back does not show web Started:\n%s", back)
	}
}

// foreignClient presents a self-signed certificate (not from the
// cluster's CA), whatever the server asks for.
func foreignClient(t *testing.T) *http.Client {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "n1", OrganizationalUnit: []string{"server"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }}}}
}

// A node that restarts has the state it saved, older than the cluster's,
// until the leader brings it up to date. Its API must not answer from that
// old copy: it waits for the copy to catch up, or answers 503 with
// Paceline-Retry-Elsewhere (the CLI then tries its next address). Here db
// is created while n3 is down; n3 then restarts while n1 and n2 are down,
// so it cannot catch up: it must refuse, not show a cluster without db;
// once they are back, it answers with db.
func TestRestartedNodeAnswersOnlyOnceCaughtUp(t *testing.T) {
	h, _ := startCluster(t)
	h.kill("n3")
	h.must("resource", "create", "db", "builtin:dummy")
	h.kill("n1")
	h.kill("n2")
	h.agent("n3")
	only3 := append(slices.Clone(h.env), "PACELINE_ADDR=https://"+h.addr("n3"))
	// poll asks n3 for its status: answered (always with db, or the test
	// fails) or refused as behind.
	poll := func() (answered, refused bool) {
		cmd := exec.Command(h.bin, "status", "--json")
		cmd.Env = only3
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return false, strings.Contains(errb.String(), "ask another node")
		}
		var st status
		if err := json.Unmarshal(out.Bytes(), &st); err != nil {
			t.Fatalf("status --json: %v: %q", err, out.String())
		}
		for _, r := range st.Resources {
			if r.ID == "db" {
				return true, false
			}
		}
		t.Fatalf("restarted n3 answered from its old state (no db): %s", out.String())
		return true, false
	}
	refusals := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && refusals < 2; time.Sleep(50 * time.Millisecond) {
		if answered, refused := poll(); answered {
			t.Fatal("n3 answered with db before it could reach n1 or n2")
		} else if refused {
			refusals++
		}
	}
	if refusals == 0 {
		t.Fatal("n3 alone, restarted, never said it has not reached the cluster")
	}
	h.agent("n1")
	h.agent("n2")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if answered, _ := poll(); answered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("n3 did not answer after n1 and n2 came back")
		}
	}
}

// An agent killed and started again before its lease expires keeps its
// node online, and its resources keep running (the dummy's state file
// stays). The new agent knows nothing of the old one's ops: the leader
// must clear the node's history and probe it again, and monitor what runs
// there anew. Then a failure there is noticed (the state file removed),
// and web recovers.
func TestAgentRestartedInPlaceMonitorsAgain(t *testing.T) {
	h, st := startCluster(t)
	_, nodes := h.web(st)
	on := nodes[0]
	state := filepath.Join(h.dir, on, "run", "dummy-web.state")
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("web runs on %s but its state file: %v", on, err)
	}
	h.kill(on)
	h.agent(on)
	h.waitStatus(on+"'s new agent renewing, web still on it", 20*time.Second, func(st *status) bool {
		role, nodes := h.web(st)
		return st.Quorum && st.online() == 3 && role == "Started" && len(nodes) == 1 && nodes[0] == on
	})
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("web's state file on %s after the agent restart: %v", on, err)
	}
	time.Sleep(3 * time.Second) // the probe and a monitor or two
	if err := os.Remove(state); err != nil {
		t.Fatal(err)
	}
	removed := time.Now()
	for deadline := removed.Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(state); err == nil {
			break // restarted in place after its monitor failed
		}
		if st, err := h.status(); err == nil {
			if role, nodes := h.web(st); role == "Started" && len(nodes) == 1 && nodes[0] != on {
				break // or moved
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("web's state file on %s removed %v ago and nothing noticed: no monitor runs there since its agent restarted", on, time.Since(removed).Round(time.Second))
		}
	}
	t.Logf("web recovered %v after its failure on %s", time.Since(removed).Round(time.Millisecond), on)
}
