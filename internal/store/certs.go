package store

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"sort"
)

// Certificate commands: the leader records the serial of the certificate
// each member joined with (NodeCert), and `paceline node remove` revokes it
// (CertRevoke). The revocation list is replicated state, so every node
// refuses a revoked certificate on every mutual-TLS handshake and peer
// call, also after a restart or a snapshot.
//
// The cluster's CAs are replicated state too (CASet): the PEM bundle
// every node trusts, signing CA first, and the node that holds the
// signing key. A CA rotation is a CASet with the new CA first and the
// old one after it, then, once every member's recorded certificate is
// from the new CA, a CASet with the new CA alone.
const (
	TypeNodeCert   Type = "node.cert"   // *NodeCert
	TypeCertRevoke Type = "cert.revoke" // *CertRevoke
	TypeCASet      Type = "ca.set"      // *CASet
)

// NodeCert records the serial of a member's node certificate.
type NodeCert struct {
	Name string `json:"name"`
	// Serial is the certificate's serial number in lowercase hex
	// (pki.Serial).
	Serial string `json:"serial"`
	// Issuer is the fingerprint (pki.Fingerprint) of the CA that signed
	// it, when known.
	Issuer string `json:"issuer,omitempty"`
	// NotAfter is when it expires, in Unix milliseconds, when known.
	NotAfter int64 `json:"not_after_ms,omitempty"`
}

// CASet replaces the cluster's CA bundle.
type CASet struct {
	// Certs are PEM CA certificates: the one that signs first, then those
	// still trusted (the old CA during a rotation). 1 to MaxCAs.
	Certs []string `json:"certs"`
	// Holder is the member that holds the signing CA's key.
	Holder string `json:"holder"`
	// Cross is, during a rotation, the new CA cross-signed by the old one
	// (PEM; optional): renewed nodes present it after their certificate.
	Cross string `json:"cross,omitempty"`
	// At is when it was proposed, in Unix milliseconds.
	At int64 `json:"at_ms,omitempty"`
	// Generation counts the bundles applied (set by Apply, ignored in a
	// command): a node that replays the log after a restart passes
	// through older bundles and must not trust them again.
	Generation uint64 `json:"generation,omitempty"`
}

// CA is the replicated CA state (CASet's payload as applied).
type CA = CASet

// MaxCAs bounds the bundle.
const MaxCAs = 4

// CertRevoke adds a certificate serial to the revocation list. Revoking a
// revoked serial changes nothing. A serial is never un-revoked.
type CertRevoke struct {
	// Serial is the certificate's serial number in lowercase hex.
	Serial string `json:"serial"`
	// Node names the node the certificate was issued to (for display).
	Node string `json:"node,omitempty"`
	// At is when the revocation was proposed, in Unix milliseconds.
	At int64 `json:"at_ms,omitempty"`
}

// Revocation is one entry of the revocation list.
type Revocation = CertRevoke

// NewNodeCert returns a NodeCert command.
func NewNodeCert(c NodeCert) Command {
	return Command{Version: Version, Type: TypeNodeCert, NodeCert: &c}
}

// NewCASet returns a CASet command.
func NewCASet(c CASet) Command {
	c.Certs = append([]string(nil), c.Certs...)
	return Command{Version: Version, Type: TypeCASet, CASet: &c}
}

// NewCertRevoke returns a CertRevoke command.
func NewCertRevoke(r CertRevoke) Command {
	return Command{Version: Version, Type: TypeCertRevoke, CertRevoke: &r}
}

func validSerial(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *Store) nodeCert(p *NodeCert) (bool, error) {
	m, err := s.member(p.Name)
	if err != nil {
		return false, err
	}
	if !validSerial(p.Serial) {
		return false, fmt.Errorf("%w: serial %q is not lowercase hex", ErrMalformed, p.Serial)
	}
	changed := m.CertSerial != p.Serial || m.CertIssuer != p.Issuer || m.CertNotAfter != p.NotAfter
	if m.CertSerial != p.Serial && m.CertSerial != "" {
		m.PrevCertSerial = m.CertSerial
	}
	m.CertSerial, m.CertIssuer, m.CertNotAfter = p.Serial, p.Issuer, p.NotAfter
	return changed, nil
}

func (s *Store) caSet(p *CASet) (bool, error) {
	if len(p.Certs) == 0 || len(p.Certs) > MaxCAs {
		return false, fmt.Errorf("%w: %d CA certificates (1 to %d)", ErrMalformed, len(p.Certs), MaxCAs)
	}
	for i, c := range p.Certs {
		if err := checkCACert(c); err != nil {
			return false, fmt.Errorf("%w: CA certificate %d %v", ErrMalformed, i+1, err)
		}
	}
	if p.Cross != "" {
		if err := checkCACert(p.Cross); err != nil {
			return false, fmt.Errorf("%w: cross-signed CA: %v", ErrMalformed, err)
		}
	}
	if _, err := s.member(p.Holder); err != nil {
		return false, fmt.Errorf("CA holder: %w", err)
	}
	changed := s.ca.Holder != p.Holder || s.ca.Cross != p.Cross || !slices.Equal(s.ca.Certs, p.Certs)
	gen := s.ca.Generation
	if changed {
		gen++
	}
	s.ca = CA{Certs: append([]string(nil), p.Certs...), Holder: p.Holder, Cross: p.Cross, At: p.At, Generation: gen}
	return changed, nil
}

// checkCACert checks that c is one PEM CA certificate.
func checkCACert(c string) error {
	blk, rest := pem.Decode([]byte(c))
	if blk == nil || blk.Type != "CERTIFICATE" || len(rest) != 0 {
		return errors.New("is not one PEM certificate")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil || !cert.IsCA {
		return errors.New("is not a CA certificate")
	}
	return nil
}

// CA returns the replicated CA state (Certs empty when no CASet was ever
// applied; the caller owns the copy).
func (s *Store) CA() CA {
	c := s.ca
	c.Certs = append([]string(nil), s.ca.Certs...)
	return c
}

func (s *Store) certRevoke(p *CertRevoke) (bool, error) {
	if !validSerial(p.Serial) {
		return false, fmt.Errorf("%w: serial %q is not lowercase hex", ErrMalformed, p.Serial)
	}
	if _, ok := s.revoked[p.Serial]; ok {
		return false, nil
	}
	if s.revoked == nil {
		s.revoked = map[string]Revocation{}
	}
	s.revoked[p.Serial] = *p
	return true, nil
}

// Revoked reports whether the certificate serial (lowercase hex) is
// revoked.
func (s *Store) Revoked(serial string) bool {
	_, ok := s.revoked[serial]
	return ok
}

// RevocationCount is the length of the revocation list (it only grows).
func (s *Store) RevocationCount() int { return len(s.revoked) }

// Revocations returns the revocation list sorted by serial (the caller
// owns it).
func (s *Store) Revocations() []Revocation {
	out := make([]Revocation, 0, len(s.revoked))
	for _, r := range s.revoked {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Serial < out[j].Serial })
	return out
}
