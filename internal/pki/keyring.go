package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Keyring is a node's TLS material that may change while connections
// are open: the CAs it trusts (both the old and the new one during a CA
// rotation) and its own certificate (renewed by the new CA). The
// configurations it returns read the current material at every
// handshake, so a change needs no restart and cuts no connection; an
// established connection is never re-verified (see
// consensus.TLSTransport.CloseWhere). It is safe for concurrent use.
type Keyring struct {
	revoked func(serial string) bool
	cur     atomic.Pointer[material]
}

// material is one consistent set: CA, certificate and the
// configurations built from them.
type material struct {
	ca   *CA
	pool *x509.CertPool // ca's certificates
	cert tls.Certificate
	leaf *x509.Certificate
	node *tls.Config // node-to-node, both ways (NodeTLSRevoking)
	api  *tls.Config // the API server (APIServerTLS)
	// trusted remembers the chains Trusts verified against pool (key:
	// their DER bytes, one after the other) with the earliest NotAfter
	// among them: a peer calls many times per second on one connection,
	// and each verification is an ECDSA signature check. New material
	// starts with none.
	trusted sync.Map
	// ntrusted counts trusted's entries (at most maxTrusted).
	ntrusted atomic.Int64
}

// maxTrusted bounds the chains a material remembers as verified (a
// cluster has a node certificate per node, two during a renewal).
const maxTrusted = 4096

// NewKeyring returns a keyring holding ca and cert; revoked (may be nil)
// is the revocation check of every node-to-node handshake.
func NewKeyring(ca *CA, cert tls.Certificate, revoked func(serial string) bool) (*Keyring, error) {
	k := &Keyring{revoked: revoked}
	if err := k.Set(ca, cert); err != nil {
		return nil, err
	}
	return k, nil
}

// Set replaces the trusted CAs and this node's certificate. The
// certificate must chain to one of the CAs, or Set fails and nothing
// changes.
func (k *Keyring) Set(ca *CA, cert tls.Certificate) error {
	if len(cert.Certificate) == 0 {
		return errors.New("pki: keyring: no certificate")
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return fmt.Errorf("pki: keyring: %w", err)
	}
	pool := ca.CertPool()
	if err := verifyChain(pool, leaf); err != nil {
		return fmt.Errorf("pki: keyring: the node certificate is not from a trusted CA: %w", err)
	}
	cert.Leaf = leaf
	api := APIServerTLS(ca, cert)
	api.NextProtos = []string{"h2", "http/1.1"}
	k.cur.Store(&material{ca: ca, pool: pool, cert: cert, leaf: leaf, node: NodeTLSRevoking(ca, cert, k.revoked), api: api})
	return nil
}

// CA returns the current CA (the signing certificate first, the further
// trusted ones in Trust; the key only on the node that signs).
func (k *Keyring) CA() *CA { return k.cur.Load().ca }

// Certificate returns this node's current certificate.
func (k *Keyring) Certificate() tls.Certificate { return k.cur.Load().cert }

// Leaf returns this node's current certificate, parsed.
func (k *Keyring) Leaf() *x509.Certificate { return k.cur.Load().leaf }

// Trusts reports whether chain (a peer's certificates, leaf first, the
// rest intermediates) verifies against the CAs the keyring trusts now.
// A chain verified before against the same CAs is not verified again
// until the first of its certificates expires.
func (k *Keyring) Trusts(chain ...*x509.Certificate) bool {
	if len(chain) == 0 {
		return false
	}
	m := k.cur.Load()
	var key []byte
	until := chain[0].NotAfter
	for _, c := range chain {
		key = append(key, c.Raw...) // DER delimits each certificate
		if c.NotAfter.Before(until) {
			until = c.NotAfter
		}
	}
	if v, ok := m.trusted.Load(string(key)); ok && time.Now().Before(v.(time.Time)) {
		return true
	}
	if verifyChain(m.pool, chain...) != nil {
		return false
	}
	if m.ntrusted.Add(1) <= maxTrusted {
		m.trusted.Store(string(key), until)
	}
	return true
}

// verifyChain verifies chain[0] against roots, with chain[1:] as
// intermediates, for any key usage.
func verifyChain(roots *x509.CertPool, chain ...*x509.Certificate) error {
	opts := x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if len(chain) > 1 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range chain[1:] {
			opts.Intermediates.AddCert(c)
		}
	}
	_, err := chain[0].Verify(opts)
	return err
}

// ServerTLS is the configuration to accept node-to-node connections
// with: at every handshake, NodeTLSRevoking of the current material.
func (k *Keyring) ServerTLS() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return k.cur.Load().node, nil
		},
	}
}

// ClientTLS is the configuration for one node-to-node dial, from the
// current material (call it per dial; do not modify it).
func (k *Keyring) ClientTLS() *tls.Config { return k.cur.Load().node }

// APIServerTLS is the API server's configuration: at every handshake,
// APIServerTLS of the current material, offering HTTP/2.
func (k *Keyring) APIServerTLS() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return k.cur.Load().api, nil
		},
	}
}
