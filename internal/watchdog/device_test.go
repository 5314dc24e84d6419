package watchdog

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeDevice is a watchdog driver in memory: it records writes and ioctls
// and answers the timeout ioctls like a driver with a fixed granularity.
type fakeDevice struct {
	writes     []string
	keepalives int
	timeout    int   // seconds, as the driver holds it
	setErr     error // returned by SetTimeout (nil: accept)
	getErr     error
	kaErr      error // returned by Keepalive
	granule    int   // the driver rounds timeouts up to this (0: exact)
	closed     bool
}

func (d *fakeDevice) Write(p []byte) (int, error) {
	if d.closed {
		return 0, os.ErrClosed
	}
	d.writes = append(d.writes, string(p))
	return len(p), nil
}

func (d *fakeDevice) Close() error {
	if d.closed {
		return os.ErrClosed
	}
	d.closed = true
	return nil
}

func (d *fakeDevice) SetTimeout(s int) (int, error) {
	if d.setErr != nil {
		return 0, d.setErr
	}
	if d.granule > 0 && s%d.granule != 0 {
		s += d.granule - s%d.granule
	}
	d.timeout = s
	return s, nil
}

func (d *fakeDevice) Timeout() (int, error) { return d.timeout, d.getErr }

func (d *fakeDevice) Keepalive() error {
	if d.kaErr != nil {
		return d.kaErr
	}
	d.keepalives++
	return nil
}

// disarmed reports whether the last write before close was the magic 'V'.
func (d *fakeDevice) disarmed() bool {
	return d.closed && len(d.writes) > 0 && d.writes[len(d.writes)-1] == "V"
}

func TestDeviceSetsTimeoutRoundedUp(t *testing.T) {
	f := &fakeDevice{timeout: 60, granule: 2}
	d, err := newDevice("/dev/watchdog", f, 2500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	// 2.5 s is asked as 3 s (whole seconds, rounded up); the driver rounds
	// to 4 s, and Timeout reports what it set.
	if d.Timeout() != 4*time.Second || f.timeout != 4 {
		t.Fatalf("timeout %v (driver %ds), want 4s", d.Timeout(), f.timeout)
	}
}

func TestDeviceWithFixedTimeoutKeepsIt(t *testing.T) {
	f := &fakeDevice{timeout: 30, setErr: unix.EOPNOTSUPP}
	d, err := newDevice("/dev/watchdog", f, 5*time.Second)
	if err != nil {
		t.Fatalf("a driver without WDIOC_SETTIMEOUT must still open: %v", err)
	}
	if d.Timeout() != 30*time.Second {
		t.Fatalf("timeout %v, want the driver's 30s", d.Timeout())
	}
}

func TestDeviceRejectedTimeoutDisarmsAndFails(t *testing.T) {
	f := &fakeDevice{timeout: 30, setErr: unix.EINVAL}
	_, err := newDevice("/dev/watchdog", f, time.Hour)
	if !errors.Is(err, unix.EINVAL) {
		t.Fatalf("err %v, want EINVAL", err)
	}
	if !f.disarmed() {
		t.Fatalf("a device that failed to open must be disarmed (writes %q, closed %v)", f.writes, f.closed)
	}
}

func TestDeviceFeedsByKeepaliveElseWrite(t *testing.T) {
	f := &fakeDevice{timeout: 10}
	d, _ := newDevice("/dev/watchdog", f, 0)
	for i := 0; i < 3; i++ {
		if err := d.Feed(); err != nil {
			t.Fatal(err)
		}
	}
	if f.keepalives != 3 || len(f.writes) != 0 {
		t.Fatalf("keepalives %d, writes %q; want 3 ioctls, no writes", f.keepalives, f.writes)
	}

	f = &fakeDevice{timeout: 10, kaErr: unix.ENOTTY}
	d, _ = newDevice("/dev/watchdog", f, 0)
	for i := 0; i < 3; i++ {
		if err := d.Feed(); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range f.writes {
		if w == "V" {
			t.Fatalf("a feed wrote the magic 'V' (disarms): %q", f.writes)
		}
	}
	if len(f.writes) != 3 {
		t.Fatalf("writes %q, want 3 feed writes", f.writes)
	}

	f = &fakeDevice{timeout: 10, kaErr: unix.EIO}
	d, _ = newDevice("/dev/watchdog", f, 0)
	if err := d.Feed(); !errors.Is(err, unix.EIO) {
		t.Fatalf("feed error %v, want EIO", err)
	}
}

func TestDeviceCloseIsMagicUnlessLeftArmed(t *testing.T) {
	f := &fakeDevice{timeout: 10}
	d, _ := newDevice("/dev/watchdog", f, 0)
	d.Feed()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if !f.disarmed() {
		t.Fatalf("Close must write 'V' then close: writes %q, closed %v", f.writes, f.closed)
	}
	if err := d.Feed(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Feed after Close: %v, want ErrClosed", err)
	}

	f = &fakeDevice{timeout: 10}
	d, _ = newDevice("/dev/watchdog", f, 0)
	if err := d.CloseArmed(); err != nil {
		t.Fatal(err)
	}
	if !f.closed || len(f.writes) != 0 {
		t.Fatalf("CloseArmed must close without writing: writes %q, closed %v", f.writes, f.closed)
	}
	if err := d.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second close: %v, want ErrClosed", err)
	}
}

// TestOpenDeviceOnAFile runs the real device code (open, ioctls, writes)
// against a regular file: the kernel answers the watchdog ioctls with
// ENOTTY, so the timeout stays unknown and feeds fall back to writes, which
// the file records.
func TestOpenDeviceOnAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "watchdog")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := Open(Spec{Kind: KindDevice, Path: path}, Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	d := w.(*Device)
	if d.Timeout() != 0 {
		t.Fatalf("timeout %v from a file, want 0 (unknown)", d.Timeout())
	}
	if err := d.Feed(); err != nil {
		t.Fatal(err)
	}
	if err := d.Feed(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "\n\nV" {
		t.Fatalf("device saw %q, want two feeds and the magic close", got)
	}
	if _, err := OpenDevice(filepath.Join(t.TempDir(), "missing"), 0); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("open of a missing device: %v", err)
	}
}
