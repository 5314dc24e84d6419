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

// Bounds on a CIB document. Real CIBs are far inside them: a few levels of
// rules make the deepest nesting under 20, and a thousand-node cluster's
// status section has some hundred thousand elements.
const (
	maxDepth    = 256
	maxElements = 2_000_000
	maxAttrs    = 512
	maxBytes    = 256 << 20
)

// limitedReader fails with ErrInputLimit past n bytes.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("%w: document over %d bytes", ErrInputLimit, int64(maxBytes))
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// readTree reads a whole XML document and returns its root element. It
// refuses document type declarations (and so every entity declaration:
// no "billion laughs"), and documents deeper, bigger or with more
// elements or attributes than the bounds above, with an error wrapping
// ErrInputLimit.
func readTree(r io.Reader) (*node, error) {
	d := xml.NewDecoder(&limitedReader{r: r, n: maxBytes})
	d.Strict = true
	var (
		root     *node
		stack    []*node
		elements int
	)
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.Is(err, ErrInputLimit) {
				return nil, err
			}
			if errors.As(err, &se) {
				return nil, fmt.Errorf("malformed XML: line %d: %s", se.Line, se.Msg)
			}
			return nil, fmt.Errorf("malformed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			line, _ := d.InputPos()
			return nil, fmt.Errorf("%w: line %d: document type and entity declarations (<!%s) are not accepted",
				ErrInputLimit, line, firstWord(t))
		case xml.StartElement:
			line, _ := d.InputPos()
			if elements++; elements > maxElements {
				return nil, fmt.Errorf("%w: line %d: more than %d elements", ErrInputLimit, line, maxElements)
			}
			if len(stack) >= maxDepth {
				return nil, fmt.Errorf("%w: line %d: elements nested deeper than %d levels", ErrInputLimit, line, maxDepth)
			}
			if len(t.Attr) > maxAttrs {
				return nil, fmt.Errorf("%w: line %d: <%s> has more than %d attributes", ErrInputLimit, line, t.Name.Local, maxAttrs)
			}
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

// firstWord is the keyword of a directive (DOCTYPE, ENTITY), for messages.
func firstWord(d xml.Directive) string {
	f := bytes.Fields(d)
	if len(f) == 0 {
		return ""
	}
	w := string(f[0])
	if len(w) > 16 {
		w = w[:16]
	}
	return w
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
