package agents

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrInsecure is wrapped by the reasons an agent program is refused.
var ErrInsecure = errors.New("insecure agent")

// CheckTrusted checks that path resolves inside root to a regular file
// owned by one of the trusted users and not writable by group or others,
// and that every directory from root down to it is owned by a trusted user
// and not writable by group or others (else an untrusted user could swap
// the file between the check and the exec). Errors wrap ErrInsecure.
func CheckTrusted(root, path string, trusted []uint32) error {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return fmt.Errorf("%w: resolve root: %v", ErrInsecure, err)
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("%w: resolve: %v", ErrInsecure, err)
	}
	rel, err := filepath.Rel(realRoot, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("%w: %s resolves to %s, outside %s", ErrInsecure, path, real, realRoot)
	}
	dir := realRoot
	for _, part := range append([]string{""}, strings.Split(filepath.Dir(rel), string(filepath.Separator))...) {
		if part == "." {
			continue
		}
		dir = filepath.Join(dir, part)
		if err := trustedDir(dir, trusted); err != nil {
			return err
		}
	}
	fi, err := os.Stat(real)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInsecure, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file", ErrInsecure, real)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%w: %s is writable by group or others (mode %v)", ErrInsecure, real, fi.Mode().Perm())
	}
	return trustedOwner(real, fi, trusted)
}

// trustedDir checks that dir is a directory owned by a trusted user and
// not writable by group or others.
func trustedDir(dir string, trusted []uint32) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInsecure, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrInsecure, dir)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%w: directory %s is writable by group or others (mode %v)", ErrInsecure, dir, fi.Mode().Perm())
	}
	return trustedOwner(dir, fi, trusted)
}

// trustedOwner checks that the owner of path (fi) is a trusted user.
func trustedOwner(path string, fi os.FileInfo, trusted []uint32) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%w: cannot read the owner of %s", ErrInsecure, path)
	}
	for _, uid := range trusted {
		if st.Uid == uid {
			return nil
		}
	}
	return fmt.Errorf("%w: %s is owned by uid %d, not a trusted user", ErrInsecure, path, st.Uid)
}
