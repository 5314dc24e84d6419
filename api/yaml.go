package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EncodeConfigYAML renders a configuration as YAML ("config export").
func EncodeConfigYAML(c *Config) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeConfigYAML parses one YAML document of the export schema within
// DefaultLimits: unknown fields (an *UnknownFieldError with their path),
// trailing documents, and documents too deep, too wide or expanding to
// too many values through aliases (an error wrapping ErrInputLimit) are
// refused before anything is built from them.
func DecodeConfigYAML(b []byte) (*Config, error) {
	return DecodeConfigYAMLLimits(b, DefaultLimits())
}

// DecodeConfigYAMLLimits is DecodeConfigYAML with explicit limits.
func DecodeConfigYAMLLimits(b []byte, l Limits) (*Config, error) {
	l = l.orDefault()
	// First pass: the node tree, which keeps aliases as references, so a
	// "billion laughs" document stays small while it is measured.
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("config: empty document")
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("config: more than one YAML document")
	}
	values := 0
	if err := checkYAMLShape(&doc, l, 0, &values); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	// Second pass: strict decoding, now known to be bounded.
	dec = yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		if strings.Contains(err.Error(), " not found in type ") {
			var generic any
			if doc.Decode(&generic) == nil {
				if p, ok := unknownPath(generic, reflect.TypeOf(&c), "yaml", ""); ok {
					return nil, fmt.Errorf("config: %w", &UnknownFieldError{Path: p})
				}
			}
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	return &c, nil
}

// checkYAMLShape measures n as the decoder would see it, following
// aliases, and stops as soon as a limit is passed (so measuring an alias
// bomb costs at most MaxValues steps).
func checkYAMLShape(n *yaml.Node, l Limits, depth int, values *int) error {
	if depth > l.MaxDepth {
		return fmt.Errorf("%w: nested deeper than %d levels (line %d)", ErrInputLimit, l.MaxDepth, n.Line)
	}
	if *values++; *values > l.MaxValues {
		return fmt.Errorf("%w: more than %d values after expanding aliases (line %d)", ErrInputLimit, l.MaxValues, n.Line)
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return fmt.Errorf("%w: alias without an anchor (line %d)", ErrInputLimit, n.Line)
		}
		return checkYAMLShape(n.Alias, l, depth+1, values)
	case yaml.MappingNode, yaml.SequenceNode:
		items := len(n.Content)
		if n.Kind == yaml.MappingNode {
			items /= 2
		}
		if items > l.MaxItems {
			return fmt.Errorf("%w: more than %d items in one mapping or sequence (line %d)", ErrInputLimit, l.MaxItems, n.Line)
		}
	}
	for _, c := range n.Content {
		if err := checkYAMLShape(c, l, depth+1, values); err != nil {
			return err
		}
	}
	return nil
}
