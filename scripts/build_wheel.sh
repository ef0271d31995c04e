#!/usr/bin/env bash
# Build brainvq's manylinux wheel for one interpreter and put it in dist/ or the folder given as $1.
#
# Usage: scripts/build_wheel.sh [OUTDIR]
# Env:   PYTHON  interpreter to build for (default python3); the wheel is tagged for its version.
#        GO      Go toolchain (default: go on PATH).
# Prints the path of the wheel as its last line.
#
# The wheel is scripts/build_dists.sh's for that interpreter (built from the sdist with zig cc against
# glibc 2.17, checked by auditwheel), kept in dist/ and rebuilt only when its sources change; it is
# copied to OUTDIR when that is another folder. scripts/build_dists.sh builds every CPython's wheel.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
OUTDIR=${1:-dist}

line=$(scripts/build_dists.sh --python "$PYTHON" | awk -F'\t' '$2 != "sdist" { print; exit }')
wheel=${line%%$'\t'*}
[[ -f $wheel ]] || { echo "build_wheel.sh: build_dists.sh listed no wheel for $PYTHON" >&2; exit 1; }
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
if [[ $(dirname "$wheel") != "$OUTDIR" ]]; then
    cp "$wheel" "$OUTDIR/"
fi
echo "$OUTDIR/$(basename "$wheel")"
