// Package pkitest gives tests a cluster CA and a server node's
// certificate for loopback, which the tests of several packages need.
package pkitest

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/pki"
)

// Node returns a new CA (cluster "test", valid for an hour) and the
// certificate it issued to server node name for 127.0.0.1; it fails t
// on error.
func Node(t testing.TB, name string) (*pki.CA, tls.Certificate) {
	t.Helper()
	ca, err := pki.NewCA("test", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca, Cert(t, ca, name)
}

// Cert returns the certificate ca issues to server node name for
// 127.0.0.1, valid for an hour; it fails t on error.
func Cert(t testing.TB, ca *pki.CA, name string) tls.Certificate {
	t.Helper()
	nc, err := ca.Issue(name, pki.RoleServer, []string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := nc.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
