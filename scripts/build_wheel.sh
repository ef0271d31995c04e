#!/usr/bin/env bash
# Build brainvq's platform wheel (Go extension via gopy) into dist/ or the folder given as $1.
#
# Usage: scripts/build_wheel.sh [OUTDIR]
# Env:   PYTHON  interpreter to build for (default python3); the wheel is tagged for it.
#        GO      Go toolchain (default: go on PATH).
# Needs: Go, a C compiler, and the 'build' package for $PYTHON (requirements-dev.txt).
# Prints the path of the wheel it built as its last line.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
OUTDIR=${1:-dist}

if ! "$PYTHON" -c "import build" 2>/dev/null; then
    echo "build_wheel.sh: $PYTHON lacks the 'build' package; run: $PYTHON -m pip install -r requirements-dev.txt" >&2
    exit 1
fi
command -v "${GO:-go}" >/dev/null || { echo "build_wheel.sh: Go toolchain not found (set GO or PATH)" >&2; exit 1; }

mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
stamp=$(mktemp "$OUTDIR/.stamp.XXXXXX")
trap 'rm -f "$stamp"' EXIT

start=$SECONDS
"$PYTHON" -m build --wheel --outdir "$OUTDIR" . >&2
wheel=$(find "$OUTDIR" -maxdepth 1 -name 'brainvq-*.whl' -newer "$stamp" | head -n 1)
if [[ -z "$wheel" ]]; then
    echo "build_wheel.sh: no new wheel appeared in $OUTDIR" >&2
    exit 1
fi
echo "build_wheel.sh: built $(basename "$wheel") in $((SECONDS - start)) s" >&2
echo "$wheel"
