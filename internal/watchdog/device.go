package watchdog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// deviceFile is what Device needs of an opened watchdog node: the seam
// between Device's logic and the kernel, so tests use a fake.
type deviceFile interface {
	io.WriteCloser
	// SetTimeout issues WDIOC_SETTIMEOUT with seconds and returns the
	// timeout the driver actually set (drivers round), in seconds.
	SetTimeout(seconds int) (int, error)
	// Timeout issues WDIOC_GETTIMEOUT.
	Timeout() (int, error)
	// Keepalive issues WDIOC_KEEPALIVE.
	Keepalive() error
}

// Device is a kernel watchdog device (the Linux watchdog API,
// Documentation/watchdog/watchdog-api.rst). Opening it arms it.
type Device struct {
	path    string
	f       deviceFile
	timeout time.Duration // as the driver reports it; 0 if unknown
	// byWrite: the driver does not support WDIOC_KEEPALIVE, feed by write.
	byWrite bool
}

var _ Watchdog = (*Device)(nil)

// OpenDevice opens and so arms the watchdog device at path and, if timeout
// is positive, asks the driver for that timeout rounded up to whole
// seconds. A driver that cannot change its timeout keeps its own; Timeout
// reports the one in force. An out-of-range timeout is an error (and the
// device is disarmed again).
func OpenDevice(path string, timeout time.Duration) (*Device, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("watchdog: open device: %w", err)
	}
	return newDevice(path, osDevice{f}, timeout)
}

// newDevice applies the timeout to an opened device.
func newDevice(path string, f deviceFile, timeout time.Duration) (*Device, error) {
	d := &Device{path: path, f: f}
	if timeout > 0 {
		secs := int((timeout + time.Second - 1) / time.Second)
		got, err := f.SetTimeout(secs)
		switch {
		case err == nil:
			d.timeout = time.Duration(got) * time.Second
		case unsupported(err):
			// The driver has a fixed timeout: read it if it can say.
		default:
			cerr := d.Close()
			return nil, errors.Join(fmt.Errorf("watchdog: %s: set timeout %ds: %w", path, secs, err), cerr)
		}
	}
	if d.timeout == 0 {
		if got, err := f.Timeout(); err == nil {
			d.timeout = time.Duration(got) * time.Second
		}
	}
	return d, nil
}

// unsupported reports whether an ioctl error means the driver lacks the
// operation (as opposed to rejecting its argument).
func unsupported(err error) bool {
	return errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EOPNOTSUPP)
}

// Path returns the device path.
func (d *Device) Path() string { return d.path }

// Timeout returns the reset timeout in force, as the driver reported it;
// 0 if the driver cannot say.
func (d *Device) Timeout() time.Duration { return d.timeout }

// Feed issues WDIOC_KEEPALIVE, or writes one byte if the driver lacks that
// ioctl.
func (d *Device) Feed() error {
	if d.f == nil {
		return ErrClosed
	}
	if !d.byWrite {
		err := d.f.Keepalive()
		if err == nil {
			return nil
		}
		if !unsupported(err) {
			return fmt.Errorf("watchdog: %s: keepalive: %w", d.path, err)
		}
		d.byWrite = true
	}
	// Any byte but 'V' is a keepalive.
	if _, err := d.f.Write([]byte{'\n'}); err != nil {
		return fmt.Errorf("watchdog: %s: feed: %w", d.path, err)
	}
	return nil
}

// Close writes the magic 'V' and closes the device, which disarms it
// unless the driver was loaded with nowayout.
func (d *Device) Close() error {
	if d.f == nil {
		return ErrClosed
	}
	_, werr := d.f.Write([]byte{'V'})
	if werr != nil {
		werr = fmt.Errorf("watchdog: %s: magic close: %w", d.path, werr)
	}
	return errors.Join(werr, d.release())
}

// CloseArmed closes the device without the magic 'V': the watchdog keeps
// counting down and resets the host unless it is opened and fed again.
func (d *Device) CloseArmed() error {
	if d.f == nil {
		return ErrClosed
	}
	return d.release()
}

func (d *Device) release() error {
	f := d.f
	d.f = nil
	if err := f.Close(); err != nil {
		return fmt.Errorf("watchdog: %s: close: %w", d.path, err)
	}
	return nil
}

// osDevice is the real deviceFile.
type osDevice struct{ f *os.File }

func (o osDevice) Write(p []byte) (int, error) { return o.f.Write(p) }
func (o osDevice) Close() error                { return o.f.Close() }

func (o osDevice) SetTimeout(seconds int) (int, error) {
	if err := unix.IoctlSetPointerInt(int(o.f.Fd()), unix.WDIOC_SETTIMEOUT, seconds); err != nil {
		return 0, err
	}
	// IoctlSetPointerInt does not hand back the value the driver wrote.
	got, err := o.Timeout()
	if err != nil {
		return seconds, nil
	}
	return got, nil
}

func (o osDevice) Timeout() (int, error) {
	return unix.IoctlGetInt(int(o.f.Fd()), unix.WDIOC_GETTIMEOUT)
}

func (o osDevice) Keepalive() error { return unix.IoctlWatchdogKeepalive(int(o.f.Fd())) }
