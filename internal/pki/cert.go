package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// Role is what a node certificate or an API token is allowed to be.
// Node roles are server, witness and client; token roles viewer, operator
// and admin.
type Role string

const (
	RoleServer  Role = "server"
	RoleWitness Role = "witness"
	RoleClient  Role = "client"

	RoleViewer   Role = "viewer"   // reads
	RoleOperator Role = "operator" // reads and operational commands
	RoleAdmin    Role = "admin"    // everything
)

// NodeRole reports whether r is a node role.
func (r Role) NodeRole() bool { return r == RoleServer || r == RoleWitness || r == RoleClient }

// rank orders the token roles; 0 for anything else.
func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleOperator:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// TokenRole reports whether r is a token role.
func (r Role) TokenRole() bool { return r.rank() > 0 }

// Permits reports whether a token of role r may do what needs role need
// (admin permits everything, viewer only viewer). Non-token roles permit
// nothing.
func (r Role) Permits(need Role) bool { return r.rank() > 0 && r.rank() >= need.rank() }

// URIScheme is the scheme of the URI SAN naming a node.
const URIScheme = "paceline"

// CA is the cluster certificate authority.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey // nil on nodes that only verify
	// Trust are further CA certificates this node trusts (not signs
	// with): the other half of a CA rotation's trust bundle. ca.pem holds
	// Cert first, then these.
	Trust []*x509.Certificate
}

// CertPool returns a pool holding the CA certificate and the trusted
// ones.
func (ca *CA) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	for _, c := range ca.Trust {
		p.AddCert(c)
	}
	return p
}

// Fingerprint returns "sha256:HEX" of the CA certificate.
func (ca *CA) Fingerprint() string { return Fingerprint(ca.Cert) }

// Fingerprint returns "sha256:HEX" of a certificate's DER encoding.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// NewCA creates a cluster CA named after the cluster, valid for validity
// from now.
func NewCA(cluster string, now time.Time, validity time.Duration) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	sn, err := serial()
	if err != nil {
		return nil, fmt.Errorf("generate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: "paceline cluster CA " + cluster, Organization: []string{"paceline"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// One CA may sit between this one and a node certificate: the
		// next CA, cross-signed by this one during a rotation (CrossSign).
		MaxPathLen: 1,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// CrossSign signs next (a new CA certificate) with this CA's key: the
// same subject and key as next, issued by this CA. A node that trusts
// only this CA verifies a node certificate of next through it, so a node
// that was down when a rotation started still accepts its renewed peers
// until it has learnt the new CA. It fails without the key, and when
// this CA allows no CA below it (a CA made before cross-signing existed).
func (ca *CA) CrossSign(next *x509.Certificate) (*x509.Certificate, error) {
	if ca.Key == nil {
		return nil, errors.New("cross-sign: this node has no CA key")
	}
	if ca.Cert.MaxPathLenZero || (ca.Cert.MaxPathLen == 0 && ca.Cert.BasicConstraintsValid) {
		return nil, errors.New("cross-sign: the CA allows no CA below it")
	}
	sn, err := serial()
	if err != nil {
		return nil, fmt.Errorf("generate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               next.Subject,
		SubjectKeyId:          next.SubjectKeyId,
		NotBefore:             next.NotBefore,
		NotAfter:              minTime(next.NotAfter, ca.Cert.NotAfter),
		KeyUsage:              next.KeyUsage,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, next.PublicKey, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("cross-sign: %w", err)
	}
	return x509.ParseCertificate(der)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// NodeCert is a node's certificate and key, PEM encoded.
type NodeCert struct {
	CertPEM, KeyPEM []byte
}

// TLSCertificate parses the pair for crypto/tls.
func (n NodeCert) TLSCertificate() (tls.Certificate, error) {
	c, err := tls.X509KeyPair(n.CertPEM, n.KeyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("node certificate: %w", err)
	}
	return c, nil
}

// Issue signs a certificate for node name with the given node role, valid
// for validity from now, for the hosts (IP addresses or DNS names) it
// serves on, with a new key. It fails without the CA key.
func (ca *CA) Issue(name string, role Role, hosts []string, now time.Time, validity time.Duration) (NodeCert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return NodeCert{}, fmt.Errorf("generate node key: %w", err)
	}
	var ips []net.IP
	var dns []string
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else if h != "" {
			dns = append(dns, h)
		}
	}
	certPEM, err := ca.sign(&key.PublicKey, name, role, ips, dns, now, validity)
	if err != nil {
		return NodeCert{}, err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return NodeCert{}, fmt.Errorf("encode node key: %w", err)
	}
	return NodeCert{CertPEM: certPEM, KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})}, nil
}

// sign issues a node certificate for pub and returns it PEM encoded.
func (ca *CA) sign(pub any, name string, role Role, ips []net.IP, dns []string, now time.Time, validity time.Duration) ([]byte, error) {
	if ca.Key == nil {
		return nil, fmt.Errorf("issue certificate for %q: this node has no CA key", name)
	}
	if name == "" || strings.ContainsAny(name, "/?#") {
		return nil, fmt.Errorf("issue certificate: invalid node name %q", name)
	}
	if !role.NodeRole() {
		return nil, fmt.Errorf("%w: %q is not a node role", ErrInvalidRole, role)
	}
	sn, err := serial()
	if err != nil {
		return nil, fmt.Errorf("generate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: name, OrganizationalUnit: []string{string(role)}, Organization: []string{"paceline"}},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:         []*url.URL{{Scheme: URIScheme, Host: "node", Path: "/" + name}},
		IPAddresses:  ips,
		DNSNames:     dns,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate for %q: %w", name, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// EncodeCert returns c as one PEM certificate.
func EncodeCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// NewRenewal makes a new key for this node and a certificate request
// for it (both PEM): what a node sends to have its certificate renewed
// by a new CA. The request names nothing: the signer takes name, role
// and hosts from the node's current, verified certificate (Renew).
func NewRenewal() (csrPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate node key: %w", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate request: %w", err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode node key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), nil
}

// Renew signs the key of a certificate request (NewRenewal) for the node
// that current (its verified certificate) names, with the same name,
// role and hosts. It fails without the CA key or when the request's
// signature does not verify (the caller does not hold the key).
func (ca *CA) Renew(csrPEM []byte, current *x509.Certificate, now time.Time, validity time.Duration) ([]byte, error) {
	blk, _ := pem.Decode(csrPEM)
	if blk == nil || blk.Type != "CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("certificate request: %w", ErrBadPEM)
	}
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("certificate request: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("certificate request: %w", err)
	}
	if _, ok := csr.PublicKey.(*ecdsa.PublicKey); !ok {
		return nil, fmt.Errorf("certificate request: key of type %T, want ECDSA", csr.PublicKey)
	}
	id, err := IdentityOf(current)
	if err != nil {
		return nil, err
	}
	return ca.sign(csr.PublicKey, id.Node, id.Role, current.IPAddresses, current.DNSNames, now, validity)
}

// DueForRenewal reports whether a certificate has less than a third of
// its lifetime left at now (for a node certificate of two years: the last
// eight months), when a node has it renewed: early enough that a holder
// down for weeks, or a cluster switched off for months, still finds it
// valid.
func DueForRenewal(c *x509.Certificate, now time.Time) bool {
	life := c.NotAfter.Sub(c.NotBefore)
	return c.NotAfter.Sub(now) < life/3
}

// KeyMatches reports whether ca holds the private key of its certificate.
func (ca *CA) KeyMatches() bool {
	pub, ok := ca.Cert.PublicKey.(*ecdsa.PublicKey)
	return ok && ca.Key != nil && ca.Key.PublicKey.Equal(pub)
}

// Issued reports whether c was signed by ca's certificate.
func (ca *CA) Issued(c *x509.Certificate) bool { return c.CheckSignatureFrom(ca.Cert) == nil }

// Identity is what a verified node certificate says.
type Identity struct {
	Node string
	Role Role
}

// IdentityOf reads the node name and role of a certificate. It does not
// verify the chain: use it on verified chains only (PeerIdentity).
func IdentityOf(c *x509.Certificate) (Identity, error) {
	var name string
	for _, u := range c.URIs {
		if u.Scheme == URIScheme && u.Host == "node" {
			name = strings.TrimPrefix(u.Path, "/")
		}
	}
	if name == "" || name != c.Subject.CommonName || len(c.Subject.OrganizationalUnit) != 1 {
		return Identity{}, fmt.Errorf("%w: subject %q", ErrNotClusterPeer, c.Subject.String())
	}
	role := Role(c.Subject.OrganizationalUnit[0])
	if !role.NodeRole() {
		return Identity{}, fmt.Errorf("%w: role %q", ErrNotClusterPeer, role)
	}
	return Identity{Node: name, Role: role}, nil
}

// Save writes the CA certificate (0644) and, when present, its key (0600)
// into dir, creating dir 0700.
func (ca *CA) Save(p Paths) error {
	if err := EnsureDir(p.Dir); err != nil {
		return err
	}
	bundle := EncodeCert(ca.Cert)
	for _, c := range ca.Trust {
		bundle = append(bundle, EncodeCert(c)...)
	}
	if err := WriteFile(p.CACert(), bundle, 0o644); err != nil {
		return err
	}
	if ca.Key == nil {
		return nil
	}
	return SaveKey(p.CAKey(), ca.Key)
}

// LoadCA reads the CA certificate bundle and, if the file exists, the
// key of its first certificate (refused with ErrInsecureFile when group
// or world accessible). The key is ca.key, or ca-next.key when a CA
// rotation stopped between writing the new bundle and moving the new key
// into place; a key that matches neither is an error.
func LoadCA(p Paths) (*CA, error) {
	b, err := os.ReadFile(p.CACert())
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	certs, err := ParseCerts(b)
	if err != nil {
		return nil, fmt.Errorf("load CA %s: %w", p.CACert(), err)
	}
	ca := &CA{Cert: certs[0], Trust: certs[1:]}
	for _, path := range []string{p.CAKey(), p.CANextKey()} {
		key, err := LoadKey(path)
		switch {
		case os.IsNotExist(err):
			continue
		case err != nil:
			return nil, fmt.Errorf("load CA key: %w", err)
		}
		if ca.Key = key; ca.KeyMatches() {
			return ca, nil
		}
		ca.Key = nil
	}
	if _, err := os.Stat(p.CAKey()); err == nil {
		return nil, fmt.Errorf("load CA: %s is not the key of the CA certificate in %s", p.CAKey(), p.CACert())
	}
	return ca, nil
}

// LoadKey reads an EC private key file, refusing it with ErrInsecureFile
// when group or world accessible.
func LoadKey(path string) (*ecdsa.PrivateKey, error) {
	kb, err := ReadSecret(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(kb)
	if blk == nil {
		return nil, fmt.Errorf("%s: %w", path, ErrBadPEM)
	}
	key, err := x509.ParseECPrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// SaveKey writes an EC private key file (0600).
func SaveKey(path string, key *ecdsa.PrivateKey) error {
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode key: %w", err)
	}
	return WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}

// ParseCert parses one PEM certificate.
func ParseCert(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, ErrBadPEM
	}
	return x509.ParseCertificate(blk.Bytes)
}

// ParseCerts parses a bundle of one or more PEM certificates.
func ParseCerts(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return nil, ErrBadPEM
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, ErrBadPEM
	}
	return out, nil
}

// SaveNode writes the node certificate (0644) and key (0600).
func SaveNode(p Paths, n NodeCert) error {
	if err := EnsureDir(p.Dir); err != nil {
		return err
	}
	if err := WriteFile(p.NodeCert(), n.CertPEM, 0o644); err != nil {
		return err
	}
	return WriteFile(p.NodeKey(), n.KeyPEM, 0o600)
}

// SaveRenewedNode replaces the node certificate and key so that a crash
// at any point leaves a matching pair: the new key goes to
// node-next.key, then the certificate to node.pem, then the key is
// renamed to node.key (LoadNode falls back to node-next.key).
func SaveRenewedNode(p Paths, n NodeCert) error {
	if _, err := n.TLSCertificate(); err != nil {
		return err
	}
	if err := WriteFile(p.NodeNextKey(), n.KeyPEM, 0o600); err != nil {
		return err
	}
	if err := WriteFile(p.NodeCert(), n.CertPEM, 0o644); err != nil {
		return err
	}
	if err := os.Rename(p.NodeNextKey(), p.NodeKey()); err != nil {
		return fmt.Errorf("write %s: %w", p.NodeKey(), err)
	}
	return nil
}

// LoadNode reads the node certificate and key, refusing a key file that
// is group or world accessible. When node.key does not match node.pem
// (a renewal stopped half-way: SaveRenewedNode), node-next.key is tried.
func LoadNode(p Paths) (tls.Certificate, error) {
	cb, err := os.ReadFile(p.NodeCert())
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("load node certificate: %w", err)
	}
	kb, err := ReadSecret(p.NodeKey())
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("load node key: %w", err)
	}
	c, err := NodeCert{CertPEM: cb, KeyPEM: kb}.TLSCertificate()
	if err != nil {
		if nb, nerr := ReadSecret(p.NodeNextKey()); nerr == nil {
			if nc, nerr := (NodeCert{CertPEM: cb, KeyPEM: nb}).TLSCertificate(); nerr == nil {
				return nc, nil
			}
		}
	}
	return c, err
}
