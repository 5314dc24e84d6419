#!/usr/bin/env bash
# conformance.sh - score "paceline simulate" against Pacemaker 2.1.5's
# scheduler regression suite with the corpus's own tsum.py, tier by tier.
#
# Builds bin/paceline, runs "paceline simulate --cib NAME.xml" on every case
# of tiers.tsv into out/summaries/NAME.summary (stderr of failing runs in
# out/summaries/NAME.err), then prints tsum.py's official
# "N passed, M failed" per tier and overall. The per-tier case lists are
# left in out/tier-*.txt for "tsum.py score -vv --list".
#
# Environment: CONFORMANCE_DIR (default ../shared/conformance next to the
# repository), CASE_TIMEOUT (seconds per case, default 10), TSUM_OPTS
# (extra tsum.py options, e.g. "--no-instance").
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
corpus=${CONFORMANCE_DIR:-$root/../shared/conformance}
data=$corpus/pacemaker-2.1.5
timeout_s=${CASE_TIMEOUT:-10}
out=$root/out
summaries=$out/summaries

if [[ ! -f $data/tiers.tsv ]]; then
	echo "conformance.sh: corpus not found at $corpus (set CONFORMANCE_DIR); nothing to score" >&2
	exit 0
fi
corpus=$(cd "$corpus" && pwd)
data=$corpus/pacemaker-2.1.5
command -v python3 >/dev/null || { echo "conformance.sh: python3 is needed for tsum.py" >&2; exit 2; }

cd "$root"
go build -o bin/paceline ./cmd/paceline
rm -rf "$summaries"
mkdir -p "$summaries"

# Case lists per tier, and one for all tiers.
rm -f "$out"/tier-*.txt
tiers=()
while IFS=$'\t' read -r name tier; do
	[[ -z $name || $name == \#* ]] && continue
	[[ -f $out/tier-$tier.txt ]] || tiers+=("$tier")
	echo "$name" >>"$out/tier-$tier.txt"
	echo "$name" >>"$out/tier-all.txt"
done <"$data/tiers.tsv"

total=$(wc -l <"$out/tier-all.txt")
echo "Running bin/paceline simulate on $total cases (timeout ${timeout_s}s each)..."
errors=0
start=$SECONDS
while read -r name; do
	if ! timeout "$timeout_s" bin/paceline simulate --cib "$data/xml/$name.xml" \
		>"$summaries/$name.summary" 2>"$summaries/$name.err"; then
		errors=$((errors + 1))
	else
		rm -f "$summaries/$name.err"
	fi
done <"$out/tier-all.txt"
printf '%d of %d runs exited non-zero (see out/summaries/*.err); %ds in all\n\n' \
	"$errors" "$total" "$((SECONDS - start))"

# shellcheck disable=SC2086 # TSUM_OPTS is a list of options
for tier in "${tiers[@]}" all; do
	printf 'tier %-4s ' "$tier"
	python3 "$corpus/tsum.py" score ${TSUM_OPTS:-} --list "$out/tier-$tier.txt" "$data/summary" "$summaries" || true
done
echo
echo "Details: python3 $corpus/tsum.py score -vv --list out/tier-1.txt $data/summary out/summaries"
