package agents

import (
	"strings"
	"testing"
)

func TestOutputBounded(t *testing.T) {
	o := &Output{Max: 10}
	o.Write([]byte("0123456"))
	o.Write([]byte("789abcdef"))
	got := o.String()
	if !strings.HasPrefix(got, "0123456789\n") || !strings.Contains(got, "6 more bytes dropped") || !o.Truncated() {
		t.Fatalf("got %q", got)
	}
	small := &Output{}
	small.Write([]byte("hello\n"))
	if small.String() != "hello\n" || small.Truncated() {
		t.Fatalf("got %q", small.String())
	}
}

// Pacemaker's services__ocf2ocf: codes outside 0–9, 190, 191 are errors.
func TestOCFExitCode(t *testing.T) {
	for in, want := range map[int]RC{0: RCOK, 7: RCNotRunning, 8: RCRunningPromoted, 9: RCFailedPromoted,
		10: RCUnknownError, 127: RCUnknownError, 190: RCDegraded, 191: RCDegradedPromoted, 192: RCUnknownError, -1: RCUnknownError} {
		if got := OCFExitCode(in); got != want {
			t.Errorf("OCFExitCode(%d) = %v, want %v", in, got, want)
		}
	}
}
