#!/usr/bin/env bash
# The main job on a fresh machine: installs everything (scripts/setup.sh), makes the stand-in OASIS-layout
# dataset from the MNI T1 template (data/keras_png_slices_data), trains the residual VQ-VAE for a few
# minutes, prints the test SSIM and writes the pictures (runs/demo/losses.png, runs/demo/reconstructions.png).
#
# Usage: bash scripts/demo.sh [extra flags for `brainvq train`, e.g. --epochs 10]
# Env:   BRAINVQ_DATA  an OASIS folder to use instead of the stand-in data (keras_png_slices_data or its parent)
#        BRAINVQ_RUN   output folder (default runs/demo; an existing one is resumed)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
data="${BRAINVQ_DATA:-data}"
if [[ -z "${BRAINVQ_DATA:-}" && ! -d data/keras_png_slices_data ]]; then
  bin/brainvq data make --out data
fi
run="${BRAINVQ_RUN:-runs/demo}"
resume=()
[[ -f "$run/checkpoint.bvq" ]] && resume=(--resume)
bin/brainvq train --data "$data" --out "$run" --epochs 3 "${resume[@]}" "$@"
echo "pictures: $run/losses.png $run/reconstructions.png; per-image scores: $run/test_scores.csv"
