package negative

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/daemon"
	"github.com/paceline/paceline/internal/peer"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/pki/pkitest"
)

// agentEnv is one real agent (daemon.Run in this process) on loopback:
// the refusals of node-to-node security (certificates, join tokens, key
// files) need its TLS listeners, its join endpoint and its files.
type agentEnv struct {
	dir, api, raft string
	admin          *api.Client
	client         func(token string) *api.Client
	logs           *strings.Builder
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startAgent(t *testing.T) *agentEnv {
	t.Helper()
	e := &agentEnv{dir: filepath.Join(t.TempDir(), "n1"), api: freeAddr(t), raft: freeAddr(t), logs: &strings.Builder{}}
	res, err := daemon.Init(daemon.InitOptions{Name: "n1", DataDir: e.dir, Listen: e.api, Advertise: e.api})
	if err != nil {
		t.Fatal(err)
	}
	c, err := daemon.LoadConfig(os.DevNull, nil, map[string]string{"name": "n1", "data_dir": e.dir,
		"listen": e.api, "advertise": e.api, "raft_listen": e.raft, "run_dir": filepath.Join(e.dir, "run")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	pr, pw := io.Pipe()
	go func() { b, _ := io.ReadAll(pr); e.logs.Write(b) }()
	go func() { done <- daemon.Run(ctx, c, pw); pw.Close() }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	ca, err := os.ReadFile(res.CACert)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(res.AdminToken)
	if err != nil {
		t.Fatal(err)
	}
	e.client = func(token string) *api.Client {
		cl, err := api.New(api.ClientConfig{Addrs: []string{"https://" + e.api}, Token: token, CACertPEM: ca, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	e.admin = e.client(strings.TrimSpace(string(tok)))
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		// Bootstrapped: a member, and the CA recorded.
		st, err := e.admin.Status(context.Background())
		if ca, cerr := e.admin.CA(context.Background()); err == nil && cerr == nil && st.Leader == "n1" && len(st.Nodes) == 1 && ca.Holder == "n1" && len(ca.Nodes) == 1 && ca.Nodes[0].Current {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent did not come up:\n%s", e.logs.String())
		}
	}
	return e
}

// snapshot is what a refusal must not change: the configuration epoch,
// the members and the CA.
func (e *agentEnv) snapshot(t *testing.T) string {
	t.Helper()
	st, err := e.admin.Status(context.Background())
	if err != nil {
		t.Fatalf("the agent stopped serving: %v", err)
	}
	ca, err := e.admin.CA(context.Background())
	if err != nil {
		t.Fatalf("the agent stopped serving: %v", err)
	}
	var nodes []string
	for _, n := range st.Nodes {
		nodes = append(nodes, n.Name)
	}
	sort.Strings(nodes)
	return fmt.Sprintf("epoch=%d nodes=%v ca=%s rotating=%v", st.Epoch, nodes, ca.Signing.Fingerprint, ca.Rotating)
}

// foreignCert is a node certificate of another cluster, with the same
// node name and role as a member.
func foreignCert(t *testing.T) tls.Certificate {
	t.Helper()
	other, err := pki.NewCA("other", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return pkitest.Cert(t, other, "n1")
}

// TestNegativeNode is the node-level part of the negative suite: each
// case must fail with a clear message, change nothing (epoch, members,
// CA) and leave the agent serving.
func TestNegativeNode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real agent")
	}
	e := startAgent(t)
	ctx := context.Background()
	joinDir := func(name string) string { return filepath.Join(filepath.Dir(e.dir), name) }
	join := func(name, token string) error {
		return daemon.Join(ctx, daemon.JoinOptions{Name: name, DataDir: joinDir(name), Listen: freeAddr(t), Token: token, Seed: e.api})
	}
	newJoinToken := func(ttl time.Duration) string {
		r, err := e.admin.CreateJoinToken(ctx, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return r.Token
	}
	cases := []struct {
		name string
		run  func(t *testing.T) error
		want []string // in the error
	}{
		{name: "node certificate from another cluster on a peer endpoint", run: func(t *testing.T) error {
			cert := foreignCert(t)
			hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true,
				GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }}}}
			resp, err := hc.Post("https://"+e.api+peer.Prefix+"propose", "application/json", strings.NewReader("{}"))
			if err == nil {
				resp.Body.Close()
				return fmt.Errorf("answered %d", resp.StatusCode)
			}
			return err
		}, want: []string{"unknown certificate authority"}},
		{name: "node certificate from another cluster on the Raft port", run: func(t *testing.T) error {
			cert := foreignCert(t)
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", e.raft,
				&tls.Config{InsecureSkipVerify: true, GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }})
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			_, err = c.Read(make([]byte, 1)) // TLS 1.3: the refusal comes with the first read
			return err
		}, want: []string{"unknown certificate authority"}},
		{name: "peer endpoint without a node certificate", run: func(t *testing.T) error {
			hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
			resp, err := hc.Post("https://"+e.api+peer.Prefix+"renew", "application/json", strings.NewReader("{}"))
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
		}, want: []string{"403", "not a node of this cluster"}},
		{name: "reused join token", run: func(t *testing.T) error {
			tok := newJoinToken(10 * time.Minute)
			if err := join("j1", tok); err != nil {
				t.Fatalf("first use: %v", err)
			}
			err := join("j2", tok)
			if _, serr := os.Stat(filepath.Join(joinDir("j2"), "node.key")); serr == nil {
				t.Error("the refused join wrote a node key")
			}
			return err
		}, want: []string{"join token refused", "already used"}},
		{name: "expired join token", run: func(t *testing.T) error {
			tok := newJoinToken(time.Millisecond)
			time.Sleep(20 * time.Millisecond)
			return join("j3", tok)
		}, want: []string{"join token refused", "expired"}},
		{name: "join token of another cluster", run: func(t *testing.T) error {
			other, _ := pki.NewCA("other", time.Now(), time.Hour)
			tok, _, _ := pki.NewJoinTokens(other.Fingerprint()).Issue(time.Now(), time.Minute)
			return join("j4", tok)
		}, want: []string{"is not the one the join token names"}},
		{name: "key file with mode 0644", run: func(t *testing.T) error {
			dir := joinDir("j1") // joined above, never started
			key := filepath.Join(dir, "node.key")
			if err := os.Chmod(key, 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := daemon.LoadConfig(os.DevNull, nil, map[string]string{"name": "j1", "data_dir": dir,
				"listen": freeAddr(t), "raft_listen": freeAddr(t)})
			if err != nil {
				t.Fatal(err)
			}
			err = daemon.Run(ctx, c, io.Discard)
			if err != nil && !strings.Contains(err.Error(), key) {
				t.Errorf("error %q does not name %s", err, key)
			}
			return err
		}, want: []string{"mode 0644", "want 0600"}},
	}
	for _, role := range []string{"viewer", "operator"} {
		cases = append(cases, struct {
			name string
			run  func(t *testing.T) error
			want []string
		}{name: role + " rotates the CA", run: func(t *testing.T) error {
			r, err := e.admin.CreateToken(ctx, role, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.client(r.Token).RotateCA(ctx)
			return err
		}, want: []string{"403", "role " + role, "needs admin"}})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snapshot(t)
			err := tc.run(t)
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			if after := e.snapshot(t); after != before {
				t.Errorf("state changed:\nbefore %s\nafter  %s", before, after)
			}
			t.Logf("refused: %s", msg)
		})
	}
}
