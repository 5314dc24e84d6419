package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/paceline/paceline/internal/agents/stonith"
	"github.com/paceline/paceline/internal/fence"
	"github.com/paceline/paceline/internal/httpapi"
	"github.com/paceline/paceline/internal/node"
	"github.com/paceline/paceline/internal/store"
)

var (
	_ httpapi.FenceHistorian = (*Backend)(nil)
	_ httpapi.NodeFencer     = (*Backend)(nil)
)

// newFencing builds the stonith class (fence-agents' programs under
// /usr/sbin, owned by root) and the fencer this node runs fence devices
// with while it leads (and for `paceline node fence`). Every node has
// one, a witness too: it may lead.
func newFencing(logf func(string, ...any)) (*stonith.Class, *fence.Fencer, error) {
	cls, err := stonith.New(stonith.DefaultConfig())
	if err != nil {
		return nil, nil, err
	}
	f, err := fence.New(fence.Config{Runner: cls, Logf: logf})
	if err != nil {
		return nil, nil, err
	}
	return cls, f, nil
}

// FenceHistory implements httpapi.FenceHistorian.
func (b *Backend) FenceHistory(target string) (h []store.FenceEntry) {
	b.node.Read(func(s *store.Store) { h = s.FenceHistory(target) })
	return h
}

// FenceNode implements httpapi.NodeFencer through this node's runtime.
func (b *Backend) FenceNode(ctx context.Context, target, action, origin string) (store.FenceRecord, error) {
	if b.rt == nil {
		return store.FenceRecord{}, node.ErrNoFencer
	}
	type out struct {
		rec store.FenceRecord
		err error
	}
	ch := make(chan out, 1)
	go func() {
		rec, err := b.rt.FenceNow(target, action, origin)
		ch <- out{rec, err}
	}()
	select {
	case o := <-ch:
		if errors.Is(o.err, node.ErrSelfFence) {
			return o.rec, fmt.Errorf("%w: %v", httpapi.ErrFenceSelf, o.err)
		}
		return o.rec, o.err
	case <-ctx.Done():
		// The operation goes on and is recorded; the caller stopped
		// waiting.
		return store.FenceRecord{}, ctx.Err()
	}
}
