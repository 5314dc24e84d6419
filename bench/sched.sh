#!/usr/bin/env bash
# sched.sh - time Paceline's scheduler against Pacemaker's on large
# synthetic clusters. It measures; it asserts nothing.
#
# Inputs, generated into a temporary directory with the corpus's gen_big.py
# (same arguments, same file):
#   p2000-n32        2,000 primitives on 32 nodes, fresh cluster (every
#                    resource is probed on every node, then started)
#   p10000-n100-np   10,000 primitives on 100 nodes, --no-probes
#
# For each input it runs
#   bin/paceline simulate --cib X --timing   (schedule-only time as paceline
#                                             reports it, and process wall time)
#   crm_simulate -x X -R -Q                  (when crm_simulate is on PATH)
# crm_simulate's -R runs the scheduler on the input and stops; -S would
# also simulate executing every action of the transition, which is not
# scheduling, and -Q leaves out the status printing. Its wall time includes
# its own XML parsing and start-up, so the fair comparison is with
# paceline's wall time; paceline's schedule-only time is shown besides.
#
# Environment: BENCH_CASES (names from the list above, default all),
# BENCH_TIMEOUT (seconds per run, default 600), BENCH_SKIP_CRM=1,
# CONFORMANCE_DIR (default ../shared/conformance next to the repository).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
corpus=${CONFORMANCE_DIR:-$root/../shared/conformance}
timeout_s=${BENCH_TIMEOUT:-600}
cases=${BENCH_CASES:-"p2000-n32 p10000-n100-np"}

if [[ ! -f $corpus/gen_big.py ]]; then
	echo "sched.sh: $corpus/gen_big.py not found (set CONFORMANCE_DIR); nothing to measure" >&2
	exit 0
fi
command -v python3 >/dev/null || { echo "sched.sh: python3 is needed for gen_big.py" >&2; exit 2; }

cd "$root"
go build -o bin/paceline ./cmd/paceline
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

crm=""
if [[ -z ${BENCH_SKIP_CRM:-} ]] && command -v crm_simulate >/dev/null; then
	crm=$(command -v crm_simulate)
fi

gen_args() {
	case $1 in
	p2000-n32) echo "-p 2000 -n 32" ;;
	p10000-n100-np) echo "-p 10000 -n 100 --no-probes" ;;
	*) echo "sched.sh: unknown case $1" >&2; return 1 ;;
	esac
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wall runs a command with the timeout and prints its wall time in ms, or
# "timeout"/"error".
wall() {
	local t0 rc
	t0=$(now_ms)
	rc=0
	timeout "$timeout_s" "$@" >/dev/null 2>"$tmp/stderr" || rc=$?
	if ((rc == 124)); then echo "timeout"; elif ((rc != 0)); then echo "error"; else echo $(($(now_ms) - t0)); fi
}

ratio() {
	if [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]] && awk "BEGIN{exit !($2 > 0)}"; then
		awk "BEGIN{printf \"%.1fx\", $1 / $2}"
	else
		echo "-"
	fi
}

rows=()
for c in $cases; do
	args=$(gen_args "$c")
	# shellcheck disable=SC2086 # args is a list of options
	python3 "$corpus/gen_big.py" $args -o "$tmp/$c.xml" >"$tmp/gen.txt" 2>&1
	echo "$c: $(cat "$tmp/gen.txt") (gen_big.py $args)"

	pl_wall=$(wall bin/paceline simulate --cib "$tmp/$c.xml" --timing)
	pl_sched="-"
	if [[ $pl_wall =~ ^[0-9]+$ ]]; then
		pl_sched=$(sed -n 's/.*schedule=\([0-9.]*\)ms.*/\1/p' "$tmp/stderr")
		echo "  paceline:     $(grep '^timing:' "$tmp/stderr" || true), wall ${pl_wall}ms"
	else
		echo "  paceline:     $pl_wall: $(head -c 300 "$tmp/stderr")"
	fi

	crm_wall="-"
	if [[ -n $crm ]]; then
		echo "  crm_simulate: running (this takes up to minutes)..."
		crm_wall=$(wall "$crm" -x "$tmp/$c.xml" -R -Q)
		echo "  crm_simulate: wall ${crm_wall}ms"
	fi
	rows+=("$c|$pl_sched|$pl_wall|$crm_wall|$(ratio "$crm_wall" "$pl_wall")|$(ratio "$crm_wall" "$pl_sched")")
done

echo
printf '%-16s %16s %16s %22s %12s %16s\n' case "paceline sched" "paceline wall" "crm_simulate -R wall" "crm/pl wall" "crm/pl sched"
for r in "${rows[@]}"; do
	IFS='|' read -r c s w cw rw rs <<<"$r"
	fmt_ms() { if [[ $1 =~ ^[0-9.]+$ ]]; then printf '%.1fms' "$1"; else echo "$1"; fi; }
	printf '%-16s %16s %16s %22s %12s %16s\n' "$c" "$(fmt_ms "$s")" "$(fmt_ms "$w")" "$(fmt_ms "$cw")" "$rw" "$rs"
done
[[ -n $crm ]] || echo "(crm_simulate not on PATH or BENCH_SKIP_CRM set: Pacemaker not measured; Debian package pacemaker-cli-utils)"
