package sched

import (
	"testing"

	"github.com/paceline/paceline/internal/model"
)

// Replica addresses count up from ip-range-start, wrapping the last octet
// at 254 into the third (next_ip in Pacemaker's bundle.c).
func TestNextIP(t *testing.T) {
	for _, tc := range []struct{ last, want string }{
		{"192.168.0.10", "192.168.0.11"},
		{"10.0.0.253", "10.0.0.254"},
		{"10.0.1.254", "10.0.2.1"},
		{"10.0.254.254", ""},
		{"fe80::1", ""},
	} {
		if got := nextIP(tc.last); got != tc.want {
			t.Errorf("nextIP(%q) = %q, want %q", tc.last, got, tc.want)
		}
	}
}

// Replicas default to promoted-max (else 1); replicas-per-host is forced
// to 1 when only a control port reaches the containers.
func TestBundleCounts(t *testing.T) {
	for _, tc := range []struct {
		name              string
		b                 model.Bundle
		replicas, perHost int
	}{
		{"defaults", model.Bundle{}, 1, 1},
		{"promoted-max", model.Bundle{PromotedMax: 3}, 3, 1},
		{"explicit", model.Bundle{Replicas: 4, ReplicasPerHost: 2, IPRangeStart: "10.0.0.1"}, 4, 2},
		{"control port", model.Bundle{Replicas: 4, ReplicasPerHost: 2, ControlPort: "3121"}, 4, 1},
	} {
		r, p := bundleCounts(&tc.b)
		if r != tc.replicas || p != tc.perHost {
			t.Errorf("%s: got %d/%d, want %d/%d", tc.name, r, p, tc.replicas, tc.perHost)
		}
	}
}
