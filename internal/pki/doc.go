// Package pki is the cluster's security material: the cluster CA, node
// certificates, API tokens and join tokens, the files they live in, and
// the TLS configurations built from them. It imports only the standard
// library.
//
// # Files
//
// A node's data directory holds (see Paths):
//
//	ca.pem       the cluster CA certificate (public)
//	ca.key       the CA private key (0600; only on nodes that issue certificates)
//	ca-next.key  a new CA's key during a rotation, until ca.pem names it (0600)
//	node.pem     this node's certificate, signed by the CA
//	node.key     this node's private key (0600)
//	admin.token  the admin API token written by init (0600)
//	tokens.json  hashes of the API tokens this node accepts (0600)
//
// Directories are created 0700 and files written atomically (temporary
// file in the same directory, fsync, rename). LoadKey refuses a key file
// that is group or world accessible (ErrInsecureFile), as the agent must
// refuse to start with one.
//
// # Certificates
//
// The CA is ECDSA P-256. A node certificate names the node in its Common
// Name and in a URI SAN "paceline://node/NAME", and the node's role
// (server, witness, client) in its Organizational Unit; it also carries
// the hosts (IP addresses, DNS names) it serves the API on, so clients can
// verify it the ordinary way. Fingerprint is the SHA-256 of the CA
// certificate's DER, written "sha256:HEX".
//
// # TLS
//
// NodeTLS builds the configuration for node-to-node connections: TLS 1.3
// only, both sides present a certificate that chains to the cluster CA
// (mutual TLS); PeerIdentity reads the peer's node name and role from the
// verified chain. APIServerTLS is the same on the server side except that a
// client certificate is optional (API clients authenticate with tokens),
// yet one that is presented must chain to the cluster CA, or the handshake
// fails.
//
// # CA rotation
//
// ca.pem is a bundle: the CA that signs first, then further CAs this node
// trusts. A rotation trusts the new and the old CA, renews every node's
// certificate with the new one (NewRenewal on the node, Renew on the
// signer: name, role and hosts come from the node's current verified
// certificate, only the key from the request), then drops the old CA. A
// Keyring holds a node's current CAs and certificate; the TLS
// configurations it returns read them at every handshake, so the
// rotation needs no restart.
//
// # Tokens
//
// An API token is "plt1.ID.SECRET": ID names the token (for audit and
// revocation) and SECRET is 32 random bytes. Only SHA-256 hashes are kept
// (TokenSet), compared in constant time. Every token has a role (viewer,
// operator, admin); a role permits what the roles below it permit.
//
// A join token is "plj1.FINGERPRINT.SECRET": the joining node checks that
// the cluster's CA certificate has FINGERPRINT before trusting it, then
// presents the token once. JoinTokens keeps the hashes with their
// expiry; Redeem accepts a token at most once and never after it expired.
// Times are inputs (now), never read from a clock here.
package pki
