package cli

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The archive masks every secret value in every file, is 0600, and is
// never written over an existing file.
func TestReportArchiveScrubsSecrets(t *testing.T) {
	r := &report{dir: "paceline-report-x", secrets: []string{"hunter2-long", "pw-two"}}
	r.add("nodes/n1/agent.log", []byte("level=ERROR msg=\"agent said password=hunter2-long\"\nand pw-two twice pw-two\n"))
	r.add("README.txt", []byte("readme\n"))
	path := filepath.Join(t.TempDir(), "r.tar.gz")
	if err := r.write(path, time.Now()); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("archive mode %v", fi.Mode().Perm())
	}
	f, _ := os.Open(path)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	got := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = string(b)
	}
	log := got["paceline-report-x/nodes/n1/agent.log"]
	if strings.Contains(log, "hunter2") || strings.Contains(log, "pw-two") || strings.Count(log, "*****") != 3 {
		t.Errorf("agent.log not scrubbed: %q", log)
	}
	for _, d := range []string{"paceline-report-x/", "paceline-report-x/nodes/", "paceline-report-x/nodes/n1/"} {
		if _, ok := got[d]; !ok {
			t.Errorf("no directory entry %s in %v", d, got)
		}
	}
	if err := r.write(path, time.Now()); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("second write over the archive: %v", err)
	}
	if fi, _ := os.Stat(path); fi.Size() == 0 {
		t.Error("a failed write removed or emptied the existing archive")
	}
}
