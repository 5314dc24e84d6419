// Package version says which paceline this binary is: the package version
// the build stamped in (make build and make deb pass
// -ldflags "-X github.com/paceline/paceline/internal/version.stamped=VERSION"),
// else the module version Go embeds ("(devel)" for a checkout build), with
// the VCS revision when known. Standard library only.
package version

import (
	"runtime"
	"runtime/debug"
)

// stamped is set by the linker (-X); empty in a plain "go build".
var stamped string

// Info describes this binary (the JSON of "paceline version --json" and
// of each node in a report).
type Info struct {
	Version   string `json:"version"`
	Revision  string `json:"revision,omitempty"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// Get returns the version of this binary.
func Get() Info {
	v := Info{Version: "(devel)", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				v.Revision = s.Value
			}
		}
	}
	if stamped != "" {
		v.Version = stamped
	}
	return v
}
