#!/usr/bin/env bash
# Runs every Go fuzz target of brainvq for a bounded time (BRAINVQ_FUZZTIME, default 10s each) on top of its
# committed seed corpus (testdata/fuzz/<Target>/ and the f.Add seeds). A crasher fails the run; Go writes it
# to testdata/fuzz/<Target>/ so it can be turned into a regular test.
#
# Usage: bash scripts/fuzz.sh
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fuzztime=${BRAINVQ_FUZZTIME:-10s}
status=0
while read -r pkg target; do
  [[ -z $pkg ]] && continue
  printf 'fuzz %s %s for %s\n' "$pkg" "$target" "$fuzztime"
  if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "./$pkg" 2>&1 | tail -3; then
    status=1
  fi
done <<'TARGETS'
core/data FuzzLoadSplitPNG
core/standin FuzzReadNIfTI
core/model FuzzReadCheckpoint
cmd/brainvq FuzzTrainFlags
TARGETS
exit $status
