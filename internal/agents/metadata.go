package agents

import (
	"errors"
	"fmt"
	"slices"

	"github.com/paceline/paceline/internal/model"
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

// ParseMetadata reads OCF meta-data XML: what the executor needs of the
// full reading in model.ParseAgentMeta (one parser for the catalogue, the
// executor and the stonith class).
func ParseMetadata(b []byte) (Metadata, error) {
	full, err := model.ParseAgentMeta("", b)
	if err != nil {
		return Metadata{}, fmt.Errorf("%w: %v", ErrMetadata, err)
	}
	var m Metadata
	for _, p := range full.Parameters {
		m.Params = append(m.Params, Param{Name: p.Name, Unique: p.Unique, Reloadable: p.Reloadable})
	}
	for _, a := range full.Actions {
		if !slices.Contains(m.Actions, a.Name) {
			m.Actions = append(m.Actions, a.Name)
		}
	}
	return m, nil
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
