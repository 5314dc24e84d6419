package main

import (
	"slices"
	"testing"
)

func TestSysmonEnv(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args, env []string
		want      []string // nil: no change
	}{
		{"agent without GODEBUG", []string{"agent", "--data-dir", "/d"}, []string{"PATH=/bin"},
			[]string{"PATH=/bin", "GODEBUG=" + sysmonPolls}},
		{"agent with other settings", []string{"agent"}, []string{"GODEBUG=madvdontneed=1", "HOME=/root"},
			[]string{"GODEBUG=madvdontneed=1," + sysmonPolls, "HOME=/root"}},
		{"agent with an empty GODEBUG", []string{"agent"}, []string{"GODEBUG="},
			[]string{"GODEBUG=" + sysmonPolls}},
		{"a later GODEBUG is left as it is", []string{"agent"}, []string{"GODEBUG=a=1", "GODEBUG=schedtrace=5"},
			[]string{"GODEBUG=a=1," + sysmonPolls, "GODEBUG=schedtrace=5"}},
		{"the operator's schedtrace is kept", []string{"agent"}, []string{"GODEBUG=x=1,schedtrace=0"}, nil},
		{"after the exec: nothing to change", []string{"agent"}, []string{"GODEBUG=" + sysmonPolls}, nil},
		{"other commands run as they are", []string{"status"}, []string{"PATH=/bin"}, nil},
		{"no command", nil, []string{"PATH=/bin"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := sysmonEnv(tc.args, tc.env)
			if ok != (tc.want != nil) || !slices.Equal(got, tc.want) {
				t.Fatalf("sysmonEnv(%q, %q) = %q, %v; want %q", tc.args, tc.env, got, ok, tc.want)
			}
		})
	}
}
