#!/usr/bin/env bash
# Runs every Go fuzz target of brainvq for a bounded time (BRAINVQ_FUZZTIME, default 10s each) on top of its
# committed seed corpus (testdata/fuzz/<Target>/ and the f.Add seeds). A crasher fails the run; Go writes it
# to testdata/fuzz/<Target>/ so it can be turned into a regular test.
#
# Go 1.26's fuzzing coordinator can report a bare "context deadline exceeded" failure when -fuzztime runs
# out while a worker is mid-input (golang/go#75804, fixed in Go 1.27): no failing input is written and
# nothing reproduces. Such a run (that message, and no "Failing input written") is repeated, up to twice;
# anything else — a written crasher, a panic, a failed seed — fails at once.
#
# Usage: bash scripts/fuzz.sh
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fuzztime=${BRAINVQ_FUZZTIME:-10s}
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
while read -r pkg target; do
  [[ -z $pkg ]] && continue
  for try in 1 2 3; do
    printf 'fuzz %s %s for %s\n' "$pkg" "$target" "$fuzztime"
    if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "./$pkg" >"$log" 2>&1; then
      tail -n 3 "$log"
      break
    fi
    if grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log" && [[ $try -lt 3 ]]; then
      printf 'fuzz %s %s: the fuzzing coordinator stopped with a bare deadline (golang/go#75804), no input written: again\n' \
        "$pkg" "$target"
      continue
    fi
    tail -n 20 "$log"
    status=1
    break
  done
done <<'TARGETS'
core/data FuzzLoadSplitPNG
core/standin FuzzReadNIfTI
core/model FuzzReadCheckpoint
cmd/brainvq FuzzTrainFlags
TARGETS
exit $status
