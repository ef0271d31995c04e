#!/usr/bin/env bash
# Test brainvq.scale (the Ray pipeline) on a local two-CPU Ray cluster.
#
# 1. A venv of its own (build/ray-venv) from the pinned tests/ray/requirements.txt (Ray is large; .venv and the
#    wheel venv stay lean), recreated only when the pins or the interpreter change.
# 2. The brainvq wheel built from this checkout and installed into it (again only when a source changed).
# 3. `ray start --head --num-cpus 2 --block` in a session of its own, with a private temp dir, a free port,
#    200 MB of object store, no dashboard and a private auth token; stopped at the end whatever happens (SIGTERM to that
#    session, then SIGKILL).
# 4. pytest tests/ray from a temporary folder outside the tree (only the installed wheel is importable),
#    with BRAINVQ_RAY_ADDRESS naming the cluster.
#
# Usage: tests/ray/run.sh [pytest args...]
# Env:   PYTHON           interpreter for the venv (default python3).
#        BRAINVQ_RAY_VENV where the venv lives (default <repo>/build/ray-venv).
#        BRAINVQ_FRESH=1  rebuild the wheel and the venv from scratch.
#        BRAINVQ_WHEEL    install this wheel file instead of building one from the checkout.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PYTHON=${PYTHON:-python3}
VENV=${BRAINVQ_RAY_VENV:-$ROOT/build/ray-venv}
mkdir -p "$(dirname "$VENV")"
REQS="$ROOT/tests/ray/requirements.txt"
start=$SECONDS

exec 9>"$VENV.lock"
flock 9 # one run at a time: the venv and the wheel are shared

deps_key=$({ "$PYTHON" -c 'import sys; print(sys.version, sys.base_prefix)'; cat "$REQS"; } | sha256sum | cut -c1-64)
if [[ "${BRAINVQ_FRESH:-}" == 1 || "$(cat "$VENV/.deps" 2>/dev/null)" != "$deps_key" ]]; then
    echo "ray/run.sh: creating $VENV" >&2
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS" >&2
    echo "$deps_key" >"$VENV/.deps"
    rm -f "$VENV/.wheel"
fi

# The wheel: what it is built from, as tests/wheel/venv.sh computes it.
src_key=$(cd "$ROOT" && git ls-files -co --exclude-standard -- '*.go' python setup.py pyproject.toml go.mod go.sum \
    | LC_ALL=C sort | while read -r f; do [[ -f $f ]] && sha256sum "$f"; done | sha256sum | cut -c1-64)
if [[ -n "${BRAINVQ_WHEEL:-}" ]]; then # a wheel built elsewhere (e.g. from a clean export of the tree)
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall "$BRAINVQ_WHEEL" >&2
    echo "given $(sha256sum "$BRAINVQ_WHEEL")" >"$VENV/.wheel"
elif [[ "$(cat "$VENV/.wheel" 2>/dev/null)" != "$src_key" ]]; then
    dist=$(mktemp -d "${TMPDIR:-/tmp}/brainvq-ray-wheel.XXXXXX")
    # build_wheel.sh needs the 'build' package: the project venv has it.
    build_py=$PYTHON
    [[ -x "$ROOT/.venv/bin/python" ]] && build_py="$ROOT/.venv/bin/python"
    wheel=$(PYTHON="$build_py" "$ROOT/scripts/build_wheel.sh" "$dist" | tail -n 1)
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall "$wheel" >&2
    rm -rf "$dist"
    echo "$src_key" >"$VENV/.wheel"
fi
echo "ray/run.sh: venv ready in $((SECONDS - start)) s" >&2

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bvqray.XXXXXX") # short: Ray's socket paths live under it
ray_pid=""
stop_ray() {
    if [[ -n $ray_pid ]]; then
        kill -TERM -- "-$ray_pid" 2>/dev/null || true
        for _ in $(seq 1 20); do
            kill -0 -- "-$ray_pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL -- "-$ray_pid" 2>/dev/null || true
        echo "ray/run.sh: ray stopped" >&2
    fi
    rm -rf "$WORK"
}
trap stop_ray EXIT

# Ray ≥ 2.5x authenticates clients with a token, by default one saved in ~/.ray/auth_token; give the
# cluster and the tests a private one instead, so nothing outside this run is read or written.
export RAY_AUTH_MODE=token RAY_USAGE_STATS_ENABLED=0
RAY_AUTH_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export RAY_AUTH_TOKEN
port=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# setsid: the cluster gets a session (and process group) of its own, which stop_ray signals as a whole.
setsid "$VENV/bin/ray" start --head --block --num-cpus 2 --port "$port" \
    --node-ip-address 127.0.0.1 --temp-dir "$WORK/ray" --object-store-memory 200000000 \
    --include-dashboard false --disable-usage-stats >"$WORK/ray-start.log" 2>&1 &
ray_pid=$!
disown "$ray_pid" # stop_ray ends it; no job-control notice when it does
t0=$SECONDS
until "$VENV/bin/python" -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null \
    && grep -q "Ray runtime started" "$WORK/ray-start.log"; do
    if ! kill -0 "$ray_pid" 2>/dev/null || ((SECONDS - t0 > 120)); then
        echo "ray/run.sh: ray start failed:" >&2
        cat "$WORK/ray-start.log" >&2
        exit 1
    fi
    sleep 1
done
echo "ray/run.sh: ray cluster up at 127.0.0.1:$port in $((SECONDS - t0)) s" >&2

mkdir "$WORK/cwd"
cd "$WORK/cwd"
BRAINVQ_REPO="$ROOT" BRAINVQ_RAY_ADDRESS="127.0.0.1:$port" PATH="$VENV/bin:$PATH" \
    timeout 900 "$VENV/bin/python" -m pytest -p no:cacheprovider --import-mode=importlib \
    --rootdir "$ROOT/tests/ray" "$ROOT/tests/ray" "$@"
