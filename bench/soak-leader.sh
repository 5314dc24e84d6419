#!/usr/bin/env bash
# soak-leader.sh - the leader-kill soak: a three-host Paceline cluster
# (namespace hosts, simulated watchdogs, a VIP) whose leader, holding the
# VIP, has its agent killed RUNS (default 25) times per profile
# (SOAK_PROFILES, default "fast,default"). Prints one LEADERKILL line per
# run and a total per profile; fails if killing the leader ever reset
# another node. Needs root.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need_root soak-leader.sh
need python3 python3
need nft nftables
export PACELINE_SOAK=1 RUNS=${RUNS:-25}
export PL_E2E_PREFIX=${PL_E2E_PREFIX:-pl-sl-}
go test ./test/e2e -run '^TestSoakLeaderKill$' -count=1 -v -timeout 120m 2>&1 |
	grep --line-buffered -E '^(LEADERKILL|--- |ok|FAIL|PASS)|soak_test|Error'
