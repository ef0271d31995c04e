#!/usr/bin/env bash
# Install brainvq's manylinux wheel for $PYTHON (scripts/build_wheel.sh: the one scripts/build_dists.sh
# keeps in dist/) into one virtual environment that the wheel tests and the notebook tests share, so a
# test run builds the wheel once and tests the artefact that is shipped. Prints the venv's python as its
# last line.
#
# Usage: tests/wheel/venv.sh
# Env:   PYTHON              interpreter to build and test with (default python3).
#        BRAINVQ_WHEEL_VENV  where the venv lives (default <repo>/build/wheel-venv).
#        BRAINVQ_FRESH=1     rebuild the wheel and the venv from scratch.
#
# The venv holds the wheel plus the pinned test packages of requirements-dev.txt (numpy, pytest,
# matplotlib, tqdm, nbclient, nbformat, ipykernel, onnxruntime). It is kept between runs: the wheel is
# rebuilt when the sdist it is built from changed (build_dists.sh decides) and reinstalled when it
# differs from the installed one, and the venv is recreated only when those pins or the interpreter
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

# What the venv depends on: the interpreter and the pins.
deps_key=$({ "$PYTHON" -c 'import sys; print(sys.version, sys.executable)'; printf '%s\n' "${pins[@]}"; } | sha256sum | cut -c1-64)

if [[ "${BRAINVQ_FRESH:-}" == 1 || "$(cat "$VENV/.deps" 2>/dev/null)" != "$deps_key" ]]; then
    echo "venv.sh: creating $VENV" >&2
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}" >&2
    echo "$deps_key" >"$VENV/.deps"
fi

start=$SECONDS
wheel=$(PYTHON="$PYTHON" "$ROOT/scripts/build_wheel.sh" | tail -n 1)
echo "venv.sh: wheel $(basename "$wheel") ready in $((SECONDS - start)) s" >&2
wheel_key=$(sha256sum "$wheel" | cut -c1-64)
if [[ "$(cat "$VENV/.wheel" 2>/dev/null)" != "$wheel_key" ]]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall "$wheel" >&2
    echo "$wheel_key" >"$VENV/.wheel"
else
    echo "venv.sh: $VENV is up to date with the sources" >&2
fi
echo "$VENV/bin/python"
