package watchdog

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Spec
	}{
		{"", Spec{Kind: KindNone}},
		{"/dev/watchdog", Spec{Kind: KindDevice, Path: "/dev/watchdog"}},
		{"/dev/watchdog1", Spec{Kind: KindDevice, Path: "/dev/watchdog1"}},
		{"/dev//watchdog", Spec{Kind: KindDevice, Path: "/dev/watchdog"}},
		{"sim:unix:/run/pl/wd.sock", Spec{Kind: KindSim, Path: "/run/pl/wd.sock"}},
		{"sim:unix:wd.sock", Spec{Kind: KindSim, Path: "wd.sock"}},
	} {
		got, err := Parse(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		if back, err := Parse(got.String()); err != nil || back != got {
			t.Errorf("Parse(%q.String()=%q) = %+v, %v", tc.in, got.String(), back, err)
		}
	}
}

func TestParseErrorsNameTheValue(t *testing.T) {
	for _, tc := range []struct{ in, reason string }{
		{"watchdog", "neither a device path nor sim:unix:PATH"},
		{"/tmp/wd", "under /dev/"},
		{"/dev/../etc/passwd", "under /dev/"},
		{"/dev/", "under /dev/"},
		{"sim:unix:", "no socket path"},
		{"sim:tcp:127.0.0.1:9", "only over a unix socket"},
		{"sim:unix:/" + strings.Repeat("x", 200), "longer than"},
	} {
		_, err := Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", tc.in)
			continue
		}
		var se *SpecError
		if !errors.Is(err, ErrInvalidSpec) || !errors.As(err, &se) || se.Value != tc.in {
			t.Errorf("Parse(%q) error %v is not a *SpecError wrapping ErrInvalidSpec for the value", tc.in, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, `"`+tc.in) && !strings.Contains(msg, tc.in[:10]) {
			t.Errorf("Parse(%q) error %q does not name the value", tc.in, msg)
		}
		if !strings.Contains(msg, tc.reason) {
			t.Errorf("Parse(%q) error %q does not say %q", tc.in, msg, tc.reason)
		}
	}
}

func TestOpenNone(t *testing.T) {
	w, err := Open(Spec{Kind: KindNone}, Options{})
	if w != nil || err != nil {
		t.Fatalf("Open(none) = %v, %v; want nil, nil", w, err)
	}
}
