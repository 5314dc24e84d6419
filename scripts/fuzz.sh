#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME (default 5m) each, one after the
# other (go test -fuzz takes one target at a time), and prints per target
# the executions and the new interesting inputs of the run. Failing
# inputs are kept under the package's testdata/fuzz/ by go test.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-5m}
targets=(
	"./api FuzzDecodeConfigYAML"
	"./internal/daemon FuzzLoadConfig"
	"./internal/daemon FuzzPeerBodies"
	"./internal/cib FuzzParse"
	"./internal/cib FuzzParseCIBFiles"
	"./internal/httpapi FuzzRequestBodies"
	"./internal/store FuzzDecode"
	"./internal/pki FuzzRenew"
)
failed=0
summary=()
for t in "${targets[@]}"; do
	read -r pkg fn <<<"$t"
	echo "== $pkg $fn ($FUZZTIME)" >&2
	out=$($GO test "$pkg" -run '^$' -fuzz "^${fn}\$" -fuzztime "$FUZZTIME" -parallel 2 2>&1)
	rc=$?
	last=$(grep -E '^fuzz: elapsed' <<<"$out" | tail -1)
	execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
	newi=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
	status=ok
	if [[ $rc -ne 0 ]]; then
		status=FAIL
		failed=1
		echo "$out" | tail -30 >&2
	fi
	summary+=("$(printf '%-20s %-22s %-4s execs %-10s new interesting %s' "$pkg" "$fn" "$status" "${execs:-?}" "${newi:-?}")")
done
printf '%s\n' "${summary[@]}"
exit $failed
