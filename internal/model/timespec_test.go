package model

import (
	"testing"
	"time"
)

func TestTimeSpecsReadAsPacemakerReadsThem(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"60", 60 * time.Second, true},
		{"10s", 10 * time.Second, true},
		{"500ms", 500 * time.Millisecond, true},
		{"2min", 2 * time.Minute, true},
		{"1h", time.Hour, true},
		{"PT1M30S", 90 * time.Second, true},
		{"", 0, false},
		{"soon", 0, false},
		{"10 parsecs", 0, false},
	} {
		got, ok := ParseTimeSpec(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseTimeSpec(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
