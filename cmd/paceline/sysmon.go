package main

import (
	"strings"
	"syscall"
)

// An idle agent's largest single cost was the Go runtime's system monitor
// (sysmon), not Paceline's own work. While every P is idle, sysmon sleeps
// until the next timer, and the first goroutine to enter a system call
// after that wakes it again, after which it polls every 20 µs until the
// program is idle once more. An agent is never idle for long (Raft's
// appends, lease renewals, monitors: a few hundred small bursts a second),
// so sysmon woke about 290 times a second on a leader with 1,000
// resources: 580 of its 1,000 context switches a second, about a quarter
// of its CPU (perf record; bench/idle-cpu.sh).
//
// With GODEBUG schedtrace set, sysmon never sleeps that way: it polls on
// its own back-off, every 10 ms once nothing happens (about 100 wake-ups a
// second). schedtrace's trace line is printed every that many
// milliseconds from boot; at its largest, 2^31-1 ms (24.8 days), no line
// comes before the host has been up that long, and then one every 24.8
// days. The agent sets it by executing itself again at start, with the
// same PID, arguments and environment. An operator who sets schedtrace in
// GODEBUG (schedtrace=0: the runtime's default) keeps that.
const sysmonPolls = "schedtrace=2147483647"

// sysmonEnv returns the environment to run `paceline agent` (args as
// os.Args[1:]) with, sysmonPolls added to GODEBUG, and true; or nil and
// false when it needs no change: another command, or a GODEBUG that
// names schedtrace.
func sysmonEnv(args, env []string) ([]string, bool) {
	if len(args) == 0 || args[0] != "agent" {
		return nil, false
	}
	out := make([]string, 0, len(env)+1)
	found := false
	for _, kv := range env {
		v, ok := strings.CutPrefix(kv, "GODEBUG=")
		if !ok {
			out = append(out, kv)
			continue
		}
		if found {
			out = append(out, kv) // Go reads the first one only
			continue
		}
		found = true
		for _, s := range strings.Split(v, ",") {
			if strings.HasPrefix(strings.TrimSpace(s), "schedtrace=") {
				return nil, false
			}
		}
		if v == "" {
			kv += sysmonPolls
		} else {
			kv += "," + sysmonPolls
		}
		out = append(out, kv)
	}
	if !found {
		out = append(out, "GODEBUG="+sysmonPolls)
	}
	return out, true
}

// quietSysmon executes the agent again with sysmonEnv's environment
// (through /proc/self/exe: the same binary, also when it was replaced on
// disk since). It returns only when nothing is to change or the exec
// failed; the agent then runs as it is.
func quietSysmon(argv, env []string) {
	if env, ok := sysmonEnv(argv[1:], env); ok {
		_ = syscall.Exec("/proc/self/exe", argv, env)
	}
}
