package pki

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

const (
	tokenPrefix = "plt1"
	joinPrefix  = "plj1"
)

func randString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// HashToken returns the hex SHA-256 of an API token, as TokenRecord.Hash
// holds it.
func HashToken(token string) string { return hashHex(token) }

// TokenID returns the public id of an API token ("plt1.ID.SECRET"), or
// ErrBadToken when it does not have that shape.
func TokenID(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != tokenPrefix || parts[1] == "" || parts[2] == "" {
		return "", ErrBadToken
	}
	return parts[1], nil
}

// TokenRecord is what is kept of an API token: never the token itself.
type TokenRecord struct {
	ID   string `json:"id"`
	Role Role   `json:"role"`
	// Hash is the hex SHA-256 of the whole token.
	Hash string `json:"hash"`
	// Expires is the Unix second after which the token is refused (0: never).
	Expires int64 `json:"expires,omitempty"`
}

// NewToken returns a fresh API token of the given role and its record.
// ttl 0 means the token does not expire.
func NewToken(role Role, now time.Time, ttl time.Duration) (string, TokenRecord, error) {
	if !role.TokenRole() {
		return "", TokenRecord{}, fmt.Errorf("%w: %q is not a token role", ErrInvalidRole, role)
	}
	// Users type the id as an argument ("token revoke ID"): one that
	// began with "-" would be taken for a flag (1 id in 64).
	var id string
	for id == "" || strings.HasPrefix(id, "-") {
		var err error
		if id, err = randString(6); err != nil {
			return "", TokenRecord{}, err
		}
	}
	secret, err := randString(32)
	if err != nil {
		return "", TokenRecord{}, err
	}
	tok := tokenPrefix + "." + id + "." + secret
	rec := TokenRecord{ID: id, Role: role, Hash: hashHex(tok)}
	if ttl > 0 {
		rec.Expires = now.Add(ttl).Unix()
	}
	return tok, rec, nil
}

// Principal is who presented a valid API token.
type Principal struct {
	TokenID string
	Role    Role
}

// TokenSet is the set of API tokens a node accepts. It is safe for
// concurrent use.
type TokenSet struct {
	mu   sync.RWMutex
	recs map[string]TokenRecord // by ID
}

// NewTokenSet returns a set holding recs.
func NewTokenSet(recs ...TokenRecord) *TokenSet {
	s := &TokenSet{recs: map[string]TokenRecord{}}
	for _, r := range recs {
		s.recs[r.ID] = r
	}
	return s
}

// Add adds or replaces a record.
func (s *TokenSet) Add(r TokenRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs[r.ID] = r
}

// Records returns the records by ID.
func (s *TokenSet) Records() []TokenRecord {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]TokenRecord, 0, len(s.recs))
	for _, r := range s.recs {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Authenticate returns the principal of token at time now, or
// ErrBadToken, ErrUnknownToken or ErrTokenExpired. The hash comparison is
// constant-time, and an unknown ID costs the same comparison.
func (s *TokenSet) Authenticate(token string, now time.Time) (Principal, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != tokenPrefix {
		return Principal{}, ErrBadToken
	}
	s.mu.RLock()
	rec, ok := s.recs[parts[1]]
	s.mu.RUnlock()
	want := rec.Hash
	if !ok {
		want = strings.Repeat("0", 64)
	}
	if subtle.ConstantTimeCompare([]byte(hashHex(token)), []byte(want)) != 1 || !ok {
		return Principal{}, ErrUnknownToken
	}
	if rec.Expires != 0 && now.Unix() > rec.Expires {
		return Principal{}, ErrTokenExpired
	}
	return Principal{TokenID: rec.ID, Role: rec.Role}, nil
}

// SaveTokens writes the records to path (0600).
func SaveTokens(path string, recs []TokenRecord) error {
	b, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return fmt.Errorf("encode tokens: %w", err)
	}
	return WriteFile(path, append(b, '\n'), 0o600)
}

// LoadTokens reads records written by SaveTokens, refusing a file that is
// group or world accessible.
func LoadTokens(path string) ([]TokenRecord, error) {
	b, err := ReadSecret(path)
	if err != nil {
		return nil, fmt.Errorf("load tokens: %w", err)
	}
	var recs []TokenRecord
	if err := json.Unmarshal(b, &recs); err != nil {
		return nil, fmt.Errorf("load tokens %s: %w", path, err)
	}
	return recs, nil
}

// ReadTokenFile reads a token written to a file (admin.token), trimmed of
// white space; the file must not be group or world accessible.
func ReadTokenFile(path string) (string, error) {
	b, err := ReadSecret(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// JoinToken is a parsed join token.
type JoinToken struct {
	// CAFingerprint is the cluster CA's fingerprint ("sha256:HEX").
	CAFingerprint string
	raw           string
}

// ParseJoinToken splits a join token; it does not check it with the
// cluster (Redeem does).
func ParseJoinToken(s string) (JoinToken, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[0] != joinPrefix || len(parts[1]) != 64 || parts[2] == "" {
		return JoinToken{}, fmt.Errorf("%w: not a join token", ErrBadToken)
	}
	if _, err := hex.DecodeString(parts[1]); err != nil {
		return JoinToken{}, fmt.Errorf("%w: bad fingerprint", ErrBadToken)
	}
	return JoinToken{CAFingerprint: "sha256:" + parts[1], raw: s}, nil
}

// JoinTokens issues and redeems single-use, expiring join tokens. It is
// safe for concurrent use. It keeps only hashes, in memory: the daemon
// replicates them later (a token issued by a node is redeemable there).
type JoinTokens struct {
	fingerprint string
	mu          sync.Mutex
	pending     map[string]time.Time // hash -> expiry
	used        map[string]bool
}

// NewJoinTokens returns an issuer for the cluster whose CA has the given
// fingerprint ("sha256:HEX").
func NewJoinTokens(caFingerprint string) *JoinTokens {
	return &JoinTokens{fingerprint: caFingerprint, pending: map[string]time.Time{}, used: map[string]bool{}}
}

// SetFingerprint names the CA tokens issued from now on carry (after a
// CA rotation). Tokens issued before name the old CA, which joining nodes
// no longer find: issue new ones.
func (j *JoinTokens) SetFingerprint(caFingerprint string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.fingerprint = caFingerprint
}

// Issue returns a new join token valid for ttl from now (ttl must be
// positive).
func (j *JoinTokens) Issue(now time.Time, ttl time.Duration) (string, time.Time, error) {
	if ttl <= 0 {
		return "", time.Time{}, fmt.Errorf("join token ttl %v: must be positive", ttl)
	}
	secret, err := randString(32)
	if err != nil {
		return "", time.Time{}, err
	}
	exp := now.Add(ttl)
	j.mu.Lock()
	defer j.mu.Unlock()
	tok := joinPrefix + "." + strings.TrimPrefix(j.fingerprint, "sha256:") + "." + secret
	j.pending[hashHex(tok)] = exp
	return tok, exp, nil
}

// Redeem accepts a join token once, if it was issued here and has not
// expired at now: ErrBadToken, ErrUnknownToken, ErrTokenUsed,
// ErrTokenExpired otherwise. An expired token is forgotten.
func (j *JoinTokens) Redeem(token string, now time.Time) error {
	if _, err := ParseJoinToken(token); err != nil {
		return err
	}
	h := hashHex(token)
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.used[h] {
		return ErrTokenUsed
	}
	exp, ok := j.pending[h]
	if !ok {
		return ErrUnknownToken
	}
	delete(j.pending, h)
	if now.After(exp) {
		return ErrTokenExpired
	}
	j.used[h] = true
	return nil
}

// Init is what "paceline init" creates for the first node.
type Init struct {
	CA         *CA
	Node       NodeCert
	AdminToken string
}

// InitNode creates a cluster CA, the first node's certificate (name, role,
// hosts) and an admin token, and writes them to p (dir 0700, keys and
// tokens 0600). It refuses to overwrite an existing CA.
func InitNode(p Paths, cluster, name string, role Role, hosts []string, now time.Time) (*Init, error) {
	if _, err := os.Stat(p.CACert()); err == nil {
		return nil, fmt.Errorf("init: %s exists; this node is already initialised", p.CACert())
	}
	ca, err := NewCA(cluster, now, 10*365*24*time.Hour)
	if err != nil {
		return nil, err
	}
	nc, err := ca.Issue(name, role, hosts, now, 2*365*24*time.Hour)
	if err != nil {
		return nil, err
	}
	tok, rec, err := NewToken(RoleAdmin, now, 0)
	if err != nil {
		return nil, err
	}
	if err := ca.Save(p); err != nil {
		return nil, err
	}
	if err := SaveNode(p, nc); err != nil {
		return nil, err
	}
	if err := SaveTokens(p.Tokens(), []TokenRecord{rec}); err != nil {
		return nil, err
	}
	if err := WriteFile(p.AdminToken(), []byte(tok+"\n"), 0o600); err != nil {
		return nil, err
	}
	return &Init{CA: ca, Node: nc, AdminToken: tok}, nil
}
