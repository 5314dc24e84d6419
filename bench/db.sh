#!/usr/bin/env bash
# db.sh - the database failover benchmark of issue 12 (make bench-db): a
# replicated PostgreSQL 15 on three namespace hosts (builtin:postgresql,
# synchronous=on, the VIP colocated with the promoted role: the issue's
# exact commands), a client inserting through the VIP every 20 ms, and a
# fault on the primary's host: kill (every process of the host SIGKILLed;
# its simulated watchdog resets it), link (its link cut) and crash (every
# process killed, addresses gone, link down). Each trial prints its write
# unavailability (the last write acknowledged before the fault to the
# first acknowledged of those sent after it) and each fault and profile
# its min/median/max; the old primary must stream again after its return.
#
# It runs test/e2e's own fault scenario (TestPostgreSQLFailover*, the
# same harness, writer and checks), once with `paceline agent --profile
# fast` and once with the defaults. Needs root.
#
#   RUNS=5            trials per fault and profile (default 5)
#   FAULTS="kill link crash"
#   PROFILES="fast default"
#   PACELINE=0        skip Paceline (with BENCH_PATRONI=1: Patroni only)
#   BENCH_PATRONI=1   then the same against Patroni (defaults, then tuned),
#                     test/e2e's TestPatroniFailoverBench
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_root db.sh
need nft nftables
[[ -x /usr/lib/postgresql/15/bin/postgres ]] || need pg_ctlcluster postgresql
runs=${RUNS:-5}
faults=${FAULTS:-kill link crash}
profiles=${PROFILES:-fast default}
# Its own namespace prefix, so the benchmark never touches a test run's.
export PL_E2E_PREFIX=${PL_E2E_PREFIX:-pl-bd-}

declare -A test_of=([kill]=TestPostgreSQLFailoverKill [link]=TestPostgreSQLFailoverLinkCut [crash]=TestPostgreSQLFailover)
summary=()
[[ ${PACELINE:-1} == 1 ]] || profiles=""
for profile in $profiles; do
	for fault in $faults; do
		name=${test_of[$fault]:-}
		if [[ -z $name ]]; then
			echo "bench/db.sh: unknown fault $fault (kill, link or crash)" >&2
			exit 1
		fi
		echo "== paceline --profile $profile, fault $fault, $runs trials (load: $(cut -d' ' -f1-3 /proc/loadavg))"
		out=$(PL_PG_RUNS=$runs PL_PG_PROFILE=$profile go test ./test/e2e -run "^${name}\$" -count=1 -v -timeout 60m 2>&1 || true)
		grep -E 'run [0-9]+: (failover|old primary)|SUMMARY|^(--- |ok|FAIL)|postgresql_faults_test.go:[0-9]+: [^r]' <<<"$out" |
			grep -v 'what the cluster did' | sed 's/^ *//'
		line=$(grep -o 'SUMMARY fault=[a-z]* profile=[a-z]* write unavailability: .*' <<<"$out" || echo "fault=$fault profile=$profile: no summary (the run failed; see above)")
		summary+=("${line#SUMMARY }")
	done
done
if [[ -n $profiles ]]; then
	echo "== write unavailability, paceline (min/median/max over the trials)"
	printf '%s\n' "${summary[@]}"
fi

[[ ${BENCH_PATRONI:-0} == 1 ]] || exit 0
# The same hosts, writer and faults against Patroni (Debian's patroni,
# etcd-server and vip-manager, which puts the VIP where Patroni's leader
# key says): its defaults and the tuned setting (ttl 10, loop_wait 1).
need patroni patroni
need etcd etcd-server
need vip-manager vip-manager
for tuned in 0 1; do
	echo "== patroni (tuned=$tuned), faults $faults, $runs trials (load: $(cut -d' ' -f1-3 /proc/loadavg))"
	PL_BENCH_PATRONI=1 PL_PATRONI_TUNED=$tuned PL_PATRONI_FAULTS="$faults" PL_PG_RUNS=$runs \
		go test ./test/e2e -run '^TestPatroniFailoverBench$' -count=1 -v -timeout 90m 2>&1 |
		grep --line-buffered -E '^(PATRONI|SUMMARY|--- |ok|FAIL)|patroni_bench_test.go' || true
done
