package logfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestRotatesBySizeKeepingModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log", "paceline")
	path := filepath.Join(dir, "agent.log")
	w, err := Open(Config{Path: path, MaxBytes: 4096, Keep: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	line := strings.Repeat("x", 99) + "\n" // 100 bytes
	for i := range 200 {                   // 20000 bytes: four rotations and more
		if _, err := fmt.Fprintf(w, "%03d%s", i, line[3:]); err != nil {
			t.Fatal(err)
		}
	}
	files := w.Files()
	want := []string{path + ".2", path + ".1", path}
	if fmt.Sprint(files) != fmt.Sprint(want) {
		t.Fatalf("files %v, want %v", files, want)
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Error("a third rotated file was kept with Keep 2")
	}
	for _, f := range files {
		if m := mode(t, f); m != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, m)
		}
		fi, _ := os.Stat(f)
		if fi.Size() > 4096 {
			t.Errorf("%s: %d bytes, over MaxBytes", f, fi.Size())
		}
	}
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("created directory mode %v, want 0700", m)
	}
	// Nothing lost between the kept files: the newest lines are in order.
	all, err := w.ReadSince(time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(all), "\n"), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "199") {
		t.Errorf("last line %q", last)
	}
	for i := 1; i < len(lines); i++ {
		if lines[i][:3] <= lines[i-1][:3] {
			t.Fatalf("line %d %q after %q", i, lines[i][:3], lines[i-1][:3])
		}
	}
	// The limit keeps the newest whole lines.
	tail, _ := w.ReadSince(time.Time{}, 250)
	if string(tail) != fmt.Sprintf("198%s199%s", line[3:], line[3:]) {
		t.Errorf("tail 250 bytes = %q", tail)
	}
}

func TestReadSinceByLineTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.log")
	w, err := Open(Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	now := time.Now().UTC()
	old, recent := now.Add(-2*time.Hour), now.Add(-time.Minute)
	fmt.Fprintf(w, "time=%s level=INFO msg=old\n", old.Format(time.RFC3339Nano))
	fmt.Fprintf(w, "http: a line without a time\n")
	fmt.Fprintf(w, "%s [WARN]  raft: recent\n", recent.Format("2006-01-02T15:04:05.000Z0700"))
	fmt.Fprintf(w, "goroutine 1 [running]: belongs to the recent line\n")
	fmt.Fprintf(w, "time=%s level=INFO msg=newest\n", now.Format(time.RFC3339Nano))
	got, err := w.ReadSince(now.Add(-time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(got, []byte("msg=old")) || bytes.Contains(got, []byte("without a time")) {
		t.Errorf("lines older than an hour returned:\n%s", got)
	}
	for _, want := range []string{"raft: recent", "belongs to the recent line", "msg=newest"} {
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("%q missing:\n%s", want, got)
		}
	}
}

func TestRefusesUnsafePlaces(t *testing.T) {
	base := t.TempDir()
	open := filepath.Join(base, "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	if _, err := Open(Config{Path: filepath.Join(open, "a.log")}); !errors.Is(err, ErrUnsafe) {
		t.Errorf("world-writable directory: %v", err)
	}
	link := filepath.Join(base, "link.log")
	os.Symlink(filepath.Join(base, "elsewhere"), link)
	if _, err := Open(Config{Path: link}); !errors.Is(err, ErrNotFile) {
		t.Errorf("symbolic link: %v", err)
	}
	if _, err := Open(Config{Path: "relative.log"}); !errors.Is(err, ErrPath) {
		t.Errorf("relative path: %v", err)
	}
	if _, err := Open(Config{Path: filepath.Join(base, "x.log"), MaxBytes: 10}); !errors.Is(err, ErrTooSmall) {
		t.Errorf("tiny size: %v", err)
	}
	// An existing file with a wider mode is narrowed to 0600.
	wide := filepath.Join(base, "wide.log")
	os.WriteFile(wide, []byte("x\n"), 0o644)
	os.Chmod(wide, 0o644)
	w, err := Open(Config{Path: wide})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if m := mode(t, wide); m != 0o600 {
		t.Errorf("existing file mode %v, want 0600", m)
	}
	if _, err := w.Write([]byte("late\n")); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
}

// Writers on many goroutines and a reader meanwhile: every line is whole
// and none is lost among the kept files.
func TestConcurrentWritesAndReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.log")
	w, err := Open(Config{Path: path, MaxBytes: 64 << 10, Keep: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				fmt.Fprintf(w, "writer %d line %04d %s\n", g, i, strings.Repeat("y", 40))
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			if _, err := w.ReadSince(time.Time{}, 0); err != nil {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
	<-done
	all, _ := w.ReadSince(time.Time{}, 0)
	lines := strings.Split(strings.TrimSuffix(string(all), "\n"), "\n")
	if len(lines) != 4000 {
		t.Errorf("%d lines kept, want 4000", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "writer ") || !strings.HasSuffix(l, strings.Repeat("y", 40)) {
			t.Fatalf("torn line %q", l)
		}
	}
}
