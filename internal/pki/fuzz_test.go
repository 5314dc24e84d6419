package pki

import (
	"testing"
	"time"
)

// FuzzRenew feeds arbitrary bytes as the certificate request of a
// renewal (POST /internal/v1/renew carries it from any member): no
// panic, and whatever is signed names the requester's current identity
// and hosts, never something the request chose.
func FuzzRenew(f *testing.F) {
	ca, err := NewCA("c1", time.Now(), time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	nc, err := ca.Issue("n2", RoleClient, []string{"10.0.0.2"}, time.Now(), time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	cur, err := ParseCert(nc.CertPEM)
	if err != nil {
		f.Fatal(err)
	}
	csr, _, err := NewRenewal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(csr)
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"))
	f.Add(nc.CertPEM)
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := ca.Renew(b, cur, time.Now(), time.Hour)
		if err != nil {
			return
		}
		c, err := ParseCert(out)
		if err != nil {
			t.Fatalf("signed an unparsable certificate: %v", err)
		}
		id, err := IdentityOf(c)
		if err != nil || id != (Identity{Node: "n2", Role: RoleClient}) || len(c.IPAddresses) != 1 || len(c.DNSNames) != 0 || c.IsCA {
			t.Fatalf("signed %+v (IPs %v, DNS %v, CA %v): %v", id, c.IPAddresses, c.DNSNames, c.IsCA, err)
		}
	})
}
