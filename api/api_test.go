package api

import (
	"github.com/paceline/paceline/internal/model"
	"strings"
	"testing"
	"time"
)

func TestConfigYAMLRoundTrip(t *testing.T) {
	in := &Config{
		Epoch:      3,
		Properties: map[string]string{"stonith-enabled": "false"},
		Resources: []Resource{{ID: "web", Kind: "primitive", Class: "builtin", Type: "dummy",
			Ops: []Op{{Name: "monitor", Interval: 5 * time.Second}}}},
	}
	b, err := EncodeConfigYAML(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "interval: 5s") {
		t.Errorf("durations should be written as Go durations:\n%s", b)
	}
	out, err := DecodeConfigYAML(b)
	if err != nil {
		t.Fatal(err)
	}
	if out.Epoch != 3 || out.Resources[0].Ops[0].Interval != 5*time.Second || out.Properties["stonith-enabled"] != "false" {
		t.Errorf("round trip lost data: %+v", out)
	}
}

func TestConfigYAMLStrict(t *testing.T) {
	for doc, want := range map[string]string{
		"epoch: 1\nresorces: []\n":           "resorces",
		"epoch: 1\n---\nepoch: 2\n":          "more than one",
		"":                                   "empty",
		"resources:\n- id: a\n  colour: x\n": "colour",
	} {
		_, err := DecodeConfigYAML([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one mentioning %q", doc, err, want)
		}
	}
}

func TestResourceRequestPrimitive(t *testing.T) {
	r := ResourceRequest{ID: "ip", Agent: "ocf:heartbeat:IPaddr2", Params: []NV{{Name: "ip", Value: "10.0.0.5"}},
		Ops: []OpSpec{{Name: "monitor", Interval: "10s", Timeout: "20s"}}}
	p, err := r.Primitive()
	if err != nil {
		t.Fatal(err)
	}
	if p.Agent() != "ocf:heartbeat:IPaddr2" || p.Ops[0].Interval != 10*time.Second || p.Ops[0].Timeout != 20*time.Second {
		t.Errorf("got %+v", p)
	}
	for _, bad := range []ResourceRequest{{ID: "x", Agent: "dummy"}, {ID: "x", Agent: "a:b:c:d"},
		{ID: "x", Agent: "builtin:dummy", Ops: []OpSpec{{Name: "monitor", Interval: "soon"}}}} {
		if _, err := bad.Primitive(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// Issue 11: the YAML takes what the CLI takes: INFINITY scores and the
// roles Master and Slave (stored as Promoted and Unpromoted by the server).
func TestConfigYAMLTakesInfinity(t *testing.T) {
	doc := `epoch: 3
resources:
- {id: a, kind: primitive, class: builtin, type: dummy}
- {id: b, kind: primitive, class: builtin, type: dummy}
locations:
- {id: l1, resource: a, node: n1, score: -INFINITY}
colocations:
- {id: c1, resource: a, with: b, score: INFINITY, with_role: Master}
- {id: c2, resource: a, with: b, score: 50}
`
	cfg, err := DecodeConfigYAML([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Locations[0].Score != -model.Infinity || cfg.Colocations[0].Score != model.Infinity || cfg.Colocations[1].Score != 50 {
		t.Errorf("scores: %+v %+v", cfg.Locations, cfg.Colocations)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if _, err := DecodeConfigYAML([]byte("epoch: 1\nlocations:\n- {id: l, resource: a, node: n, score: lots}\n")); err == nil {
		t.Errorf("score: lots was accepted")
	}
}
