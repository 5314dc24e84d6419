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
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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

type harness struct {
	t      *testing.T
	bin    string
	dir    string
	env    []string
	agents map[string]*exec.Cmd
	ports  map[string]int
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
	cmd := exec.Command(h.bin, "agent", "--data-dir", filepath.Join(h.dir, name))
	cmd.Env = h.env
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

func TestThreeNodeClusterOnLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test skipped in -short mode")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "paceline")
	build := exec.Command("go", "build", "-o", bin, "github.com/paceline/paceline/cmd/paceline")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	h := &harness{t: t, bin: bin, dir: dir, agents: map[string]*exec.Cmd{}, ports: map[string]int{}}
	t.Cleanup(func() {
		for name := range h.agents {
			h.kill(name)
		}
		if t.Failed() {
			for _, n := range []string{"n1", "n2", "n3"} {
				b, _ := os.ReadFile(filepath.Join(dir, n+".log"))
				t.Logf("--- %s.log ---\n%s", n, b)
			}
		}
	})
	taken := map[int]bool{}
	for _, n := range []string{"n1", "n2", "n3"} {
		h.ports[n] = freePort(t, taken)
	}
	addr := func(n string) string { return fmt.Sprintf("127.0.0.1:%d", h.ports[n]) }
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PACELINE_") {
			env = append(env, kv)
		}
	}
	h.env = env

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
		online := 0
		for _, n := range st.Nodes {
			if n.State == "online" {
				online++
			}
		}
		role, nodes := h.web(st)
		return st.Quorum && online == 3 && role == "Started" && len(nodes) == 1
	})
	for _, r := range st.Resources {
		if r.ID == "web" && r.Agent != "builtin:dummy" {
			t.Errorf("web agent %q", r.Agent)
		}
	}
	_, nodes := h.web(st)
	victim, leader := nodes[0], st.Leader
	epoch := st.Epoch
	export := h.must("config", "export")

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
	cmd.Env = append(os.Environ(), "TMPDIR="+dir)
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
	// Its temporary data directory is gone.
	if left, _ := filepath.Glob(filepath.Join(dir, "paceline-demo-*")); len(left) > 0 {
		t.Errorf("demo left %v behind", left)
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
