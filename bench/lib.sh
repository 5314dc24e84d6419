# lib.sh - what the bench scripts share. Source it after "set -euo
# pipefail": it changes to the repository root.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export DEBIAN_FRONTEND=noninteractive

# need_root SCRIPT: exit 1, naming SCRIPT, unless run as root.
need_root() {
	if [[ $(id -u) -ne 0 ]]; then
		echo "bench/$1: needs root (network namespaces)" >&2
		exit 1
	fi
}

# need CMD PKG: install the Debian package PKG unless CMD is on the PATH.
need() { command -v "$1" >/dev/null || { apt-get install -y -qq "$2" || { apt-get update -qq && apt-get install -y -qq "$2"; }; }; }
