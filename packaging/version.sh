#!/bin/sh
# Prints the package version of the checkout: 1.2.0 at tag v1.2.0,
# 1.2.0+5.gabc1234 five commits after it, and without a tag
# 0.0.0~gitYYYYMMDDHHMMSS.abc1234 (the commit's time), so versions sort.
set -eu
cd "$(dirname "$0")/.."
if d=$(git describe --tags --match 'v[0-9]*' 2>/dev/null); then
	echo "$d" | sed -e 's/^v//' -e 's/-\([0-9]*\)-g/+\1.g/'
	exit 0
fi
when=$(git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S 2>/dev/null) || when=""
hash=$(git rev-parse --short=7 HEAD 2>/dev/null) || hash=""
if [ -z "$when" ] || [ -z "$hash" ]; then
	echo 0.0.0~unknown
	exit 0
fi
echo "0.0.0~git$when.$hash"
