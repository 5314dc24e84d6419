package daemon

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/consensus"
	"github.com/paceline/paceline/internal/httpapi"
	"github.com/paceline/paceline/internal/peer"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// CA rotation without downtime.
//
// The cluster's CA bundle is replicated state (store.CASet): the CA that
// signs first, then those still trusted, and the member that holds the
// signing key (the node that ran init). Every node runs a caManager that,
// at every change of the store and every few seconds, brings three things
// in line with it:
//
//  1. trust: ca.pem and the node's keyring (pki.Keyring, which every TLS
//     configuration of the node reads at each handshake) hold the
//     replicated bundle; the holder moves the new CA's key from
//     ca-next.key to ca.key;
//  2. its certificate: when the signing CA did not issue it, or it has
//     less than a third of its lifetime left (pki.DueForRenewal), the
//     node makes a new key and a certificate request and has the holder sign
//     it (POST /internal/v1/renew: name, role and hosts come from the
//     caller's verified certificate), saves it (pki.SaveRenewedNode) and
//     switches the keyring: the next connections use it;
//  3. the record: the leader records each member's certificate (serial,
//     issuer, expiry) from the one the member presents (POST
//     /internal/v1/cert), so the cluster knows who has renewed.
//
// On the leader, once every member's recorded certificate comes from the
// signing CA, the old CA is dropped (a CASet with the signing CA alone).
// Then, and after every revocation, connections whose peer certificate
// is revoked or no longer trusted are closed (Raft:
// consensus.TLSTransport.CloseWhere; peer calls check both on every
// call): TLS verifies a peer only in the handshake.
//
// `paceline ca rotate` (RotateCA) makes the new CA on the holder. Its key
// is written to ca-next.key before the new bundle is proposed, so a crash
// at any point leaves a key that matches the bundle ca.pem names
// (pki.LoadCA). Join tokens issued before a rotation name the old CA and
// no longer work.

// caValidity and certValidity are the lifetimes of a new CA and of a
// renewed node certificate (as init and join issue them).
const (
	caValidity   = 10 * 365 * 24 * time.Hour
	certValidity = 2 * 365 * 24 * time.Hour
)

// caInterval is how often a node reconciles without a store change (a
// holder that was down), caRetry how soon after a failed step (a renewal
// the holder could not sign yet).
const (
	caInterval = 2 * time.Second
	caRetry    = 250 * time.Millisecond
)

// caManager keeps one node's CA material in line with the replicated
// bundle (see above).
type caManager struct {
	name    string
	paths   pki.Paths
	node    *consensus.Node
	keys    *pki.Keyring
	peers   *peer.Client
	joins   *pki.JoinTokens
	propose func(context.Context, store.Command) (store.Result, error)
	// trans is the Raft transport whose connections are cut (nil: none).
	trans   *consensus.TLSTransport
	revoked func(serial string) bool
	logf    func(string, ...any)

	mu      sync.Mutex // one reconcile or rotation at a time
	applied []string   // the bundle last installed
	// agedRenewal is when this node last renewed its certificate because
	// it was due (pki.DueForRenewal).
	agedRenewal time.Time
	lastErr     string // the last reconcile error logged (not repeated)
	// cutFor is what the last cut checked connections against: the
	// trusted CAs and the length of the revocation list, and when.
	// Handshakes check both, so only connections made before either
	// changed need a look (again after caInterval, for a handshake that
	// was under way during the change).
	cutFor struct {
		ca      *pki.CA
		revoked int
		at      time.Time
	}
}

// caGenerationFile keeps the generation (store.CA.Generation) of the
// bundle this node installed last, so that after a restart it does not
// trust the older bundles it replays (a CA dropped since).
const caGenerationFile = "ca.generation"

func (m *caManager) installed() uint64 {
	b, err := os.ReadFile(filepath.Join(m.paths.Dir, caGenerationFile))
	if err != nil {
		return 0
	}
	g, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return g
}

// run reconciles until ctx ends.
func (m *caManager) run(ctx context.Context) {
	var idx uint64
	for ctx.Err() == nil {
		wait := caInterval
		if err := m.reconcile(ctx); err != nil {
			wait = caRetry
		}
		wctx, cancel := context.WithTimeout(ctx, wait)
		next, err := m.node.WaitChange(wctx, idx)
		cancel()
		if errors.Is(err, consensus.ErrShutdown) {
			return
		}
		idx = next
	}
}

// state reads the replicated bundle (parsed) and this node's record.
func (m *caManager) state() (st store.CA, certs []*x509.Certificate, me store.Member, err error) {
	m.node.Read(func(s *store.Store) {
		st = s.CA()
		me, _ = s.MemberState(m.name)
	})
	for _, c := range st.Certs {
		cert, perr := pki.ParseCert([]byte(c))
		if perr != nil {
			return st, nil, me, fmt.Errorf("replicated CA bundle: %w", perr)
		}
		certs = append(certs, cert)
	}
	return st, certs, me, nil
}

// reconcile runs the steps above once; errors are logged (once each) and
// returned, to be retried soon.
func (m *caManager) reconcile(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	err := m.step(ctx)
	if err != nil && err.Error() != m.lastErr && !errors.Is(err, errCatchingUp) {
		m.logf("CA: %v (retrying)", err)
	}
	m.lastErr = ""
	if err != nil {
		m.lastErr = err.Error()
	}
	m.cut()
	return err
}

// errCatchingUp: a restarted node replaying the log would install the
// bundles of the past (trust a CA dropped since) on its way to the
// current one. CaughtUp avoids most of that; the installed generation
// (caGenerationFile) all of it, also between two batches of a replay.
var errCatchingUp = errors.New("catching up with the cluster's state")

func (m *caManager) step(ctx context.Context) error {
	if !m.node.CaughtUp() {
		return errCatchingUp
	}
	st, certs, me, err := m.state()
	if err != nil || len(certs) == 0 {
		return err // no replicated bundle: a cluster from before rotation
	}
	if !slices.Equal(st.Certs, m.applied) {
		if err := m.trust(st, certs); err != nil {
			return err
		}
	}
	leaf := m.keys.Leaf()
	signing := &pki.CA{Cert: certs[0]}
	// Renewed for its age at most once an hour: a holder whose clock is
	// far behind would sign certificates that are due at once.
	aged := signing.Issued(leaf) && pki.DueForRenewal(leaf, time.Now()) && time.Since(m.agedRenewal) > time.Hour
	if !signing.Issued(leaf) || aged {
		if aged {
			m.agedRenewal = time.Now()
			m.logf("CA: this node's certificate expires %s: renewing it", leaf.NotAfter.UTC().Format(time.RFC3339))
		}
		if err := m.renew(ctx, st.Holder, signing); err != nil {
			return err
		}
		leaf = m.keys.Leaf()
	}
	if me.CertSerial != pki.Serial(leaf) || me.CertIssuer != issuerOf(leaf, certs) {
		if err := m.record(ctx, leaf, certs); err != nil {
			return err
		}
	}
	if len(certs) > 1 && m.node.IsLeader() {
		return m.finish(ctx, st, certs)
	}
	return nil
}

// trust installs the replicated bundle: ca.pem, the keyring and, on the
// holder, the signing key.
func (m *caManager) trust(st store.CA, certs []*x509.Certificate) error {
	if st.Generation < m.installed() {
		return errCatchingUp
	}
	ca := &pki.CA{Cert: certs[0], Trust: certs[1:]}
	cur := m.keys.CA()
	fromNext := false
	if st.Holder == m.name {
		if ca.Key = cur.Key; !ca.KeyMatches() {
			ca.Key, _ = pki.LoadKey(m.paths.CANextKey())
			if fromNext = ca.KeyMatches(); !fromNext {
				ca.Key = nil
				m.logf("CA: this node holds the CA %s by the replicated state but has no key for it", pki.Fingerprint(certs[0]))
			}
		}
	}
	if err := m.keys.Set(ca, m.keys.Certificate()); err != nil {
		return fmt.Errorf("the replicated CA bundle does not hold the CA of this node's certificate (normal while catching up on an old state; a node left out of a finished rotation must be removed and join again): %w", err)
	}
	if err := ca.Save(m.paths); err != nil {
		return err
	}
	if err := pki.WriteFile(filepath.Join(m.paths.Dir, caGenerationFile), []byte(strconv.FormatUint(st.Generation, 10)+"\n"), 0o600); err != nil {
		return err
	}
	if fromNext {
		if err := os.Remove(m.paths.CANextKey()); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	if m.joins != nil {
		m.joins.SetFingerprint(ca.Fingerprint())
	}
	was := m.applied
	m.applied = append([]string(nil), st.Certs...)
	if was != nil || len(certs) > 1 {
		m.logf("CA: trusting %s (signing %s)", fingerprints(certs), ca.Fingerprint())
	}
	return nil
}

// renew has the holder sign a new key for this node and switches to it.
func (m *caManager) renew(ctx context.Context, holder string, signing *pki.CA) error {
	csr, keyPEM, err := pki.NewRenewal()
	if err != nil {
		return err
	}
	var certPEM []byte
	if holder == m.name {
		if certPEM, err = m.sign(csr, m.keys.Leaf()); err != nil {
			return err
		}
	} else {
		var resp peerRenewResponse
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := m.peers.Post(cctx, holder, "renew", peerRenew{CSR: string(csr)}, &resp)
		cancel()
		if err != nil {
			return fmt.Errorf("renew this node's certificate at %s: %w", holder, err)
		}
		certPEM = []byte(resp.CertPEM)
	}
	nc := pki.NodeCert{CertPEM: certPEM, KeyPEM: keyPEM}
	cert, err := nc.TLSCertificate()
	if err != nil {
		return fmt.Errorf("renewed certificate from %s: %w", holder, err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return fmt.Errorf("renewed certificate from %s: %w", holder, err)
	}
	want, _ := pki.IdentityOf(m.keys.Leaf())
	if got, err := pki.IdentityOf(leaf); err != nil || got != want || !signing.Issued(leaf) {
		return fmt.Errorf("renewed certificate from %s: names %+v, want %+v from CA %s", holder, got, want, signing.Fingerprint())
	}
	if err := pki.SaveRenewedNode(m.paths, nc); err != nil {
		return err
	}
	if err := m.keys.Set(m.keys.CA(), cert); err != nil {
		return err
	}
	// Pooled connections still present the old certificate.
	m.peers.Reset()
	m.logf("CA: certificate renewed by CA %s (serial %s)", signing.Fingerprint(), pki.Serial(leaf))
	return nil
}

// sign renews the certificate current (a verified, unrevoked peer's, or
// this node's) with the signing CA; only the holder can.
func (m *caManager) sign(csr []byte, current *x509.Certificate) ([]byte, error) {
	ca := m.keys.CA()
	if !ca.KeyMatches() {
		return nil, errNotHolder
	}
	// Only with the CA the replicated state names: a request may come
	// before this node has installed a new bundle.
	st, certs, _, err := m.state()
	if err != nil || len(certs) == 0 || !certs[0].Equal(ca.Cert) {
		return nil, fmt.Errorf("%w: the signing CA is not installed on this node yet", errNotHolder)
	}
	if ca.Issued(current) && !pki.DueForRenewal(current, time.Now()) {
		return nil, fmt.Errorf("%w: the certificate is from CA %s and valid until %s", errNothingToRenew, ca.Fingerprint(), current.NotAfter.UTC().Format(time.DateOnly))
	}
	leaf, err := ca.Renew(csr, current, time.Now(), certValidity)
	if err != nil {
		return nil, err
	}
	// During a rotation the new CA cross-signed by the old one follows
	// the certificate, for nodes that only know the old CA yet.
	if len(st.Certs) > 1 && st.Cross != "" {
		leaf = append(leaf, st.Cross...)
	}
	return leaf, nil
}

var (
	errNotHolder      = errors.New("this node does not hold the signing CA's key")
	errNothingToRenew = errors.New("nothing to renew")
)

// record has the leader record the certificate this node presents.
func (m *caManager) record(ctx context.Context, leaf *x509.Certificate, certs []*x509.Certificate) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if m.node.IsLeader() {
		return recordCert(cctx, m.node, certRecord(m.name, leaf, issuerOf(leaf, certs)))
	}
	leader := m.node.LeaderID()
	if leader == "" {
		return errors.New("record this node's certificate: no leader")
	}
	if err := m.peers.Post(cctx, leader, "cert", struct{}{}, nil); err != nil {
		return fmt.Errorf("record this node's certificate at %s: %w", leader, err)
	}
	return nil
}

// finish drops the old CAs once every member's recorded certificate is
// from the signing one (on the leader).
func (m *caManager) finish(ctx context.Context, st store.CA, certs []*x509.Certificate) error {
	fp := pki.Fingerprint(certs[0])
	renewed := true
	m.node.Read(func(s *store.Store) {
		for _, mem := range s.Members() {
			renewed = renewed && mem.CertIssuer == fp
		}
	})
	if !renewed {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := m.node.Apply(cctx, store.NewCASet(store.CASet{Certs: st.Certs[:1], Holder: st.Holder, At: time.Now().UnixMilli()}))
	if err == nil {
		err = res.Err
	}
	if err != nil {
		return fmt.Errorf("drop the old CA: %w", err)
	}
	m.logf("CA: rotation finished: every member has a certificate from %s; %s no longer trusted", fp, fingerprints(certs[1:]))
	return nil
}

// cut closes Raft connections whose peer certificate is revoked or from a
// CA no longer trusted, when either changed since it last looked.
func (m *caManager) cut() {
	if m.trans == nil {
		return
	}
	ca, revoked := m.keys.CA(), 0
	m.node.Read(func(s *store.Store) { revoked = s.RevocationCount() })
	if m.cutFor.ca == ca && m.cutFor.revoked == revoked && time.Since(m.cutFor.at) < caInterval {
		return
	}
	m.cutFor.ca, m.cutFor.revoked, m.cutFor.at = ca, revoked, time.Now()
	n := m.trans.CloseWhere(func(peer []*x509.Certificate) bool {
		return (m.revoked != nil && m.revoked(pki.Serial(peer[0]))) || !m.keys.Trusts(peer...)
	})
	if n > 0 {
		m.logf("closed %d Raft connection(s) of a revoked or no longer trusted certificate", n)
	}
}

// rotate starts a rotation on the holder: a new CA, its key in
// ca-next.key, then the bundle new + current proposed.
func (m *caManager) rotate(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, _, _, err := m.state()
	if err != nil {
		return err
	}
	if len(st.Certs) > 1 {
		return httpapi.ErrRotating
	}
	cur := m.keys.CA()
	if !cur.KeyMatches() {
		return errNotHolder
	}
	cluster := strings.TrimPrefix(cur.Cert.Subject.CommonName, "paceline cluster CA ")
	next, err := pki.NewCA(cluster, time.Now(), caValidity)
	if err != nil {
		return err
	}
	if err := pki.SaveKey(m.paths.CANextKey(), next.Key); err != nil {
		return err
	}
	set := store.CASet{Certs: []string{string(pki.EncodeCert(next.Cert)), string(pki.EncodeCert(cur.Cert))}, Holder: m.name, At: time.Now().UnixMilli()}
	if cross, err := cur.CrossSign(next.Cert); err != nil {
		m.logf("CA: %v: a node down now must be back before the rotation can finish, or join again", err)
	} else {
		set.Cross = string(pki.EncodeCert(cross))
	}
	res, err := m.propose(ctx, store.NewCASet(set))
	if err == nil {
		err = res.Err
	}
	if err != nil {
		return fmt.Errorf("propose the new CA: %w", err)
	}
	m.logf("CA: rotation started: new CA %s, %s trusted until every member has renewed", next.Fingerprint(), cur.Fingerprint())
	return nil
}

// status reports the replicated CA state for GET /v1/ca.
func (m *caManager) status() (api.CAStatus, error) {
	st, certs, _, err := m.state()
	if err != nil {
		return api.CAStatus{}, err
	}
	if len(certs) == 0 { // a cluster from before rotation: this node's view
		ca := m.keys.CA()
		certs = append([]*x509.Certificate{ca.Cert}, ca.Trust...)
	}
	out := api.CAStatus{Signing: caCert(certs[0]), Holder: st.Holder, Rotating: len(certs) > 1}
	for _, c := range certs {
		out.Trusted = append(out.Trusted, caCert(c))
	}
	fp := pki.Fingerprint(certs[0])
	m.node.Read(func(s *store.Store) {
		for _, mem := range s.Members() {
			n := api.CANode{Name: mem.Name, Serial: mem.CertSerial, Issuer: mem.CertIssuer, Current: mem.CertIssuer == fp}
			if mem.CertNotAfter > 0 {
				n.NotAfter = time.UnixMilli(mem.CertNotAfter).UTC()
			}
			out.Nodes = append(out.Nodes, n)
		}
	})
	return out, nil
}

// CAStatus implements httpapi.CAManager.
func (b *Backend) CAStatus(context.Context) (api.CAStatus, error) {
	if b.ca == nil {
		return api.CAStatus{}, errors.New("no CA manager on this node")
	}
	return b.ca.status()
}

// RotateCA implements httpapi.CAManager: on the holder directly,
// otherwise through the holder's peer endpoint.
func (b *Backend) RotateCA(ctx context.Context) (api.CAStatus, error) {
	if b.ca == nil {
		return api.CAStatus{}, errors.New("no CA manager on this node")
	}
	st, certs, _, err := b.ca.state()
	if err != nil {
		return api.CAStatus{}, err
	}
	before := b.ca.keys.CA().Cert
	if len(certs) > 0 {
		before = certs[0]
	}
	switch {
	case len(st.Certs) > 1:
		return api.CAStatus{}, httpapi.ErrRotating
	case b.ca.keys.CA().KeyMatches():
		err = b.ca.rotate(ctx)
	case st.Holder == "":
		return api.CAStatus{}, errors.New("no member is known to hold the CA key: run paceline ca rotate against the node that ran init")
	default:
		err = b.ca.peers.Post(ctx, st.Holder, "ca-rotate", struct{}{}, nil)
	}
	if err != nil {
		return api.CAStatus{}, err
	}
	// Answer from a copy that has the new CA (the rotation may even have
	// finished by then).
	for {
		if _, certs, _, _ := b.ca.state(); len(certs) > 0 && !certs[0].Equal(before) {
			break
		}
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		_, werr := b.node.WaitChange(wctx, 0)
		cancel()
		if ctx.Err() != nil || errors.Is(werr, consensus.ErrShutdown) {
			break
		}
	}
	return b.ca.status()
}

// peerRenew is POST /internal/v1/renew: a certificate request for a new
// key of the caller.
type peerRenew struct {
	CSR string `json:"csr_pem"`
}

type peerRenewResponse struct {
	CertPEM string `json:"cert_pem"`
}

func (h *peerEndpoints) renew(w http.ResponseWriter, r *http.Request) {
	var req peerRenew
	if err := peer.DecodeStrict(r.Body, &req); err != nil {
		peer.Error(w, http.StatusBadRequest, "renew: "+err.Error())
		return
	}
	if h.ca == nil {
		peer.Error(w, http.StatusNotImplemented, "renew: no CA manager on this node")
		return
	}
	certPEM, err := h.ca.sign([]byte(req.CSR), r.TLS.VerifiedChains[0][0])
	switch {
	case errors.Is(err, errNotHolder):
		peer.Error(w, http.StatusServiceUnavailable, "renew: "+err.Error())
		return
	case errors.Is(err, errNothingToRenew):
		peer.Error(w, http.StatusConflict, "renew: "+err.Error())
		return
	case err != nil:
		peer.Error(w, http.StatusBadRequest, "renew: "+err.Error())
		return
	}
	h.ca.logf("CA: renewed the certificate of %s", peer.Caller(r))
	peer.WriteJSON(w, peerRenewResponse{CertPEM: string(certPEM)})
}

// cert records the certificate the caller presents (on the leader).
func (h *peerEndpoints) cert(w http.ResponseWriter, r *http.Request) {
	if !h.node.IsLeader() {
		peer.Error(w, http.StatusMisdirectedRequest, fmt.Sprintf("not the leader (the leader is %q)", h.node.LeaderID()))
		return
	}
	chain := r.TLS.VerifiedChains[0]
	if err := recordCert(r.Context(), h.node, certRecord(peer.Caller(r), chain[0], pki.Fingerprint(chain[len(chain)-1]))); err != nil {
		peer.Error(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	peer.WriteJSON(w, map[string]bool{"ok": true})
}

// caRotate starts a rotation forwarded by another node's API (which
// checked the admin token).
func (h *peerEndpoints) caRotate(w http.ResponseWriter, r *http.Request) {
	if h.ca == nil {
		peer.Error(w, http.StatusNotImplemented, "ca-rotate: no CA manager on this node")
		return
	}
	err := h.ca.rotate(r.Context())
	switch {
	case errors.Is(err, httpapi.ErrRotating):
		peer.Error(w, http.StatusConflict, err.Error())
	case err != nil:
		peer.Error(w, http.StatusServiceUnavailable, "ca-rotate: "+err.Error())
	default:
		peer.WriteJSON(w, map[string]bool{"ok": true})
	}
}

// recordCert records a member's certificate (on the leader).
func recordCert(ctx context.Context, node *consensus.Node, rec store.NodeCert) error {
	res, err := node.Apply(ctx, store.NewNodeCert(rec))
	if err == nil {
		err = res.Err
	}
	if err != nil {
		return fmt.Errorf("record the certificate of %s: %w", rec.Name, err)
	}
	return nil
}

// certRecord is what the cluster records of node name's certificate
// leaf, signed by the CA with fingerprint issuer.
func certRecord(name string, leaf *x509.Certificate, issuer string) store.NodeCert {
	return store.NodeCert{Name: name, Serial: pki.Serial(leaf), Issuer: issuer, NotAfter: leaf.NotAfter.UnixMilli()}
}

// issuerOf is the fingerprint of the CA of certs that signed c ("" when
// none did).
func issuerOf(c *x509.Certificate, certs []*x509.Certificate) string {
	for _, ca := range certs {
		if c.CheckSignatureFrom(ca) == nil {
			return pki.Fingerprint(ca)
		}
	}
	return ""
}

func caCert(c *x509.Certificate) api.CACert {
	return api.CACert{Fingerprint: pki.Fingerprint(c), Subject: c.Subject.CommonName, NotAfter: c.NotAfter.UTC()}
}

func fingerprints(certs []*x509.Certificate) string {
	var fps []string
	for _, c := range certs {
		fps = append(fps, pki.Fingerprint(c))
	}
	return strings.Join(fps, ", ")
}
