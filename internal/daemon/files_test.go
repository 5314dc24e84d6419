package daemon

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paceline/paceline/internal/pki"
)

// The agent refuses to start when a key or token file is group or world
// readable: one error line naming the file and its mode, and nothing in
// the data directory changes (no Raft state, the mode stays as it was).
func TestAgentRefusesReadableKeyFile(t *testing.T) {
	for _, file := range []string{"node.key", "ca.key", "tokens.json"} {
		t.Run(file, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if _, err := Init(InitOptions{Name: "n1", DataDir: dir, Listen: "127.0.0.1:7100", Advertise: "127.0.0.1:7100"}); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, file)
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
			before := listDir(t, dir)
			c, err := nodeConfig("n1", "", dir, "127.0.0.1:7100", "127.0.0.1:7100")
			if err != nil {
				t.Fatal(err)
			}
			err = Run(context.Background(), c, io.Discard)
			if !errors.Is(err, pki.ErrInsecureFile) {
				t.Fatalf("Run: %v, want ErrInsecureFile", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || !strings.Contains(msg, "0644") || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming %s and mode 0644", msg, path)
			}
			if after := listDir(t, dir); after != before {
				t.Errorf("data directory changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// Init creates the data directory 0700 and every key and token 0600.
func TestInitFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := Init(InitOptions{Name: "n1", DataDir: dir, Listen: "127.0.0.1:7100", Advertise: "127.0.0.1:7100"}); err != nil {
		t.Fatal(err)
	}
	want := map[string]os.FileMode{"": 0o700, "ca.key": 0o600, "node.key": 0o600, "tokens.json": 0o600, "admin.token": 0o600, NodeFile: 0o600, bootstrapFile: 0o600}
	for name, mode := range want {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %04o, want %04o", filepath.Join(dir, name), fi.Mode().Perm(), mode)
		}
	}
}

func TestOCFRoots(t *testing.T) {
	root, extra, err := ocfRoots([]string{"/usr/lib/ocf/resource.d", "/opt/site/ocf/resource.d/"})
	if err != nil || root != "/usr/lib/ocf" || len(extra) != 1 || extra[0] != "/opt/site/ocf" {
		t.Errorf("got %q %q %v", root, extra, err)
	}
	for _, bad := range [][]string{nil, {"/usr/lib/ocf"}, {"rel/resource.d"}} {
		if _, _, err := ocfRoots(bad); !errors.Is(err, ErrConfig) {
			t.Errorf("%q: got %v, want ErrConfig", bad, err)
		}
	}
}

// listDir describes every entry under dir with its mode.
func listDir(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		b.WriteString(p + " " + fi.Mode().String() + "; ")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
