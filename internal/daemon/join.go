package daemon

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/paceline/paceline/internal/consensus"
	"github.com/paceline/paceline/internal/fence"
	"github.com/paceline/paceline/internal/peer"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// Joining a cluster takes two steps, so the Raft membership change is
// made only once the new node's Raft transport is listening:
//
//  1. `paceline join` (Join) fetches the cluster CA from the seed, checks
//     its fingerprint against the one the join token carries, and trades
//     the single-use token for a node certificate over TLS verified with
//     that CA (POST /v1/join on the seed, which must hold the CA key). It
//     writes the node's files and a mark naming the seed.
//  2. The first `paceline agent` start asks the seed, over mutual TLS with
//     the new certificate, to add it (POST /internal/v1/join); the seed
//     forwards to the leader. Name and role come from the certificate.

// joinFile marks a data directory whose node still has to be added to
// the cluster; it holds the seed's address.
const joinFile = "join"

// JoinOptions are the inputs of `paceline join`.
type JoinOptions struct {
	Name, Role, DataDir, Listen, Advertise string
	// Token is the join token (paceline token create).
	Token string
	// Seed is HOST:PORT of a node of the cluster that holds the CA key.
	Seed string
}

// joinRequest is POST /v1/join.
type joinRequest struct {
	Token     string `json:"token"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	Advertise string `json:"advertise"`
	RaftAddr  string `json:"raft_addr"`
}

// joinResponse carries the new node's credentials.
type joinResponse struct {
	// TrustPEM are the CAs trusted beside the signing one (during a CA
	// rotation), so the new node accepts members not yet renewed.
	TrustPEM []string          `json:"trust_pem,omitempty"`
	CertPEM  string            `json:"cert_pem"`
	KeyPEM   string            `json:"key_pem"`
	Tokens   []pki.TokenRecord `json:"tokens"`
}

// joinHandler serves /v1/join/ca and /v1/join (no API token: the join
// token is the credential).
type joinHandler struct {
	ca     func() *pki.CA // the current CA (pki.Keyring.CA)
	tokens *pki.JoinTokens
	apiTok func() []pki.TokenRecord
	node   *consensus.Node
}

func (h *joinHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/join/ca":
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Write(pki.EncodeCert(h.ca().Cert))
	case r.Method == http.MethodPost && r.URL.Path == "/v1/join":
		h.join(w, r)
	default:
		peer.Error(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	}
}

func (h *joinHandler) join(w http.ResponseWriter, r *http.Request) {
	var req joinRequest
	if err := peer.DecodeStrict(http.MaxBytesReader(w, r.Body, 64<<10), &req); err != nil {
		peer.Error(w, http.StatusBadRequest, "join request: "+err.Error())
		return
	}
	ca := h.ca()
	if !ca.KeyMatches() {
		peer.Error(w, http.StatusServiceUnavailable, "this node does not hold the cluster CA key; join through the node that ran init")
		return
	}
	role := pki.Role(req.Role)
	if !role.NodeRole() {
		peer.Error(w, http.StatusBadRequest, fmt.Sprintf("role %q: want server, witness or client", req.Role))
		return
	}
	if !nameRE.MatchString(req.Name) {
		peer.Error(w, http.StatusBadRequest, fmt.Sprintf("name %q: 1-63 letters, digits, '.', '_' or '-'", req.Name))
		return
	}
	var hosts []string
	for _, a := range []string{req.Advertise, req.RaftAddr} {
		host, _, err := net.SplitHostPort(a)
		if err != nil || host == "" {
			peer.Error(w, http.StatusBadRequest, fmt.Sprintf("address %q: want HOST:PORT", a))
			return
		}
		hosts = append(hosts, host)
	}
	var (
		exists  bool
		twoNode error
	)
	h.node.Read(func(s *store.Store) {
		_, exists = s.MemberState(req.Name)
		twoNode = fence.TwoNodeJoin(s.Config(), store.Roles(s.MemberStates()), req.Name, req.Role)
	})
	if exists {
		peer.Error(w, http.StatusConflict, fmt.Sprintf("node %q is already a member", req.Name))
		return
	}
	if twoNode != nil {
		peer.Error(w, http.StatusConflict, strings.TrimPrefix(twoNode.Error(), "fence: "))
		return
	}
	// The token is spent only by a request that is otherwise acceptable.
	if err := h.tokens.Redeem(req.Token, time.Now()); err != nil {
		peer.Error(w, http.StatusUnauthorized, "join token refused: "+err.Error())
		return
	}
	nc, err := ca.Issue(req.Name, role, hosts, time.Now(), certValidity)
	if err != nil {
		peer.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	resp := joinResponse{CertPEM: string(nc.CertPEM), KeyPEM: string(nc.KeyPEM), Tokens: h.apiTok()}
	for _, t := range ca.Trust {
		resp.TrustPEM = append(resp.TrustPEM, string(pki.EncodeCert(t)))
	}
	peer.WriteJSON(w, resp)
}

// Join makes DataDir a node of an existing cluster (step 1 above).
func Join(ctx context.Context, o JoinOptions) error {
	c, err := nodeConfig(o.Name, o.Role, o.DataDir, o.Listen, o.Advertise)
	if err != nil {
		return err
	}
	p := pki.Paths{Dir: c.DataDir}
	if _, err := os.Stat(p.CACert()); err == nil {
		return fmt.Errorf("join: %s exists; this node already belongs to a cluster", p.CACert())
	}
	jt, err := pki.ParseJoinToken(strings.TrimSpace(o.Token))
	if err != nil {
		return fmt.Errorf("join token: %w", err)
	}
	ca, err := fetchCA(ctx, o.Seed, jt.CAFingerprint)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool}}}
	body, _ := json.Marshal(joinRequest{Token: strings.TrimSpace(o.Token), Name: c.Name, Role: c.Role, Advertise: c.Advertise, RaftAddr: raftAdvertise(c)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+o.Seed+"/v1/join", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("join: seed %q: %w", o.Seed, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		json.Unmarshal(b, &e)
		return fmt.Errorf("join: %s refused: %s", o.Seed, e.Error)
	}
	var jr joinResponse
	if err := json.Unmarshal(b, &jr); err != nil {
		return fmt.Errorf("join: bad answer from %s: %w", o.Seed, err)
	}
	bundle := &pki.CA{Cert: ca}
	for _, t := range jr.TrustPEM {
		c, err := pki.ParseCert([]byte(t))
		if err != nil || !c.IsCA {
			return fmt.Errorf("join: bad trusted CA from %s", o.Seed)
		}
		bundle.Trust = append(bundle.Trust, c)
	}
	if err := bundle.Save(p); err != nil {
		return err
	}
	if err := pki.SaveNode(p, pki.NodeCert{CertPEM: []byte(jr.CertPEM), KeyPEM: []byte(jr.KeyPEM)}); err != nil {
		return err
	}
	if err := pki.SaveTokens(p.Tokens(), jr.Tokens); err != nil {
		return err
	}
	if err := writeNodeFile(c); err != nil {
		return err
	}
	return pki.WriteFile(filepath.Join(c.DataDir, joinFile), []byte(o.Seed+"\n"), 0o600)
}

// fetchCA gets the seed's CA certificate and accepts it only if its
// fingerprint is the one the join token carries and the seed's own
// certificate chains to it.
func fetchCA(ctx context.Context, seed, fingerprint string) (*x509.Certificate, error) {
	var leaf *x509.Certificate
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		MinVersion: tls.VersionTLS13,
		// Verified below against the pinned CA fingerprint.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no server certificate")
			}
			leaf = cs.PeerCertificates[0]
			return nil
		},
	}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+seed+"/v1/join/ca", nil)
	if err != nil {
		return nil, fmt.Errorf("join: seed %q: %w", seed, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("join: fetch the cluster CA from %s: %w", seed, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	ca, err := pki.ParseCert(b)
	if err != nil {
		return nil, fmt.Errorf("join: CA from %s: %w", seed, err)
	}
	if got := pki.Fingerprint(ca); got != fingerprint {
		return nil, fmt.Errorf("join: the CA of %s (%s) is not the one the join token names (%s)", seed, got, fingerprint)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if leaf == nil {
		return nil, fmt.Errorf("join: %s presented no certificate", seed)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		return nil, fmt.Errorf("join: %s's certificate is not from the cluster CA: %w", seed, err)
	}
	return ca, nil
}

// peerJoinRequest is POST /internal/v1/join: the caller (named by its
// certificate) asks to be added with these addresses.
type peerJoinRequest struct {
	RaftAddr string `json:"raft_addr"`
	APIAddr  string `json:"api_addr"`
	// Node and Role are set when a seed forwards to the leader.
	Node string `json:"node,omitempty"`
	Role string `json:"role,omitempty"`
	// Serial is the joining node's certificate serial (pki.Serial), set
	// by the seed that forwards; the leader records it (store.NodeCert).
	Serial string `json:"serial,omitempty"`
}

// completeJoin is step 2: called by the agent when the join mark exists,
// after its Raft transport listens. It retries until the seed answers or
// ctx ends, then drops the mark.
func completeJoin(ctx context.Context, c Config, peers *peer.Client, logf func(string, ...any)) error {
	mark := filepath.Join(c.DataDir, joinFile)
	b, err := os.ReadFile(mark)
	if err != nil {
		return nil
	}
	seed := strings.TrimSpace(string(b))
	req := peerJoinRequest{RaftAddr: raftAdvertise(c), APIAddr: c.Advertise}
	for {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := peers.PostAddr(cctx, seed, "join", req, nil)
		cancel()
		if err == nil {
			logf("joined the cluster through %s", seed)
			return os.Remove(mark)
		}
		logf("join through %s: %v (retrying)", seed, err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
