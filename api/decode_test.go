package api

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeJSONLimits(t *testing.T) {
	l := Limits{MaxDepth: 8, MaxItems: 5, MaxValues: 40}
	for _, tc := range []struct{ name, doc, want string }{
		{"deep", strings.Repeat("[", 9) + strings.Repeat("]", 9), "deeper than 8"},
		{"wide array", `{"resources":[1,2,3,4,5,6]}`, "more than 5 elements"},
		{"wide object", `{"properties":{"a":"","b":"","c":"","d":"","e":"","f":""}}`, "more than 5 members"},
		{"many values", `{"properties":{"a":[[1,2,3,4,5],[1,2,3,4,5],[1,2,3,4,5],[1,2,3,4,5],[1,2,3,4,5]],"b":[[1,2,3,4,5],[1,2,3,4,5]]}}`, "more than 40 values"},
	} {
		var c Config
		err := DecodeJSON([]byte(tc.doc), &c, l)
		if !errors.Is(err, ErrInputLimit) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrInputLimit with %q", tc.name, err, tc.want)
		}
	}
	var c Config
	if err := DecodeJSON([]byte(`{"epoch":2,"properties":{"a":"1","b":"2"},"resources":[{"id":"x","kind":"primitive"}]}`), &c, l); err != nil {
		t.Errorf("a document within the limits: %v", err)
	}
}

func TestUnknownFieldPath(t *testing.T) {
	var c Config
	err := DecodeJSON([]byte(`{"epoch":1,"resources":[{"id":"a","kind":"group","children":[{"id":"b","kind":"primitive","ops":[{"name":"monitor","colour":"red"}]}]}]}`), &c, DefaultLimits())
	var uf *UnknownFieldError
	if !errors.As(err, &uf) || uf.Path != "resources[0].children[0].ops[0].colour" {
		t.Errorf("JSON: %v, want the path of colour", err)
	}
	_, err = DecodeConfigYAML([]byte("epoch: 1\nresources:\n- id: a\n  kind: primitive\n  params:\n  - name: x\n    value: y\n    flavour: z\n"))
	if !errors.As(err, &uf) || uf.Path != "resources[0].params[0].flavour" {
		t.Errorf("YAML: %v, want the path of flavour", err)
	}
}

// A "billion laughs" YAML document is small as text and as a node tree;
// it is refused while its expansion is measured.
func TestYAMLAliasBomb(t *testing.T) {
	doc := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		doc += n + ": &" + n + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
		prev = n
	}
	_, err := DecodeConfigYAML([]byte("epoch: 1\nproperties:\n  " + strings.ReplaceAll(doc, "\n", "\n  ")))
	if !errors.Is(err, ErrInputLimit) || !strings.Contains(err.Error(), "aliases") {
		t.Errorf("alias bomb: %v, want ErrInputLimit naming aliases", err)
	}
	// A modest anchor is fine.
	cfg, err := DecodeConfigYAML([]byte("epoch: 1\nrsc_defaults: &d {resource-stickiness: \"100\"}\nop_defaults: *d\n"))
	if err != nil || cfg.OpDefaults["resource-stickiness"] != "100" {
		t.Errorf("an ordinary alias: %+v %v", cfg, err)
	}
}
