package stonith

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/paceline/paceline/internal/agents"
)

// ErrBadMetadata is wrapped by ParseMetadata's errors.
var ErrBadMetadata = errors.New("stonith: bad meta-data")

// ParseMetadata reads what a fence agent printed for action=metadata (its
// stdout and stderr together): the <resource-agent> document, read by
// agents.ParseMetadata, after whatever the agent printed before it (Python
// warnings). Output that holds no such document is one error quoting its
// first line.
func ParseMetadata(out string) (agents.Metadata, error) {
	i := strings.Index(out, "<?xml")
	if i < 0 {
		i = strings.Index(out, "<resource-agent")
	}
	if i < 0 {
		return agents.Metadata{}, fmt.Errorf("%w: no <resource-agent> element in %q", ErrBadMetadata, firstLine(out))
	}
	md, err := agents.ParseMetadata([]byte(out[i:]))
	if err != nil {
		return agents.Metadata{}, fmt.Errorf("%w: %v", ErrBadMetadata, err)
	}
	return md, nil
}

// HasParam reports whether the agent declares the parameter.
func HasParam(md agents.Metadata, name string) bool {
	return slices.ContainsFunc(md.Params, func(p agents.Param) bool { return p.Name == name })
}

// Supports reports whether the agent lists the action.
func Supports(md agents.Metadata, action string) bool {
	return slices.Contains(md.Actions, action)
}

// firstLine returns the first line of s, cut to maxReason bytes.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > maxReason {
		s = s[:maxReason] + "..."
	}
	return s
}

// ParseList parses the output of action=list: one "PLUG[,ALIAS]" line per
// port the device controls. Python warnings and other lines with spaces
// are skipped; a device that lists nothing yields an empty list.
func ParseList(out string) []string {
	var ports []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.ContainsAny(line, " \t") {
			continue
		}
		port, alias, _ := strings.Cut(line, ",")
		if port != "" {
			ports = append(ports, port)
		}
		if alias != "" {
			ports = append(ports, alias)
		}
	}
	return ports
}
