package pki

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
)

// NodeTLS returns the configuration for node-to-node connections, usable
// both to listen and to dial: TLS 1.3 only, this node's certificate, and
// the peer's certificate required and verified against the cluster CA
// (also checked to be a node certificate). A dialer still sets ServerName
// (or leaves verification of the name to VerifyPeerNode).
func NodeTLS(ca *CA, cert tls.Certificate) *tls.Config {
	return NodeTLSRevoking(ca, cert, nil)
}

// NodeTLSRevoking is NodeTLS that also refuses, in the handshake, a peer
// whose certificate serial (Serial) revoked reports as revoked (the
// replicated revocation list). revoked may be nil; it is called from the
// handshakes' goroutines and must be safe for concurrent use.
func NodeTLSRevoking(ca *CA, cert tls.Certificate, revoked func(serial string) bool) *tls.Config {
	pool := ca.CertPool()
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		RootCAs:      pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		VerifyPeerCertificate: func(_ [][]byte, chains [][]*x509.Certificate) error {
			if len(chains) == 0 || len(chains[0]) == 0 {
				return fmt.Errorf("%w: no verified chain", ErrNotClusterPeer)
			}
			if _, err := IdentityOf(chains[0][0]); err != nil {
				return err
			}
			return CheckRevoked(chains[0][0], revoked)
		},
	}
}

// APIServerTLS returns the API server's configuration: TLS 1.3, this
// node's certificate; a client certificate is optional (API clients use
// tokens) but one that is presented must chain to the cluster CA, or the
// handshake fails.
func APIServerTLS(ca *CA, cert tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientCAs:    ca.CertPool(),
		ClientAuth:   tls.VerifyClientCertIfGiven,
	}
}

// PeerIdentity returns the node name and role of the verified peer of a
// connection made with NodeTLS (or APIServerTLS, when the client
// presented a certificate).
func PeerIdentity(cs tls.ConnectionState) (Identity, error) {
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return Identity{}, fmt.Errorf("%w: no verified certificate", ErrNotClusterPeer)
	}
	return IdentityOf(cs.VerifiedChains[0][0])
}

// Serial is a certificate's serial number as the revocation list keeps
// it: lowercase hex without leading zeros.
func Serial(c *x509.Certificate) string { return c.SerialNumber.Text(16) }

// CheckRevoked returns an error wrapping ErrRevoked when revoked (nil:
// nothing is revoked) reports c's serial as revoked.
func CheckRevoked(c *x509.Certificate, revoked func(serial string) bool) error {
	if revoked != nil && revoked(Serial(c)) {
		id, _ := IdentityOf(c)
		return fmt.Errorf("%w: certificate %s of node %q", ErrRevoked, Serial(c), id.Node)
	}
	return nil
}
