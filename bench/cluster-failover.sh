#!/usr/bin/env bash
# cluster-failover.sh - runs the loopback cluster test (three real agents,
# the exact commands of the cluster issue, default timings,
# stonith-enabled=false) RUNS times (default 10) and prints min, median
# and max of: the time from SIGKILL of the agent running web (and every
# process it started) to `status --json` showing web Started on another
# node, and the time to a new leader (the killed node leads at the start).
# It measures; it asserts nothing beyond what the test checks.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-10}
cd "$root"
out=$(go test ./test/cluster -run TestThreeNodeClusterOnLoopback -count="$runs" -v 2>&1) || { echo "$out" | tail -40; exit 1; }
echo "$out" | grep FAILOVER | sed 's/^ *//'
echo "$out" | grep FAILOVER | python3 -c '
import re, sys, statistics
web, lead = [], []
for line in sys.stdin:
    m = re.search(r"web-after=([0-9.]+)(ms|s)", line)
    if m: web.append(float(m.group(1)) / (1000 if m.group(2) == "ms" else 1))
    m = re.search(r"new leader \S+ after ([0-9.]+)(ms|s)", line)
    if m: lead.append(float(m.group(1)) / (1000 if m.group(2) == "ms" else 1))
def row(name, xs):
    if xs: print(f"{name:28s} runs={len(xs):2d}  min={min(xs):.2f}s  median={statistics.median(xs):.2f}s  max={max(xs):.2f}s")
row("web Started elsewhere", web)
row("new leader elected", lead)
'
