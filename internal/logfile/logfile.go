// Package logfile is the agent's log file: an io.Writer that appends to
// PATH and rotates it by size (PATH -> PATH.1 -> ... -> PATH.Keep, the
// oldest dropped), files mode 0600 in a directory of mode 0700, and reads
// the recent part back for `paceline report` (ReadSince). Standard
// library only.
//
//	w, err := logfile.Open(logfile.Config{Path: "/var/log/paceline/paceline.log"})
//	logger := slog.New(slog.NewTextHandler(io.MultiWriter(os.Stderr, w), nil))
//	defer w.Close()
package logfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of Config.
const (
	DefaultMaxBytes = 10 << 20
	DefaultKeep     = 5
)

// Errors of Open, each wrapped with the path.
var (
	ErrPath     = errors.New("logfile: path must be absolute and name a file")
	ErrUnsafe   = errors.New("logfile: unsafe permissions")
	ErrNotFile  = errors.New("logfile: not a regular file")
	ErrClosed   = errors.New("logfile: closed")
	ErrTooSmall = errors.New("logfile: rotation size below 4 KiB")
)

// Config says where the log goes and how much of it is kept.
type Config struct {
	// Path is the log file, absolute. Its directory is created with mode
	// 0700 when missing; an existing one must not be writable by group or
	// others. Required.
	Path string
	// MaxBytes is the size past which the file is rotated before the next
	// write (default DefaultMaxBytes, at least 4 KiB).
	MaxBytes int64
	// Keep is how many rotated files are kept (PATH.1 newest); default
	// DefaultKeep.
	Keep int
}

// Writer is an open log file. Its methods are safe for concurrent use.
type Writer struct {
	cfg  Config
	mu   sync.Mutex
	f    *os.File // nil once closed
	size int64
}

// Open opens (creating) the log file for appending.
func Open(cfg Config) (*Writer, error) {
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Keep <= 0 {
		cfg.Keep = DefaultKeep
	}
	if !filepath.IsAbs(cfg.Path) || strings.HasSuffix(cfg.Path, "/") {
		return nil, fmt.Errorf("%w: %q", ErrPath, cfg.Path)
	}
	if cfg.MaxBytes < 4096 {
		return nil, fmt.Errorf("%w: %d", ErrTooSmall, cfg.MaxBytes)
	}
	cfg.Path = filepath.Clean(cfg.Path)
	dir := filepath.Dir(cfg.Path)
	switch fi, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		if err := os.Chmod(dir, 0o700); err != nil { // whatever the umask
			return nil, err
		}
	case err != nil:
		return nil, err
	case !fi.IsDir():
		return nil, fmt.Errorf("%w: %s is not a directory", ErrPath, dir)
	case fi.Mode().Perm()&0o022 != 0:
		return nil, fmt.Errorf("%w: directory %s is writable by group or others (mode %v)", ErrUnsafe, dir, fi.Mode().Perm())
	}
	w := &Writer{cfg: cfg}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

// open opens cfg.Path for appending with mode 0600; a symbolic link or
// other non-regular file is refused.
func (w *Writer) open() error {
	if fi, err := os.Lstat(w.cfg.Path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s (mode %v)", ErrNotFile, w.cfg.Path, fi.Mode())
	}
	f, err := os.OpenFile(w.cfg.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil && fi.Mode().Perm() != 0o600 {
		err = f.Chmod(0o600)
	}
	if err != nil {
		f.Close()
		return err
	}
	w.f, w.size = f, fi.Size()
	return nil
}

// Write appends p, rotating first when the file would grow past MaxBytes.
// A failed rotation is reported, and p is still written to the current
// file.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return 0, ErrClosed
	}
	var rotErr error
	if w.size > 0 && w.size+int64(len(p)) > w.cfg.MaxBytes {
		rotErr = w.rotate()
	}
	n, err := w.f.Write(p)
	w.size += int64(n)
	if err == nil {
		err = rotErr
	}
	return n, err
}

// rotate shifts PATH.k to PATH.k+1 (dropping the oldest), PATH to PATH.1,
// and opens a new PATH. Called with mu held.
func (w *Writer) rotate() error {
	p := w.cfg.Path
	os.Remove(p + "." + strconv.Itoa(w.cfg.Keep))
	for k := w.cfg.Keep - 1; k >= 1; k-- {
		if err := os.Rename(p+"."+strconv.Itoa(k), p+"."+strconv.Itoa(k+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("logfile: rotate: %w", err)
		}
	}
	if err := os.Rename(p, p+".1"); err != nil {
		return fmt.Errorf("logfile: rotate: %w", err)
	}
	old := w.f
	if err := w.open(); err != nil {
		// Keep writing to the renamed file rather than lose lines.
		return fmt.Errorf("logfile: rotate: %w", err)
	}
	old.Close()
	return nil
}

// Close closes the file; later writes fail with ErrClosed.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// Files returns the log's files that exist, oldest first (PATH.Keep ...
// PATH.1, PATH).
func (w *Writer) Files() []string {
	var out []string
	for k := w.cfg.Keep; k >= 0; k-- {
		name := w.cfg.Path
		if k > 0 {
			name += "." + strconv.Itoa(k)
		}
		if _, err := os.Stat(name); err == nil {
			out = append(out, name)
		}
	}
	return out
}

// ReadSince returns the log's lines written at or after since (zero: all
// kept), oldest first, at most limit bytes (the newest, cut at a line
// start; limit <= 0: no limit). A line's time is its leading timestamp
// (slog's "time=..." or RFC 3339, as hashicorp/raft writes); a line
// without one belongs to the line before it. It does not block writers.
func (w *Writer) ReadSince(since time.Time, limit int64) ([]byte, error) {
	var out bytes.Buffer
	for _, name := range w.Files() {
		if fi, err := os.Stat(name); err != nil || (!since.IsZero() && fi.ModTime().Before(since)) {
			continue // rotated away meanwhile, or nothing new in it
		}
		b, err := os.ReadFile(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		keep := since.IsZero()
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Bytes()
			if t, ok := lineTime(line); ok && !since.IsZero() {
				keep = !t.Before(since)
			}
			if keep {
				out.Write(line)
				out.WriteByte('\n')
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("logfile: read %s: %w", name, err)
		}
	}
	b := out.Bytes()
	if limit > 0 && int64(len(b)) > limit {
		b = b[int64(len(b))-limit:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return b, nil
}

// lineTime parses a line's leading timestamp.
func lineTime(line []byte) (time.Time, bool) {
	field, _, _ := bytes.Cut(line, []byte{' '})
	s := strings.TrimPrefix(string(field), "time=")
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
