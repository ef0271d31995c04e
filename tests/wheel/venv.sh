#!/usr/bin/env bash
# Build the brainvq wheel and install it into one virtual environment that the wheel tests and the
# notebook tests share, so a test run builds the wheel once. Prints the venv's python as its last line.
#
# Usage: tests/wheel/venv.sh
# Env:   PYTHON              interpreter to build and test with (default python3).
#        BRAINVQ_WHEEL_VENV  where the venv lives (default <repo>/build/wheel-venv).
#        BRAINVQ_FRESH=1     rebuild the wheel and the venv from scratch.
#
# The venv holds the wheel plus the pinned test packages of requirements-dev.txt (numpy, pytest,
# matplotlib, tqdm, nbclient, nbformat, ipykernel, onnxruntime). It is kept between runs: the wheel is
# rebuilt and reinstalled only when a file it is built from changed (Go sources, python/, setup.py,
# pyproject.toml, go.mod, go.sum), and the venv is recreated only when those pins or the interpreter
# changed. Only the installed wheel is importable from it; the source tree's python/ never is.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PYTHON=${PYTHON:-python3}
VENV=${BRAINVQ_WHEEL_VENV:-$ROOT/build/wheel-venv}
PACKAGES=(numpy pytest matplotlib tqdm nbclient nbformat ipykernel onnxruntime)

pin() { # pinned requirement line for package $1 from requirements-dev.txt
    grep -iE "^$1==" "$ROOT/requirements-dev.txt" || { echo "venv.sh: no pin for $1 in requirements-dev.txt" >&2; exit 1; }
}
pins=()
for p in "${PACKAGES[@]}"; do pins+=("$(pin "$p")"); done

mkdir -p "$(dirname "$VENV")"
exec 9>"$VENV.lock"
flock 9 # one build at a time (two test suites started together wait for each other)

# What the venv depends on: the interpreter and the pins. What the wheel depends on: its sources.
deps_key=$({ "$PYTHON" -c 'import sys; print(sys.version, sys.executable)'; printf '%s\n' "${pins[@]}"; } | sha256sum | cut -c1-64)
src_key=$(cd "$ROOT" && git ls-files -co --exclude-standard -- '*.go' python setup.py pyproject.toml go.mod go.sum \
    | LC_ALL=C sort | while read -r f; do [[ -f $f ]] && sha256sum "$f"; done | sha256sum | cut -c1-64)

if [[ "${BRAINVQ_FRESH:-}" == 1 || "$(cat "$VENV/.deps" 2>/dev/null)" != "$deps_key" ]]; then
    echo "venv.sh: creating $VENV" >&2
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}" >&2
    echo "$deps_key" >"$VENV/.deps"
fi

if [[ "$(cat "$VENV/.wheel" 2>/dev/null)" != "$src_key" ]]; then
    dist=$(mktemp -d "${TMPDIR:-/tmp}/brainvq-wheel.XXXXXX")
    trap 'rm -rf "$dist"' EXIT
    start=$SECONDS
    wheel=$(PYTHON="$PYTHON" "$ROOT/scripts/build_wheel.sh" "$dist" | tail -n 1)
    echo "venv.sh: wheel $(basename "$wheel") built in $((SECONDS - start)) s" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall "$wheel" >&2
    echo "$src_key" >"$VENV/.wheel"
else
    echo "venv.sh: $VENV is up to date with the sources" >&2
fi
echo "$VENV/bin/python"
