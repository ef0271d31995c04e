#!/usr/bin/env bash
# Execute every notebook in notebooks/ with nbclient against the installed brainvq wheel, in tiny mode
# (BRAINVQ_NOTEBOOK_SIZE=tiny: 32×32 slices, a few training steps), failing if any cell fails or a
# committed notebook still holds outputs. Uses the venv that tests/wheel/venv.sh builds (shared with the
# wheel tests) and runs from a temporary folder outside the repository.
#
# Usage: tests/notebooks/run.sh
# Env:   PYTHON, BRAINVQ_WHEEL_VENV  as for tests/wheel/venv.sh.
#        BRAINVQ_TEMPLATE  T1 volume for the stand-in data (default: data/template/ of this checkout when
#                          scripts/fetch_template.sh has put the MNI template there, else the 3 mm test
#                          fixture testdata/data/mni_icbm152_t1_3mm.nii.gz).
#        KEEP=1            keep the working folder (executed notebooks in executed/) and print its path.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
start=$SECONDS
py=$("$ROOT/tests/wheel/venv.sh" | tail -n 1)
echo "run.sh: venv ready in $((SECONDS - start)) s" >&2

if [[ -z "${BRAINVQ_TEMPLATE:-}" ]]; then
    BRAINVQ_TEMPLATE=$ROOT/data/template/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz
    [[ -f "$BRAINVQ_TEMPLATE" ]] || BRAINVQ_TEMPLATE=$ROOT/testdata/data/mni_icbm152_t1_3mm.nii.gz
fi
echo "run.sh: stand-in data from $BRAINVQ_TEMPLATE" >&2

WORK=$(mktemp -d "${TMPDIR:-/tmp}/brainvq-notebooks.XXXXXX")
if [[ "${KEEP:-}" == 1 ]]; then
    echo "run.sh: keeping $WORK" >&2
else
    trap 'rm -rf "$WORK"' EXIT
fi
cd "$WORK"
# The kernel is the venv's python (ipykernel is installed there); OASIS is never used by the tests.
env -u BRAINVQ_OASIS -u BRAINVQ_WORKDIR PATH="$(dirname "$py"):$PATH" BRAINVQ_NOTEBOOK_SIZE=tiny \
    BRAINVQ_TEMPLATE="$BRAINVQ_TEMPLATE" MPLBACKEND=module://matplotlib_inline.backend_inline \
    "$py" "$ROOT/tests/notebooks/run_notebooks.py" "$ROOT/notebooks" "$WORK"
