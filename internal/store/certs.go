package store

import (
	"fmt"
	"sort"
)

// Certificate commands: the leader records the serial of the certificate
// each member joined with (NodeCert), and `paceline node remove` revokes it
// (CertRevoke). The revocation list is replicated state, so every node
// refuses a revoked certificate on every mutual-TLS handshake and peer
// call, also after a restart or a snapshot.
const (
	TypeNodeCert   Type = "node.cert"   // *NodeCert
	TypeCertRevoke Type = "cert.revoke" // *CertRevoke
)

// NodeCert records the serial of a member's node certificate.
type NodeCert struct {
	Name string `json:"name"`
	// Serial is the certificate's serial number in lowercase hex
	// (pki.Serial).
	Serial string `json:"serial"`
}

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
func NewNodeCert(name, serial string) Command {
	return Command{Version: Version, Type: TypeNodeCert, NodeCert: &NodeCert{Name: name, Serial: serial}}
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
	changed := m.CertSerial != p.Serial
	m.CertSerial = p.Serial
	return changed, nil
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
