#!/usr/bin/env bash
# Runs every test of brainvq: formatting and vet, the Go tests, the ONNX checks against onnxruntime, the
# wheel tests against an installed wheel, and the notebooks. Installs what they need first (scripts/setup.sh).
# Exits non-zero when anything fails; prints a summary of the suites at the end.
#
# Usage: bash scripts/test.sh
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh || { echo "setup failed" >&2; exit 1; }
export PYTHON="$root/.venv/bin/python"
export PATH="$root/.venv/bin:$PATH"

declare -a names results
run() { # run NAME CMD...: runs a suite, records pass/fail and its time
  local name=$1; shift
  local t0=$SECONDS
  printf '\n\033[1m== %s\033[0m\n' "$name"
  if "$@"; then results+=("PASS  $name ($((SECONDS - t0)) s)"); else results+=("FAIL  $name ($((SECONDS - t0)) s)"); fi
}
gofmt_clean() {
  local bad
  bad=$(gofmt -l $(git ls-files '*.go'))
  [[ -z $bad ]] || { echo "not gofmt-ed:"; echo "$bad"; return 1; }
}
python_format() { "$PYTHON" -m black --check --quiet --line-length 100 $(git ls-files '*.py'); }

run "gofmt" gofmt_clean
run "go vet" go vet ./...
run "go test" go test -count=1 ./...
run "go fuzz targets (bounded time each)" bash scripts/fuzz.sh
run "go test, pure-Go kernels (BRAINVQ_NOASM=1)" env BRAINVQ_NOASM=1 go test -count=1 ./core/...
run "go test, arm64 (NEON and pure-Go kernels) under qemu-user" bash scripts/test_arm64.sh
run "python format (black)" python_format
run "python types (mypy --strict: the package, the README example)" env MYPYPATH="$root/python" "$PYTHON" -m mypy --strict --cache-dir=/dev/null python/brainvq tests/wheel/readme_example.py
run "onnx export vs onnxruntime" bash tests/onnx/run.sh
run "wheel (installed, from outside the tree)" bash tests/wheel/run.sh
run "dist: manylinux wheels (CPython 3.10-3.13) and the sdist without Go, each in a fresh venv" bash tests/dist/run.sh
run "ray pipeline (brainvq.scale on a local Ray cluster)" bash tests/ray/run.sh
[[ -x tests/notebooks/run.sh ]] && run "notebooks" bash tests/notebooks/run.sh

printf '\n\033[1m== summary\033[0m\n'
failed=0 passed=0
for r in "${results[@]}"; do
  echo "$r"
  [[ $r == FAIL* ]] && failed=$((failed + 1)) || passed=$((passed + 1))
done
echo "suites: $passed passed, $failed failed"
((failed == 0))
