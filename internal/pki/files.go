package pki

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Errors of this package (wrapped with context; test with errors.Is).
var (
	ErrInsecureFile   = errors.New("pki: file is accessible by group or others")
	ErrBadPEM         = errors.New("pki: bad PEM data")
	ErrBadToken       = errors.New("pki: malformed token")
	ErrUnknownToken   = errors.New("pki: unknown token")
	ErrTokenExpired   = errors.New("pki: token expired")
	ErrTokenRevoked   = errors.New("pki: token revoked")
	ErrTokenUsed      = errors.New("pki: token already used")
	ErrNotClusterPeer = errors.New("pki: peer certificate is not a cluster node certificate")
	ErrInvalidRole    = errors.New("pki: invalid role")
	ErrRevoked        = errors.New("pki: certificate revoked")
)

// Paths names the security files in a node's data directory.
type Paths struct{ Dir string }

func (p Paths) CACert() string    { return filepath.Join(p.Dir, "ca.pem") }
func (p Paths) CAKey() string     { return filepath.Join(p.Dir, "ca.key") }
func (p Paths) CANextKey() string { return filepath.Join(p.Dir, "ca-next.key") }
func (p Paths) NodeCert() string  { return filepath.Join(p.Dir, "node.pem") }
func (p Paths) NodeKey() string   { return filepath.Join(p.Dir, "node.key") }
func (p Paths) NodeNextKey() string {
	return filepath.Join(p.Dir, "node-next.key")
}
func (p Paths) AdminToken() string { return filepath.Join(p.Dir, "admin.token") }
func (p Paths) Tokens() string     { return filepath.Join(p.Dir, "tokens.json") }

// EnsureDir creates dir (and parents) with mode 0700, and tightens an
// existing dir to 0700.
func EnsureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("chmod %s: %w", dir, err)
	}
	return nil
}

// WriteFile writes data to path atomically with the given mode: a
// temporary file in the same directory, fsync, rename. The directory must
// exist.
func WriteFile(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// ReadSecret reads a file that holds a secret (a private key, a token),
// refusing it with ErrInsecureFile when group or others have any access.
func ReadSecret(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o (want 0600)", ErrInsecureFile, path, perm)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}
