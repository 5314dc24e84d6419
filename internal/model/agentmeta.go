package model

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Errors AgentMeta.Check reports, joined (test with errors.Is).
var (
	ErrUnknownParameter = errors.New("unknown parameter")
	ErrMissingParameter = errors.New("missing required parameter")
	ErrUnknownOperation = errors.New("unknown operation")
	ErrBadMetaData      = errors.New("unreadable agent meta-data")
	// ErrUnknownAgent is what an agent catalogue reports for an agent
	// that is not installed.
	ErrUnknownAgent = errors.New("unknown agent")
)

// alwaysParams are parameters every OCF agent takes without declaring
// them (Pacemaker's tracing of an agent's shell).
var alwaysParams = []string{"trace_ra", "trace_file"}

// AgentMeta is what an agent's meta-data says of it (the OCF
// resource-agent XML): its parameters and actions.
type AgentMeta struct {
	// Agent is "class:provider:type" or "class:type".
	Agent      string        `json:"agent"`
	Version    string        `json:"version,omitempty"`
	ShortDesc  string        `json:"shortdesc,omitempty"`
	LongDesc   string        `json:"longdesc,omitempty"`
	Parameters []AgentParam  `json:"parameters"`
	Actions    []AgentAction `json:"actions"`
}

// AgentParam is one instance parameter of an agent.
type AgentParam struct {
	Name       string `json:"name"`
	Required   bool   `json:"required,omitempty"`
	Unique     bool   `json:"unique,omitempty"`
	Reloadable bool   `json:"reloadable,omitempty"`
	Deprecated bool   `json:"deprecated,omitempty"`
	// Secret says the value looks like a secret (a password, a key): set
	// it with --secret-file so that it is never shown.
	Secret    bool   `json:"secret,omitempty"`
	Type      string `json:"type,omitempty"`
	Default   string `json:"default,omitempty"`
	ShortDesc string `json:"shortdesc,omitempty"`
}

// AgentAction is one action an agent supports, with its advised timeout
// and, for monitors, interval and role.
type AgentAction struct {
	Name     string `json:"name"`
	Timeout  string `json:"timeout,omitempty"`
	Interval string `json:"interval,omitempty"`
	Role     string `json:"role,omitempty"`
	Depth    string `json:"depth,omitempty"`
}

// xmlAgent is the OCF meta-data document.
type xmlAgent struct {
	Name       string `xml:"name,attr"`
	Version    string `xml:"version"`
	ShortDesc  string `xml:"shortdesc"`
	LongDesc   string `xml:"longdesc"`
	Parameters []struct {
		Name       string    `xml:"name,attr"`
		Required   string    `xml:"required,attr"`
		Unique     string    `xml:"unique,attr"`
		Reloadable string    `xml:"reloadable,attr"`
		Deprecated *struct{} `xml:"deprecated"`
		ShortDesc  string    `xml:"shortdesc"`
		Content    struct {
			Type    string `xml:"type,attr"`
			Default string `xml:"default,attr"`
		} `xml:"content"`
	} `xml:"parameters>parameter"`
	Actions []struct {
		Name     string `xml:"name,attr"`
		Timeout  string `xml:"timeout,attr"`
		Interval string `xml:"interval,attr"`
		Role     string `xml:"role,attr"`
		Depth    string `xml:"depth,attr"`
	} `xml:"actions>action"`
}

// ParseAgentMeta reads an agent's meta-data (text before the XML, such as
// a warning on stderr, is skipped). DOCTYPE declarations and entities are
// refused: meta-data is untrusted output.
func ParseAgentMeta(agent string, b []byte) (*AgentMeta, error) {
	start := bytes.Index(b, []byte("<?xml"))
	if start < 0 {
		start = bytes.Index(b, []byte("<resource-agent"))
	}
	if start < 0 {
		return nil, fmt.Errorf("%w of %s: no resource-agent element", ErrBadMetaData, agent)
	}
	b = b[start:]
	if bytes.Contains(b, []byte("<!DOCTYPE")) || bytes.Contains(b, []byte("<!ENTITY")) {
		// Older agents declare the ra-api DTD; drop that line only.
		b = dropDoctype(b)
	}
	var x xmlAgent
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = false
	if err := dec.Decode(&x); err != nil {
		return nil, fmt.Errorf("%w of %s: %v", ErrBadMetaData, agent, err)
	}
	m := &AgentMeta{Agent: agent, Version: strings.TrimSpace(x.Version), ShortDesc: strings.TrimSpace(x.ShortDesc),
		LongDesc: strings.TrimSpace(x.LongDesc), Parameters: []AgentParam{}, Actions: []AgentAction{}}
	for _, p := range x.Parameters {
		m.Parameters = append(m.Parameters, AgentParam{Name: p.Name, Required: p.Required == "1" || p.Required == "true",
			Unique: p.Unique == "1" || p.Unique == "true", Reloadable: p.Reloadable == "1" || p.Reloadable == "true",
			Deprecated: p.Deprecated != nil, Secret: secretWorthy(p.Name), Type: p.Content.Type,
			Default: p.Content.Default, ShortDesc: strings.TrimSpace(p.ShortDesc)})
	}
	for _, a := range x.Actions {
		role, _ := CanonicalRole(a.Role)
		m.Actions = append(m.Actions, AgentAction{Name: a.Name, Timeout: a.Timeout, Interval: a.Interval, Role: role, Depth: a.Depth})
	}
	return m, nil
}

// dropDoctype removes a <!DOCTYPE ...> declaration without an internal
// subset; one with an internal subset (entities) makes the document
// unreadable on purpose.
func dropDoctype(b []byte) []byte {
	i := bytes.Index(b, []byte("<!DOCTYPE"))
	if i < 0 {
		return b
	}
	j := bytes.IndexByte(b[i:], '>')
	if j < 0 || bytes.ContainsAny(b[i:i+j], "[") {
		return []byte("<!-- refused: DOCTYPE with an internal subset -->")
	}
	return append(append([]byte{}, b[:i]...), b[i+j+1:]...)
}

// secretWorthy guesses from a parameter's name whether its value is a
// secret.
func secretWorthy(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"pass", "secret", "token", "credential", "private_key", "privkey"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// Param returns the named parameter.
func (m *AgentMeta) Param(name string) (AgentParam, bool) {
	i := slices.IndexFunc(m.Parameters, func(p AgentParam) bool { return p.Name == name })
	if i < 0 {
		return AgentParam{}, false
	}
	return m.Parameters[i], true
}

// Check validates a primitive against the meta-data, as pcs does: every
// parameter is one the agent has, every required one is given (at the
// primitive or in a rule-selected set), every operation is one of its
// actions. Unknown names come with the closest known one. All problems
// are joined.
func (m *AgentMeta) Check(r *Resource) error {
	var errs []error
	var params, actions []string
	for _, p := range m.Parameters {
		params = append(params, p.Name)
	}
	for _, a := range m.Actions {
		if !slices.Contains(actions, a.Name) {
			actions = append(actions, a.Name)
		}
	}
	given := map[string]bool{}
	for _, p := range r.Params {
		given[p.Name] = true
		// A fence device's pcmk_* attributes are the fencer's, not the
		// agent's (package fence checks them).
		fencer := r.Class == "stonith" && strings.HasPrefix(p.Name, "pcmk_")
		if _, ok := m.Param(p.Name); !ok && !fencer && !(r.Class == "ocf" && slices.Contains(alwaysParams, p.Name)) {
			errs = append(errs, unknownName(ErrUnknownParameter, m.Agent, p.Name, params))
		}
	}
	for _, set := range r.RuleParams {
		for _, p := range set.Values {
			given[p.Name] = true
		}
	}
	for _, p := range m.Parameters {
		if p.Required && !given[p.Name] && p.Default == "" {
			errs = append(errs, fmt.Errorf("%w %q of %s", ErrMissingParameter, p.Name, m.Agent))
		}
	}
	for _, op := range r.Ops {
		if !slices.Contains(actions, op.Name) {
			errs = append(errs, unknownName(ErrUnknownOperation, m.Agent, op.Name, actions))
		}
	}
	return errors.Join(errs...)
}

func unknownName(kind error, agent, name string, known []string) error {
	if c := Closest(name, known); c != "" {
		return fmt.Errorf("%w %q of %s (did you mean %s?)", kind, name, agent, c)
	}
	return fmt.Errorf("%w %q of %s (it has: %s)", kind, name, agent, strings.Join(known, ", "))
}
