package cib

import (
	"bytes"
	"os"
	"testing"
)

// FuzzParseCIBFiles feeds arbitrary XML to the CIB importer, seeded with the
// repository's own CIBs: it must not panic, and whatever it accepts is a
// configuration.
func FuzzParseCIBFiles(f *testing.F) {
	for _, p := range []string{"../cli/demo/cluster.xml", "../cli/testdata/two-nodes.xml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<cib><configuration><resources/><constraints/></configuration></cib>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, _, err := Parse(bytes.NewReader(b))
		if err == nil && cfg == nil {
			t.Fatalf("%q: no error and no configuration", b)
		}
	})
}
