package compat

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// InstallLinks makes dir (created with mode 0755 when missing) hold one
// symlink per name in Tools pointing at exe (an absolute path, normally
// the running paceline executable), replacing whatever had those names.
// dir must be owned by the current user and writable by no one else:
// agents run as root with it first in PATH.
func InstallLinks(dir, exe string) error {
	if !filepath.IsAbs(dir) || !filepath.IsAbs(exe) {
		return fmt.Errorf("compat: links: %q and %q must be absolute", dir, exe)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("compat: links: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("compat: links: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("compat: links: %s is not a directory", dir)
	case !ok || st.Uid != uint32(os.Geteuid()):
		return fmt.Errorf("compat: links: %s is not owned by uid %d", dir, os.Geteuid())
	case fi.Mode().Perm()&0o022 != 0:
		if err := os.Chmod(dir, 0o755); err != nil {
			return fmt.Errorf("compat: links: %w", err)
		}
	}
	for _, t := range Tools {
		link := filepath.Join(dir, t)
		if cur, err := os.Readlink(link); err == nil && cur == exe {
			continue
		}
		// A new link under a temporary name renamed over the old one: the
		// name never points nowhere.
		tmp := filepath.Join(dir, "."+t+".new")
		os.Remove(tmp)
		if err := os.Symlink(exe, tmp); err != nil {
			return fmt.Errorf("compat: links: %w", err)
		}
		if err := os.Rename(tmp, link); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("compat: links: %w", err)
		}
	}
	return nil
}

// BasePath is the PATH OCF agents get after the link directory (the
// default of the ocf package).
const BasePath = "/usr/sbin:/usr/bin:/sbin:/bin"

// AgentEnv returns the variables that lead an agent's helper calls to this
// package: the link directory first in PATH and as HA_SBIN_DIR, the node's
// name, the endpoint's socket and Pacemaker's feature set.
func AgentEnv(linkDir, socket, node string) []string {
	return []string{
		"PATH=" + strings.Join([]string{linkDir, BasePath}, ":"),
		"HA_SBIN_DIR=" + linkDir,
		"PACELINE_NODE=" + node,
		"PACELINE_COMPAT_SOCKET=" + socket,
		"OCF_RESKEY_crm_feature_set=" + FeatureSet,
	}
}
