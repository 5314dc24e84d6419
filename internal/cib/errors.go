package cib

import (
	"errors"
	"fmt"
	"strings"
)

// ErrMissingAttribute is wrapped by an *AttrError for a required attribute
// that is absent or empty.
var ErrMissingAttribute = errors.New("cib: missing attribute")

// ErrInputLimit is wrapped by the refusal of a document that declares a
// document type or entities, or passes a size, depth or count bound.
var ErrInputLimit = errors.New("cib: input limit")

// UnsupportedError reports a CIB feature Paceline does not support yet
// (templates, rules on
// meta-attribute sets, ...). Callers can tell it from a broken file with
// errors.As.
type UnsupportedError struct {
	// Element is the XML element name (bundle, node, primitive,
	// meta_attributes, ...).
	Element string
	// ID is the element's id ("" for section-level refusals such as tags).
	ID string
	// Feature, when set, names the feature in the message instead of
	// Element (for example "remote node").
	Feature string
	// Detail qualifies the refusal (for example "with a rule").
	Detail string
}

func (e *UnsupportedError) Error() string {
	what := e.Feature
	if what == "" {
		what = e.Element
	}
	var b strings.Builder
	b.WriteString(what)
	if e.ID != "" {
		fmt.Fprintf(&b, " '%s'", e.ID)
	}
	if e.Detail != "" {
		b.WriteString(" " + e.Detail)
	}
	if e.ID == "" && e.Detail == "" && strings.HasSuffix(what, "s") {
		b.WriteString(" are not supported")
	} else {
		b.WriteString(" is not supported")
	}
	return b.String()
}

// AttrError reports a missing or invalid attribute of an element.
type AttrError struct {
	Element string // XML element name
	ID      string // the element's id, if it has one
	Attr    string // attribute name
	// Err is ErrMissingAttribute or describes the invalid value.
	Err error
}

func (e *AttrError) Error() string {
	who := e.Element
	if e.ID != "" {
		who += " '" + e.ID + "'"
	}
	if errors.Is(e.Err, ErrMissingAttribute) {
		return fmt.Sprintf("%s: missing attribute %q", who, e.Attr)
	}
	return fmt.Sprintf("%s: attribute %q: %v", who, e.Attr, e.Err)
}

func (e *AttrError) Unwrap() error { return e.Err }

// unsupported builds an *UnsupportedError for element n.
func unsupported(n *node, feature, detail string) error {
	return &UnsupportedError{Element: n.name, ID: n.id(), Feature: feature, Detail: detail}
}

// missing builds an *AttrError for a required attribute of n.
func missing(n *node, attr string) error {
	return &AttrError{Element: n.name, ID: n.get("id"), Attr: attr, Err: ErrMissingAttribute}
}

// invalid builds an *AttrError for an attribute of n with a bad value.
func invalid(n *node, attr string, err error) error {
	return &AttrError{Element: n.name, ID: n.get("id"), Attr: attr, Err: err}
}

// required returns attribute attr of n or an error when it is absent or
// empty.
func required(n *node, attr string) (string, error) {
	v := n.get(attr)
	if v == "" {
		return "", missing(n, attr)
	}
	return v, nil
}
