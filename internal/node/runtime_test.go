package node

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/consensus"
)

// A call to a leader that died with its host may hang until its timeout;
// whileLeads gives it up, cancelling it, as soon as another node leads, so
// that a renewal reaches the new leader inside the lease margin.
func TestCallToALeaderThatNoLongerLeadsIsGivenUp(t *testing.T) {
	var leader atomic.Value
	leader.Store("n1")
	now := func() string { return leader.Load().(string) }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	time.AfterFunc(50*time.Millisecond, func() { leader.Store("n2") })
	gaveUp := make(chan error, 1)
	err := whileLeads(ctx, "n1", now, 5*time.Millisecond, func(ctx context.Context, to string) error {
		<-ctx.Done() // the dead leader's host never answers
		gaveUp <- ctx.Err()
		return ctx.Err()
	})
	if !errors.Is(err, consensus.ErrNotLeader) {
		t.Fatalf("the call to n1 after n2 took over: %v, want consensus.ErrNotLeader", err)
	}
	select {
	case cerr := <-gaveUp:
		if !errors.Is(cerr, context.Canceled) {
			t.Fatalf("the abandoned call's context ended with %v, want context.Canceled", cerr)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the abandoned call's context was not cancelled")
	}
	// A leader that still leads is waited for, and its answer returned.
	errSlow := errors.New("slow answer")
	err = whileLeads(ctx, "n2", now, 5*time.Millisecond, func(ctx context.Context, to string) error {
		time.Sleep(50 * time.Millisecond)
		return errSlow
	})
	if !errors.Is(err, errSlow) {
		t.Fatalf("the call to n2, which leads: %v, want its own answer", err)
	}
}
