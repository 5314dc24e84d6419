package agents

import (
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Metadata is what Paceline reads of an agent's meta-data: its parameters
// and actions.
type Metadata struct {
	Params  []Param
	Actions []string
}

// Param is one parameter an agent declares.
type Param struct {
	Name string
	// Unique and Reloadable are the OCF attributes: a unique parameter
	// identifies the instance; a reloadable one (OCF 1.1) can change
	// with reload-agent, without a restart.
	Unique, Reloadable bool
}

// ErrMetadata is wrapped by ParseMetadata's errors.
var ErrMetadata = errors.New("agents: malformed meta-data")

// ParseMetadata reads OCF meta-data XML.
func ParseMetadata(b []byte) (Metadata, error) {
	var doc struct {
		Params []struct {
			Name       string `xml:"name,attr"`
			Unique     string `xml:"unique,attr"`
			Reloadable string `xml:"reloadable,attr"`
		} `xml:"parameters>parameter"`
		Actions []struct {
			Name string `xml:"name,attr"`
		} `xml:"actions>action"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		return Metadata{}, fmt.Errorf("%w: %v", ErrMetadata, err)
	}
	var m Metadata
	for _, p := range doc.Params {
		m.Params = append(m.Params, Param{Name: p.Name, Unique: isOne(p.Unique), Reloadable: isOne(p.Reloadable)})
	}
	for _, a := range doc.Actions {
		if !slices.Contains(m.Actions, a.Name) {
			m.Actions = append(m.Actions, a.Name)
		}
	}
	return m, nil
}

func isOne(v string) bool {
	return v == "1" || strings.EqualFold(v, "true") || strings.EqualFold(v, "yes")
}

// ReloadAction is the action that applies changed reloadable parameters
// without a restart: reload-agent (OCF 1.1), else reload (the legacy
// action), else "" when the agent cannot reload.
func (m Metadata) ReloadAction() string {
	switch {
	case slices.Contains(m.Actions, "reload-agent"):
		return "reload-agent"
	case slices.Contains(m.Actions, "reload"):
		return "reload"
	}
	return ""
}

// ForceRestart lists the parameters whose change needs a restart, as
// Pacemaker's op-force-restart does: with reload-agent, those not marked
// reloadable; with the legacy reload, the unique ones. It returns nil when
// the agent cannot reload (every change restarts).
func (m Metadata) ForceRestart() []string {
	action := m.ReloadAction()
	if action == "" {
		return nil
	}
	out := []string{}
	for _, p := range m.Params {
		if (action == "reload-agent" && !p.Reloadable) || (action == "reload" && p.Unique) {
			out = append(out, p.Name)
		}
	}
	return out
}
