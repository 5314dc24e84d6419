package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// ErrInputLimit is wrapped by every refusal of a document whose shape
// exceeds Limits (too deep, too many items, too many values after YAML
// alias expansion, entity declarations).
var ErrInputLimit = errors.New("input limit")

// Limits bound the shape of a JSON or YAML document before it is decoded,
// so that a small hostile body cannot make the decoder allocate or recurse
// without bound. The body size itself is bounded by the reader (the API
// server's MaxBodyBytes).
type Limits struct {
	// MaxDepth is the deepest nesting of arrays and objects (default 64;
	// the deepest real configuration, a rule in a rule set in a clone of
	// a group, is under 15).
	MaxDepth int
	// MaxItems is the most elements of one array or members of one object
	// (default 10000).
	MaxItems int
	// MaxValues is the most values (scalars, arrays and objects) in the
	// whole document, after YAML aliases are expanded (default 200000).
	MaxValues int
}

// DefaultLimits returns the limits the API server and the CLI apply.
func DefaultLimits() Limits {
	return Limits{MaxDepth: 64, MaxItems: 10000, MaxValues: 200000}
}

func (l Limits) orDefault() Limits {
	d := DefaultLimits()
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxItems <= 0 {
		l.MaxItems = d.MaxItems
	}
	if l.MaxValues <= 0 {
		l.MaxValues = d.MaxValues
	}
	return l
}

// UnknownFieldError is a field the target type does not have, with its
// path in the document (resources[0].ops[1].colour).
type UnknownFieldError struct {
	Path string
}

func (e *UnknownFieldError) Error() string { return fmt.Sprintf("unknown field %q", e.Path) }

// DecodeJSON decodes exactly one JSON value from b into v strictly: the
// shape must stay within l (an error wrapping ErrInputLimit), unknown
// fields are an *UnknownFieldError naming their path, and nothing may
// follow the value.
func DecodeJSON(b []byte, v any, l Limits) error {
	if err := checkJSONShape(b, l.orDefault()); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			var doc any
			if json.Unmarshal(b, &doc) == nil {
				if p, ok := unknownPath(doc, reflect.TypeOf(v), "json", ""); ok {
					return &UnknownFieldError{Path: p}
				}
			}
		}
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}

// checkJSONShape scans the tokens of b once, without building values, and
// refuses a document deeper, wider or bigger than l. Syntax errors are
// left to the real decode, which reports them better.
func checkJSONShape(b []byte, l Limits) error {
	type frame struct {
		object, wantKey bool
		items           int
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var stack []frame
	values := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		d, delim := tok.(json.Delim)
		if delim && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return nil
			}
			continue
		}
		if n := len(stack); n > 0 {
			top := &stack[n-1]
			if top.object && top.wantKey {
				top.wantKey = false
				top.items++
				if top.items > l.MaxItems {
					return fmt.Errorf("%w: more than %d members in one object", ErrInputLimit, l.MaxItems)
				}
				continue
			}
			if top.object {
				top.wantKey = true
			} else if top.items++; top.items > l.MaxItems {
				return fmt.Errorf("%w: more than %d elements in one array", ErrInputLimit, l.MaxItems)
			}
		}
		if values++; values > l.MaxValues {
			return fmt.Errorf("%w: more than %d values in the document", ErrInputLimit, l.MaxValues)
		}
		if delim {
			stack = append(stack, frame{object: d == '{', wantKey: d == '{'})
			if len(stack) > l.MaxDepth {
				return fmt.Errorf("%w: nested deeper than %d levels", ErrInputLimit, l.MaxDepth)
			}
		}
		if len(stack) == 0 {
			return nil
		}
	}
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// unknownPath walks a generic document (maps, slices, scalars) against
// the Go type it is decoded into and returns the path of the first member
// (in sorted key order) that type has no field for. tag is "json" (keys
// match case-insensitively, as encoding/json does) or "yaml".
func unknownPath(doc any, t reflect.Type, tag, path string) (string, bool) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return "", false
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := asMap(doc)
		if !ok {
			return "", false
		}
		fields := structFields(t, tag)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, found := lookupField(fields, k, tag == "json")
			if !found {
				return join(path, k), true
			}
			if p, ok := unknownPath(m[k], ft, tag, join(path, k)); ok {
				return p, true
			}
		}
	case reflect.Map:
		m, ok := asMap(doc)
		if !ok {
			return "", false
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, ok := unknownPath(m[k], t.Elem(), tag, join(path, k)); ok {
				return p, true
			}
		}
	case reflect.Slice, reflect.Array:
		s, ok := doc.([]any)
		if !ok {
			return "", false
		}
		for i, e := range s {
			if p, ok := unknownPath(e, t.Elem(), tag, path+"["+strconv.Itoa(i)+"]"); ok {
				return p, true
			}
		}
	}
	return "", false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func asMap(doc any) (map[string]any, bool) {
	switch m := doc.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out, true
	}
	return nil, false
}

// structFields maps the document names of t's fields (embedded structs
// flattened, tag "-" skipped) to their types.
func structFields(t reflect.Type, tag string) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get(tag), ",")
		if name == "-" && opts == "" {
			continue
		}
		inline := tag == "yaml" && strings.Contains(opts, "inline")
		if (f.Anonymous && name == "") || inline {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range structFields(ft, tag) {
					if _, dup := out[k]; !dup {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
			if tag == "yaml" {
				name = strings.ToLower(name)
			}
		}
		out[name] = f.Type
	}
	return out
}

func lookupField(fields map[string]reflect.Type, key string, fold bool) (reflect.Type, bool) {
	if t, ok := fields[key]; ok {
		return t, true
	}
	if fold {
		for k, t := range fields {
			if strings.EqualFold(k, key) {
				return t, true
			}
		}
	}
	return nil, false
}
