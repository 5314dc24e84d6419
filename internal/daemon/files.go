package daemon

import (
	"fmt"
	"path/filepath"
)

// ocfRoots turns the configured agent directories (each ROOT/resource.d,
// Config.AgentDirs) into the OCF roots the ocf class searches, in order:
// agents run only from these directories (ocf checks that every directory
// from the root down to the agent is owned by root and not writable by
// group or others).
func ocfRoots(dirs []string) (root string, extra []string, err error) {
	for i, d := range dirs {
		if filepath.Base(d) != "resource.d" || !filepath.IsAbs(d) {
			return "", nil, fmt.Errorf("%w: agent_dirs: %q must be an absolute path ending in /resource.d", ErrConfig, d)
		}
		r := filepath.Dir(filepath.Clean(d))
		if i == 0 {
			root = r
		} else {
			extra = append(extra, r)
		}
	}
	if root == "" {
		return "", nil, fmt.Errorf("%w: agent_dirs: at least one directory is required", ErrConfig)
	}
	return root, extra, nil
}
