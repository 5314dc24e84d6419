#!/usr/bin/env bash
# install-pacemaker.sh - install Corosync 3, Pacemaker 2.1 and the OCF
# resource agents (ocf:heartbeat:IPaddr2) for the failover benchmark's
# Pacemaker runs in test/e2e (pacemaker.go). Idempotent: does nothing when
# everything is there; runs apt-get update at most once. Needs root and
# apt-get. CI does not call it (the Pacemaker tests skip without it).
set -euo pipefail

missing=()
command -v corosync >/dev/null || missing+=(corosync)
command -v pacemakerd >/dev/null || missing+=(pacemaker)
command -v crm_mon >/dev/null || missing+=(pacemaker-cli-utils)
[[ -e /usr/lib/ocf/resource.d/heartbeat/IPaddr2 ]] || missing+=(resource-agents)
if [[ ${#missing[@]} -eq 0 ]]; then
	exit 0
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
	echo "install-pacemaker.sh: ${missing[*]} missing and cannot be installed here (need root and apt-get)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq "${missing[@]}"; then
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}"
fi
