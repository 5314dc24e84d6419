package stonith

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
)

// Metadata is what a fence agent's meta-data says about it.
type Metadata struct {
	// Name is the agent's name (resource-agent name=).
	Name string
	// ShortDesc is its one-line description.
	ShortDesc string
	// Parameters in the agent's order.
	Parameters []Parameter
	// Actions it supports (on, off, reboot, status, list, monitor, ...).
	Actions []string
}

// Parameter is one parameter a fence agent accepts.
type Parameter struct {
	Name      string
	Required  bool
	Type      string // content type: string, boolean, integer, select, second
	Default   string
	ShortDesc string
	// Deprecated marks an alias kept for old configurations (fence-agents
	// list e.g. ipaddr next to ip).
	Deprecated bool
}

// Supports reports whether the agent lists action.
func (m *Metadata) Supports(action string) bool {
	for _, a := range m.Actions {
		if a == action {
			return true
		}
	}
	return false
}

// Parameter returns the named parameter and whether it exists.
func (m *Metadata) Parameter(name string) (Parameter, bool) {
	for _, p := range m.Parameters {
		if p.Name == name {
			return p, true
		}
	}
	return Parameter{}, false
}

// ErrBadMetadata is wrapped by ParseMetadata's errors.
var ErrBadMetadata = errors.New("stonith: bad meta-data")

type xmlAgent struct {
	XMLName    xml.Name `xml:"resource-agent"`
	Name       string   `xml:"name,attr"`
	ShortDesc  string   `xml:"shortdesc,attr"`
	Parameters []struct {
		Name       string `xml:"name,attr"`
		Required   string `xml:"required,attr"`
		Deprecated string `xml:"deprecated,attr"`
		Content    struct {
			Type    string `xml:"type,attr"`
			Default string `xml:"default,attr"`
		} `xml:"content"`
		ShortDesc string `xml:"shortdesc"`
	} `xml:"parameters>parameter"`
	Actions []struct {
		Name string `xml:"name,attr"`
	} `xml:"actions>action"`
}

// ParseMetadata parses the XML a fence agent prints for action=metadata.
// Anything before the XML declaration or root element (Python warnings)
// is skipped.
func ParseMetadata(out string) (*Metadata, error) {
	i := strings.Index(out, "<?xml")
	if i < 0 {
		i = strings.Index(out, "<resource-agent")
	}
	if i < 0 {
		return nil, fmt.Errorf("%w: no <resource-agent> element in %q", ErrBadMetadata, firstLine(out))
	}
	var x xmlAgent
	if err := xml.Unmarshal([]byte(out[i:]), &x); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadMetadata, err)
	}
	if x.Name == "" {
		return nil, fmt.Errorf("%w: resource-agent has no name", ErrBadMetadata)
	}
	m := &Metadata{Name: x.Name, ShortDesc: x.ShortDesc}
	for _, p := range x.Parameters {
		m.Parameters = append(m.Parameters, Parameter{
			Name: p.Name, Required: p.Required == "1", Type: p.Content.Type,
			Default: p.Content.Default, ShortDesc: strings.TrimSpace(p.ShortDesc),
			Deprecated: p.Deprecated == "1",
		})
	}
	for _, a := range x.Actions {
		m.Actions = append(m.Actions, a.Name)
	}
	return m, nil
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
