package cib

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// node is one XML element of the document tree. Text content is ignored: the
// CIB keeps everything in attributes.
type node struct {
	name     string
	attrs    []xml.Attr
	children []*node
}

// attr returns the value of the named attribute and whether it is present.
func (n *node) attr(name string) (string, bool) {
	for _, a := range n.attrs {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value, true
		}
	}
	return "", false
}

// get returns the named attribute or "".
func (n *node) get(name string) string {
	v, _ := n.attr(name)
	return v
}

// id returns the element's id attribute (or its id-ref when it has no id).
func (n *node) id() string {
	if v, ok := n.attr("id"); ok {
		return v
	}
	return n.get("id-ref")
}

// child returns the first child element with the given name, or nil.
func (n *node) child(name string) *node {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// readTree reads a whole XML document and returns its root element.
func readTree(r io.Reader) (*node, error) {
	d := xml.NewDecoder(r)
	d.Strict = true
	var (
		root  *node
		stack []*node
	)
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("malformed XML: line %d: %s", se.Line, se.Msg)
			}
			return nil, fmt.Errorf("malformed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			line, _ := d.InputPos()
			// RawToken allocates a fresh Attr slice per element.
			n := &node{name: t.Name.Local, attrs: t.Attr}
			if len(stack) == 0 {
				if root != nil {
					return nil, fmt.Errorf("malformed XML: line %d: more than one root element", line)
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			line, _ := d.InputPos()
			if len(stack) == 0 {
				return nil, fmt.Errorf("malformed XML: line %d: unexpected end element </%s>", line, t.Name.Local)
			}
			top := stack[len(stack)-1]
			if top.name != t.Name.Local {
				return nil, fmt.Errorf("malformed XML: line %d: element <%s> closed by </%s>", line, top.name, t.Name.Local)
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 && len(bytes.TrimSpace(t)) > 0 {
				line, _ := d.InputPos()
				return nil, fmt.Errorf("malformed XML: line %d: text outside the root element", line)
			}
		}
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("malformed XML: unexpected end of input inside <%s>", stack[len(stack)-1].name)
	}
	if root == nil {
		return nil, errors.New("malformed XML: no root element")
	}
	return root, nil
}

// index finds elements by element name and id for id-ref resolution, as
// Pacemaker's expand_idref does ("//TAG[@id='REF']", first match in document
// order). It is built on first use: most CIBs have no id-ref at all.
type index struct {
	root *node
	byID map[string]*node // key: name + "\x00" + id
}

func (x *index) lookup(name, id string) *node {
	if x.byID == nil {
		x.byID = make(map[string]*node)
		var walk func(n *node)
		walk = func(n *node) {
			if id, ok := n.attr("id"); ok {
				k := n.name + "\x00" + id
				if _, dup := x.byID[k]; !dup {
					x.byID[k] = n
				}
			}
			for _, c := range n.children {
				walk(c)
			}
		}
		walk(x.root)
	}
	return x.byID[name+"\x00"+id]
}

// deref returns the element n refers to with id-ref (an element of the same
// name with that id), or n itself when it has no id-ref.
func (x *index) deref(n *node) (*node, error) {
	seen := 0
	for {
		ref, ok := n.attr("id-ref")
		if !ok {
			return n, nil
		}
		t := x.lookup(n.name, ref)
		if t == nil {
			return nil, &AttrError{Element: n.name, ID: n.get("id"), Attr: "id-ref",
				Err: fmt.Errorf("no %s with id %q", n.name, ref)}
		}
		if seen++; seen > 32 || t == n {
			return nil, &AttrError{Element: n.name, ID: ref, Attr: "id-ref", Err: errors.New("reference loop")}
		}
		n = t
	}
}
