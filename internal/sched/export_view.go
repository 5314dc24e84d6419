package sched

import (
	"errors"
	"fmt"
)

// CurrentView returns the cluster as the scheduler sees it before any
// transition (Result.Current) without planning one: the configuration and
// the status unpacked, clone instances matched to their history, roles and
// failures decided. It is much cheaper than Schedule, for status displays.
// Resources are in configuration order (Schedule's Current sorts them by
// priority).
func CurrentView(in Input) (v ClusterView, err error) {
	if in.Config == nil {
		return ClusterView{}, errors.New("sched: no configuration")
	}
	ws := &workingSet{cfg: in.Config, st: in.Status}
	ws.now = in.Now.Unix()
	if in.Status != nil && !in.Status.Now.IsZero() {
		ws.now = in.Status.Now.Unix()
	}
	defer func() {
		if p := recover(); p != nil {
			v, err = ClusterView{}, fmt.Errorf("sched: internal error: %v", p)
		}
	}()
	ws.unpackConfig()
	ws.unpackNodes()
	if err := ws.unpackResources(); err != nil {
		return ClusterView{}, err
	}
	ws.unpackStatus()
	return ws.view(false), nil
}
