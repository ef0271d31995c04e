#!/usr/bin/env bash
# Cross-compiles the Go tests of the compute kernels and of the packages built on them for linux/arm64 and
# runs them under user-mode emulation (qemu-aarch64 from Debian's qemu-user), so that the NEON path
# (core/kernels/*_arm64.s) and the pure-Go path it falls back to are checked against the naive references
# on an amd64 machine. Installs qemu-user when it is missing (the same way as scripts/setup.sh). Prints each
# command it runs; exits non-zero when a build, the arm64 vet or a test fails.
#
# Emulation runs the tests tens of times slower than natively, so this keeps to a selection (about two
# minutes on an idle 2-core machine):
#   - core/kernels: every test with -test.short (each Sgemm/RowGemm/eltwise/conv test runs once per path:
#     generic and neon), plus the arm64-only tests of the NEON blocks at their edges;
#   - core/model: -test.short, whose models run on the kernels (less one test that re-executes itself, see
#     below);
#   - go vet of core/kernels (asmdecl checks the assembly's frames).
# BRAINVQ_ARM64_FULL=1 adds GOARCH=arm64 go build ./... and core/nn's tests: both compile gorgonia for arm64,
# which a cold cache takes minutes over, so the test command (scripts/test.sh) leaves them out.
# Emulated times say nothing about arm64 speed; only correctness is checked here.
#
# Usage: bash scripts/test_arm64.sh
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { printf '\033[1m[test_arm64]\033[0m %s\n' "$*" >&2; }

if ! command -v qemu-aarch64 >/dev/null; then
  if ! command -v apt-get >/dev/null; then
    say "qemu-aarch64 is not installed and there is no apt-get to install qemu-user with"
    exit 1
  fi
  say "apt-get install qemu-user"
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq qemu-user >/dev/null ||
    { say "apt-get install qemu-user failed"; exit 1; }
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export GOARCH=arm64 CGO_ENABLED=0
status=0

# step DESCRIPTION CMD...: runs one command, printing it first and recording a failure.
step() {
  local what=$1; shift
  say "$what: $*"
  "$@" || { say "FAIL: $what"; status=1; return 1; }
}

# emulate PKG ARGS...: cross-compiles PKG's tests and runs them under qemu-aarch64 in PKG's directory
# (where its testdata is).
emulate() {
  local pkg=$1; shift
  local bin="$out/${pkg//\//_}.test"
  step "build $pkg tests for arm64" go test -c -o "$bin" "./$pkg" || return 0
  step "run $pkg tests under qemu-aarch64" bash -c 'cd "$1" && shift && qemu-aarch64 "$@"' _ "$pkg" "$bin" "$@"
}

full="${BRAINVQ_ARM64_FULL:-0}"
[[ $full == 1 ]] && step "cross-compile everything" go build ./...
step "vet the kernels (asmdecl)" go vet ./core/kernels/
emulate core/kernels -test.short
[[ $full == 1 ]] && emulate core/nn -test.short
# TestCrashBeforeRenameKeepsOldCheckpoint re-executes the test binary as a child, which the kernel cannot
# run without binfmt_misc for arm64 (qemu-user runs the parent only); it does not touch the kernels.
emulate core/model -test.short -test.skip '^TestCrashBeforeRenameKeepsOldCheckpoint$'
exit $status
