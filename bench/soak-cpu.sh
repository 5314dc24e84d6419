#!/usr/bin/env bash
# soak-cpu.sh - the CPU-pressure soak (issue 4): a three-host Paceline
# cluster (namespace hosts, simulated watchdogs, a VIP) with both cores
# kept busy and no fault, MINUTES (default 10) per profile (SOAK_PROFILES,
# default "default,fast"). Prints one SOAK line per profile: VIP holder
# changes, watchdog resets, self-fences, leader changes (status, once a
# second), raft's elections and leader step-downs (agents' logs),
# dual-holder time. SOAK_DOWN=1 crashes a follower that does not hold
# the VIP first and leaves it down: the leader then keeps its office with
# one follower. Fails if the default profile had a VIP move, a reset or a
# self-fence. Needs root.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_root soak-cpu.sh
export PACELINE_SOAK=1 MINUTES=${MINUTES:-10}
export PL_E2E_PREFIX=${PL_E2E_PREFIX:-pl-sk-}
go test ./test/e2e -run '^TestSoakCPU$' -count=1 -v -timeout 120m 2>&1 |
	grep --line-buffered -E '^(SOAK|--- |ok|FAIL|PASS)|soak_test|Error'
