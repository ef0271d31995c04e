#!/usr/bin/env bash
# Build the brainvq wheel, install it into the shared test venv (tests/wheel/venv.sh) and run
# tests/wheel against it from a temporary folder outside the repository, so only the installed package
# can be imported.
#
# Usage: tests/wheel/run.sh [pytest args...]
# Env:   PYTHON  interpreter to build and test with (default python3); see venv.sh for the others.
#        KEEP=1  keep the temporary working folder and print its path.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
start=$SECONDS
py=$("$ROOT/tests/wheel/venv.sh" | tail -n 1)
echo "run.sh: venv ready in $((SECONDS - start)) s" >&2

WORK=$(mktemp -d "${TMPDIR:-/tmp}/brainvq-wheel-test.XXXXXX")
if [[ "${KEEP:-}" == 1 ]]; then
    echo "run.sh: keeping $WORK" >&2
else
    trap 'rm -rf "$WORK"' EXIT
fi
cd "$WORK"
BRAINVQ_REPO="$ROOT" MPLBACKEND=Agg "$py" -m pytest -p no:cacheprovider --import-mode=importlib \
    --rootdir "$ROOT/tests/wheel" "$ROOT/tests/wheel" "$@"
