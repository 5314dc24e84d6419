package clock

import (
	"testing"
	"time"
)

var _ Timer = (*time.Timer)(nil)

func TestFakeFiresInOrder(t *testing.T) {
	start := time.Unix(1000, 0)
	c := NewFake(start)
	var got []string
	var seen []time.Duration
	rec := func(s string) func() {
		return func() { got = append(got, s); seen = append(seen, c.Now().Sub(start)) }
	}
	c.AfterFunc(3*time.Second, rec("c"))
	c.AfterFunc(1*time.Second, func() {
		rec("a")()
		c.AfterFunc(1*time.Second, rec("b")) // due at 2s, within the advance
	})
	stopped := c.AfterFunc(2*time.Second, rec("never"))
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop should succeed once")
	}
	c.AfterFunc(10*time.Second, rec("later"))
	c.Advance(5 * time.Second)
	if want := "a b c"; join(got) != want {
		t.Fatalf("fired %q, want %q", join(got), want)
	}
	if seen[0] != time.Second || seen[1] != 2*time.Second || seen[2] != 3*time.Second {
		t.Fatalf("clock during calls: %v", seen)
	}
	if c.Now() != start.Add(5*time.Second) || c.Pending() != 1 || !c.WaitPending(1, time.Millisecond) {
		t.Fatalf("now %v, pending %d", c.Now(), c.Pending())
	}
	go func() { time.Sleep(10 * time.Millisecond); c.AfterFunc(time.Second, func() {}) }()
	if !c.WaitPending(2, 5*time.Second) {
		t.Fatal("WaitPending missed a timer added by another goroutine")
	}
	if c.WaitPending(5, 20*time.Millisecond) {
		t.Fatal("WaitPending(5) succeeded with 2 timers")
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}
