#!/usr/bin/env bash
# idle-cpu.sh - idle CPU of a three-node loopback cluster (issue 10, part
# 9): for each COUNT in COUNTS (default "300 1000") builtin:dummy
# resources with a 10 s monitor, it prints the time to start them all and
# then each agent's CPU use over IDLE seconds (default 30) of doing
# nothing, as percent of one core, the leader first, with its context
# switches a second (cs). No root needed:
# agents listen on loopback and keep their data in a private temporary
# directory, removed at the end (also on failure); SETTLE seconds (default
# 15, over one monitor interval) pass before the measure. BIN=PATH measures
# another build of paceline (say, main's, for a before/after figure).
# RUNS (default 1) repeats each count on a new cluster; with more than one
# run, a summary line per count and role gives min/median/max (the machine
# is shared: take figures under flock /tmp/pl-heavy.lock and give uptime's
# load average with them). CLIENTS=N (default 0) also joins N client
# hosts (`join --role client`: Raft non-voters that run resources) and
# prints their CPU (min/median/max over the clients), with a 0 COUNT for
# the cost of the hosts alone. PROFILE=DIR writes a CPU profile of each
# voter (and of the first client) over the measured window to
# DIR/NAME.pprof (PACELINE_CPU_PROFILE; read with go tool pprof).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
COUNTS=${COUNTS:-"300 1000"}
CLIENTS=${CLIENTS:-0}
IDLE=${IDLE:-30}
RUNS=${RUNS:-1}
SETTLE=${SETTLE:-15}
if [[ -z ${BIN:-} ]]; then
	make -s build
fi
bin=${BIN:-$root/bin/paceline}
hz=$(getconf CLK_TCK)

pids=()
tmp=""
cleanup() {
	for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
	[[ -n $tmp ]] && rm -rf "$tmp"
	tmp=""
}
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# status_json: the cluster status as JSON (empty on error).
status_json() { "$bin" status --json 2>/dev/null || true; }

# started_count: how many resources status shows Started.
started_count() {
	status_json | python3 -c '
import json,sys
try: st=json.load(sys.stdin)
except Exception: print(0); sys.exit()
print(sum(1 for r in st.get("resources") or [] if r.get("role")=="Started"))'
}

wait_for() { # SECONDS WHAT CMD...
	local until=$((SECONDS + $1)) what=$2
	shift 2
	until "$@"; do
		if ((SECONDS > until)); then echo "idle-cpu: timed out waiting for $what" >&2; return 1; fi
		sleep 0.5
	done
}

online_n() { [[ $(status_json | python3 -c 'import json,sys; st=json.load(sys.stdin); print(sum(1 for n in st.get("nodes") or [] if n.get("state")=="online"))' 2>/dev/null) == "$1" ]]; }

start_agent() { # NAME
	PACELINE_CPU_PROFILE=${PROFILE:+$PROFILE/$1.pprof} setsid "$bin" agent --data-dir "$tmp/$1" >"$tmp/$1.log" 2>&1 &
	pids+=($!)
	eval "pid_$1=$!"
}

# cpu_ticks PID: utime+stime of the process and its threads.
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

# ctx_switches PID: context switches of the threads alive now (voluntary
# and not): steadier from run to run than the CPU they cost here.
ctx_switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches/ {n += $2} END {print n + 0}'; }

run_one() { # COUNT
	local count=$1
	tmp=$(mktemp -d /tmp/pl-idle-XXXXXX)
	local p1 p2 p3
	p1=$(freeport) p2=$(freeport) p3=$(freeport)
	"$bin" init --name n1 --data-dir "$tmp/n1" --listen "127.0.0.1:$p1" >/dev/null
	start_agent n1
	export PACELINE_ADDR="https://127.0.0.1:$p1,https://127.0.0.1:$p2,https://127.0.0.1:$p3"
	export PACELINE_TOKEN_FILE=$tmp/n1/admin.token PACELINE_CACERT=$tmp/n1/ca.pem
	wait_for 30 "n1's API" "$bin" status >/dev/null
	local n p
	for n in n2 n3; do
		p=$p2
		[[ $n == n3 ]] && p=$p3
		"$bin" join --name "$n" --data-dir "$tmp/$n" --listen "127.0.0.1:$p" --token "$("$bin" token create 2>/dev/null)" "127.0.0.1:$p1" >/dev/null
		start_agent "$n"
	done
	wait_for 60 "3 nodes online" online_n 3
	local clients=() c
	for ((c = 1; c <= CLIENTS; c++)); do
		p=$(freeport)
		"$bin" join --name "c$c" --role client --data-dir "$tmp/c$c" --listen "127.0.0.1:$p" --token "$("$bin" token create 2>/dev/null)" "127.0.0.1:$p1" >/dev/null
		start_agent "c$c"
		clients+=("c$c")
	done
	((CLIENTS == 0)) || wait_for 300 "$((3 + CLIENTS)) nodes online" online_n $((3 + CLIENTS))
	"$bin" config export >"$tmp/config.yaml"
	python3 - "$tmp/config.yaml" "$count" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
lines = [l for l in open(path).read().splitlines() if not l.startswith("resources:")]
out = "\n".join(lines) + "\nresources:\n"
for i in range(n):
    out += f"  - id: d{i}\n    kind: primitive\n    class: builtin\n    type: dummy\n    ops:\n      - name: monitor\n        interval: 10s\n        timeout: 20s\n"
open(path, "w").write(out)
PY
	local t0=$SECONDS t0n
	t0n=$(date +%s.%N)
	"$bin" config apply -f "$tmp/config.yaml" >/dev/null
	wait_for 600 "$count resources started" bash -c "[[ \$($(declare -f status_json started_count); bin=$bin started_count) -ge $count ]]"
	local took
	took=$(python3 -c "import time; print(f'{time.time()-$t0n:.1f}')")
	echo "IDLE count=$count start_all=${took}s" | tee -a "$results"
	sleep "$SETTLE" # let the first monitor results (one interval: 10 s) come in
	local leader
	leader=$(status_json | python3 -c 'import json,sys; print(json.load(sys.stdin).get("leader",""))')
	declare -A before cs_before
	for n in n1 n2 n3 "${clients[@]}"; do eval "p=\$pid_$n"; before[$n]=$(cpu_ticks "$p") cs_before[$n]=$(ctx_switches "$p"); done
	if [[ -n ${PROFILE:-} ]]; then for n in n1 n2 n3 ${clients[0]:-}; do eval "kill -USR1 \$pid_$n"; done; fi
	sleep "$IDLE"
	if [[ -n ${PROFILE:-} ]]; then for n in n1 n2 n3 ${clients[0]:-}; do eval "kill -USR1 \$pid_$n"; done; sleep 1; echo "IDLE profiles in $PROFILE (leader $leader)"; fi
	for n in $leader $(echo n1 n2 n3 | tr ' ' '\n' | grep -v "^$leader$"); do
		eval "p=\$pid_$n"
		local after cs role=follower
		after=$(cpu_ticks "$p") cs=$(ctx_switches "$p")
		[[ $n == "$leader" ]] && role=leader
		python3 -c "print(f'IDLE count=$count node=$n role=$role cpu={100.0*($after-${before[$n]})/$hz/$IDLE:.1f}% cs={($cs-${cs_before[$n]})/$IDLE:.0f}/s')" | tee -a "$results"
	done
	if ((CLIENTS > 0)); then
		local ticks=()
		for n in "${clients[@]}"; do eval "p=\$pid_$n"; ticks+=($(($(cpu_ticks "$p") - before[$n]))); done
		python3 -c "import statistics as s; xs=[100.0*t/$hz/$IDLE for t in [${ticks[*]/%/,}]]; print(f'IDLE count=$count clients=$CLIENTS client_cpu min={min(xs):.1f}% median={s.median(xs):.1f}% max={max(xs):.1f}% total={sum(xs):.1f}%')" | tee -a "$results"
	fi
	cleanup
}

results=$(mktemp /tmp/pl-idle-results-XXXXXX)
trap 'cleanup; rm -f "$results"' EXIT
for c in $COUNTS; do
	for ((i = 0; i < RUNS; i++)); do
		run_one "$c"
	done
done
if ((RUNS > 1)); then
	python3 - "$results" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.search(r"count=(\d+) start_all=([0-9.]+)s", line)
    if m:
        rows.setdefault((int(m.group(1)), "start_all"), []).append(float(m.group(2)))
    m = re.search(r"count=(\d+) node=\S+ role=(\w+) cpu=([0-9.]+)% cs=(\d+)/s", line)
    if m:
        rows.setdefault((int(m.group(1)), m.group(2)), []).append(float(m.group(3)))
        rows.setdefault((int(m.group(1)), m.group(2) + "_cs"), []).append(float(m.group(4)))
for (count, what), xs in sorted(rows.items()):
    unit = {"start_all": "s"}.get(what, "/s" if what.endswith("_cs") else "%")
    print(f"IDLE-SUMMARY count={count} {what} n={len(xs)} min={min(xs):.1f}{unit} median={statistics.median(xs):.1f}{unit} max={max(xs):.1f}{unit}")
PY
fi
rm -f "$results"
