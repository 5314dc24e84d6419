package agents

import (
	"fmt"
	"strings"
	"sync"
)

// MaxOutput is the default bound on the output kept from one operation.
const MaxOutput = 64 << 10

// Output is an io.Writer that keeps the first Max bytes written to it and
// counts the rest. It is safe for concurrent writers. The zero value keeps
// MaxOutput bytes.
type Output struct {
	// Max is the number of bytes kept; zero means MaxOutput.
	Max int

	mu      sync.Mutex
	buf     []byte
	dropped int64
}

// Write keeps what fits and never fails, so a chatty agent is never
// blocked or killed by its output.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	max := o.Max
	if max <= 0 {
		max = MaxOutput
	}
	room := max - len(o.buf)
	if room > len(p) {
		room = len(p)
	}
	if room > 0 {
		o.buf = append(o.buf, p[:room]...)
	}
	o.dropped += int64(len(p) - max0(room))
	return len(p), nil
}

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
}

// Truncated reports whether bytes were dropped.
func (o *Output) Truncated() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.dropped > 0
}

// String returns the kept output, followed by a marker line saying how
// many bytes were dropped when the bound was reached.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dropped == 0 {
		return string(o.buf)
	}
	var b strings.Builder
	b.Write(o.buf)
	if len(o.buf) > 0 && o.buf[len(o.buf)-1] != '\n' {
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "[paceline: output truncated, %d more bytes dropped]\n", o.dropped)
	return b.String()
}
