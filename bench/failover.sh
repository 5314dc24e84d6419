#!/usr/bin/env bash
# failover.sh - the failover benchmark on real network stacks (issue 4):
# three namespace hosts on a bridge and a client, in one run and one
# topology, measuring Paceline (builtin:vip; fast and default profile, a
# simulated watchdog per host), keepalived (advert_int 0.1 and its default
# of 1 s) and Pacemaker+Corosync (ocf:heartbeat:IPaddr2; skipped when
# PACEMAKER=0 or it cannot be installed). Faults on the VIP's holder at a
# random offset: kill (SIGKILL of the cluster agent), link (link down),
# crash (every process killed, link down). The client probes VIP:9000
# every 10 ms; failover = fault to the first answer from another host;
# dual-holder = how long two connected hosts held the VIP (sampled every
# 5 ms). Prints one FAILOVER line per run and min/median/max per system
# and fault. Needs root. RUNS (default 7) runs per system and fault;
# SYSTEMS (comma separated) picks systems: paceline-fast, paceline-default,
# keepalived-0.1, keepalived-default, pacemaker.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_root failover.sh
need keepalived keepalived
need python3 python3
need nft nftables
if [[ ${PACEMAKER:-1} != 0 ]]; then
	scripts/install-pacemaker.sh || echo "bench/failover.sh: Pacemaker not installed; its runs are skipped" >&2
fi
export PACELINE_BENCH_FAILOVER=1 BENCH_RUNS=${RUNS:-7}
[[ -n ${SYSTEMS:-} ]] && export BENCH_SYSTEMS=$SYSTEMS
# Its own namespace prefix, so the benchmark never touches a test run's.
export PL_E2E_PREFIX=${PL_E2E_PREFIX:-pl-bf-}
go test ./test/e2e -run '^TestFailoverBench$' -count=1 -v -timeout 120m 2>&1 |
	grep --line-buffered -E '^(FAILOVER|SPURIOUS|system |paceline|keepalived|pacemaker|--- |ok|FAIL|PASS)|failover_bench_test|pacemaker\.go|Error'
