#!/usr/bin/env bash
# Build the brainvq wheel, install it into a fresh venv and run tests/wheel against it from a
# temporary folder outside the repository (so only the installed package can be imported).
#
# Usage: tests/wheel/run.sh [pytest args...]
# Env:   PYTHON  interpreter to build and test with (default python3).
#        KEEP=1  keep the temporary folder (wheel, venv) and print its path.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/brainvq-wheel-test.XXXXXX")
if [[ "${KEEP:-}" == 1 ]]; then
    echo "run.sh: keeping $WORK" >&2
else
    trap 'rm -rf "$WORK"' EXIT
fi

pin() { # pinned requirement line for package $1 from requirements-dev.txt
    grep -iE "^$1==" "$ROOT/requirements-dev.txt" || { echo "run.sh: no pin for $1 in requirements-dev.txt" >&2; exit 1; }
}

start=$SECONDS
wheel=$(PYTHON="$PYTHON" "$ROOT/scripts/build_wheel.sh" "$WORK/dist" | tail -n 1)
echo "run.sh: wheel $(basename "$wheel") built in $((SECONDS - start)) s" >&2

"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "$wheel" "$(pin numpy)" "$(pin pytest)"

cd "$WORK"
"$WORK/venv/bin/python" -m pytest -p no:cacheprovider --import-mode=importlib \
    --rootdir "$ROOT/tests/wheel" "$ROOT/tests/wheel" "$@"
