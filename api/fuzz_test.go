package api

import "testing"

// FuzzDecodeConfigYAML feeds arbitrary YAML to the configuration decoder
// (paceline config apply, POST /v1/config as YAML): no panic, and an
// accepted document decodes to a configuration.
func FuzzDecodeConfigYAML(f *testing.F) {
	for _, s := range []string{
		"resources:\n- id: web\n  type: builtin:dummy\n",
		"properties:\n  stonith-enabled: \"false\"\nnodes:\n- name: n1\n",
		"constraints:\n- location: {id: l1, resource: web, node: n1, score: \"100\"}\n",
		"a: &a [*a]\n", "- - - -\n", "{",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := DecodeConfigYAML(b)
		if err == nil && cfg == nil {
			t.Fatalf("%q: no error and no configuration", b)
		}
	})
}
