package api

import (
	"context"
	"net/http"
	"time"
)

// CAStatus is the cluster's certificate authority (GET /v1/ca): the CA
// that signs, the CAs every node trusts, and each member's certificate.
// Rotating is true from `paceline ca rotate` until every member has a
// certificate from the new CA and the old one is no longer trusted.
type CAStatus struct {
	// Signing is the CA new certificates come from.
	Signing CACert `json:"signing"`
	// Trusted are the CAs every node accepts (Signing first).
	Trusted []CACert `json:"trusted"`
	// Holder is the node that holds the signing CA's key.
	Holder   string `json:"holder"`
	Rotating bool   `json:"rotating"`
	// Nodes are the members' certificates in name order.
	Nodes []CANode `json:"nodes"`
}

// CACert describes one CA certificate.
type CACert struct {
	Fingerprint string    `json:"fingerprint"`
	Subject     string    `json:"subject"`
	NotAfter    time.Time `json:"not_after"`
}

// CANode is one member's certificate as the cluster recorded it.
type CANode struct {
	Name   string `json:"name"`
	Serial string `json:"serial,omitempty"`
	// Issuer is the fingerprint of the CA that signed it.
	Issuer   string    `json:"issuer,omitempty"`
	NotAfter time.Time `json:"not_after,omitzero"`
	// Current reports whether the signing CA issued it.
	Current bool `json:"current"`
}

// Renewed counts the members whose certificate the signing CA issued.
func (s *CAStatus) Renewed() int {
	n := 0
	for _, m := range s.Nodes {
		if m.Current {
			n++
		}
	}
	return n
}

// CA returns the cluster's CA status (viewer).
func (c *Client) CA(ctx context.Context) (*CAStatus, error) {
	var out CAStatus
	return &out, c.call(ctx, http.MethodGet, "/v1/ca", nil, &out)
}

// RotateCA starts a CA rotation (POST /v1/ca/rotate, admin): a new CA is
// trusted beside the old one, every node renews its certificate, and the
// old CA is dropped once all have. It returns when the rotation started.
func (c *Client) RotateCA(ctx context.Context) (*CAStatus, error) {
	var out CAStatus
	return &out, c.call(ctx, http.MethodPost, "/v1/ca/rotate", nil, &out)
}
