#!/usr/bin/env bash
# Side-by-side benchmark: brainvq (Go) vs PyTorch (CPU) vs onnxruntime on the same machine, the same thread
# count, the same architecture and the same synthetic data. Prints a table and writes bench/results.md and
# bench/results.json. See bench/README.md.
#
# Usage: bench/run.sh [--threads 2] [--steps N] [--warmup 2] [--presets residual,seed] [--rounds 1]
#                     [--systems pytorch,brainvq,onnxruntime] [--out-prefix bench/results]
# --steps N times N steps in every measurement; without it: 5 for residual, 10 for seed.
# Run bench/setup.sh once first.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
threads=2
steps=""
warmup=2
presets="residual,seed"
rounds=1
systems="pytorch,brainvq,onnxruntime"
out_prefix="$here/results"
batch=16
measure_timeout=600 # seconds one measurement may take before it is abandoned

usage() { sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
  --threads) threads="$2"; shift 2 ;;
  --steps) steps="$2"; shift 2 ;;
  --warmup) warmup="$2"; shift 2 ;;
  --presets) presets="$2"; shift 2 ;;
  --rounds) rounds="$2"; shift 2 ;;
  --systems) systems="$2"; shift 2 ;;
  --out-prefix) out_prefix="$2"; shift 2 ;;
  -h | --help) usage; exit 0 ;;
  *) echo "bench/run.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done

py="$here/.venv/bin/python"
if [[ ! -x "$py" ]] || ! "$py" -c 'import torch, onnxruntime' 2>/dev/null; then
  echo "bench/run.sh: bench/.venv is missing or incomplete: run bench/setup.sh first" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
results="$work/results.jsonl"
: >"$results"
log="$work/log"

has() { [[ ",$systems," == *",$1,"* ]]; }
note() {
  echo "bench/run.sh: $1" >&2
  "$py" -c 'import json, sys; print(json.dumps({"system": "note", "text": sys.argv[1]}))' "$1" >>"$results"
}

# measure LABEL CMD...: runs one measurement in a fresh process with the thread count pinned, keeps the
# JSON lines it prints; on failure prints the end of its output and goes on.
measure() {
  local label="$1"
  shift
  echo "bench/run.sh: $label ..." >&2
  local t0=$SECONDS rc=0
  OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" GOMAXPROCS="$threads" \
    timeout "$measure_timeout" "$@" >"$work/out" 2>"$log" || rc=$?
  if [[ $rc -eq 0 ]]; then
    grep '^{' "$work/out" >>"$results" || note "$label printed no JSON line"
    grep -o '"img_per_s": *[0-9.]*\|"peak_rss_mib": *[0-9.]*\|"max_abs_diff": *[0-9.e-]*' "$work/out" |
      tr '\n' ' ' | sed 's/^/    /;s/$/\n/' >&2 || true
  else
    tail -n 20 "$log" >&2 || true
    note "$label failed (exit status $rc after $((SECONDS - t0)) s; 124: over ${measure_timeout} s)"
  fi
}

echo "bench/run.sh: making the synthetic data" >&2
data="$work/synthetic.u8"
"$py" "$here/torch_vqvae.py" make-data --out "$data" --count 64 --size 256 --seed 1

# The Go side: the benchmark program (bench/gobench, written with the trainer) and, for onnxruntime, the
# model maker and `brainvq export`. Built once so that compile time is never measured.
gobench=""
mkmodel=""
brainvq=""
if has brainvq || has onnxruntime; then
  if ! command -v go >/dev/null; then
    note "the Go toolchain is not on PATH: brainvq and onnxruntime skipped"
  else
    if has brainvq; then
      if [[ ! -f "$repo/bench/gobench/main.go" ]]; then
        note "bench/gobench/main.go does not exist yet: the brainvq rows are skipped (contract: bench/README.md)"
      elif (cd "$repo" && go build -o "$work/gobench" ./bench/gobench) 2>"$log"; then
        gobench="$work/gobench"
      else
        tail -n 20 "$log" >&2
        note "go build ./bench/gobench failed: the brainvq rows are skipped"
      fi
    fi
    if has onnxruntime; then
      if (cd "$repo" && go build -o "$work/brainvq" ./cmd/brainvq && go build -o "$work/mkmodel" ./bench/mkmodel) 2>"$log"; then
        brainvq="$work/brainvq"
        mkmodel="$work/mkmodel"
      else
        tail -n 20 "$log" >&2
        note "building cmd/brainvq or bench/mkmodel failed: no vqvae.onnx, the onnxruntime rows are skipped"
      fi
    fi
  fi
fi

load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
for preset in ${presets//,/ }; do
  n="$steps"
  if [[ -z "$n" ]]; then
    if [[ "$preset" == residual ]]; then n=5; else n=10; fi
  fi
  common=(--preset "$preset" --batch "$batch" --threads "$threads" --warmup "$warmup" --steps "$n")
  onnx=""
  if [[ -n "$brainvq" ]]; then
    mdir="$work/model-$preset"
    if "$mkmodel" -preset "$preset" -data "$data" -out "$mdir" 2>"$log" &&
      "$brainvq" export --checkpoint "$mdir/checkpoint.bvq" --out "$mdir/onnx" >"$log" 2>&1; then
      onnx="$mdir/onnx/vqvae.onnx"
      measure "$preset: onnxruntime vs PyTorch on the same weights" \
        "$py" "$here/torch_vqvae.py" compare-onnx --preset "$preset" --model "$onnx" \
        --weights "$mdir/weights" --preprocess "$mdir/preprocess.json" --data "$data"
    else
      tail -n 20 "$log" >&2
      note "$preset: brainvq export failed: the onnxruntime row is skipped"
    fi
  fi
  for ((r = 1; r <= rounds; r++)); do
    for mode in train infer; do
      if has pytorch; then
        measure "$preset $mode pytorch (round $r)" \
          "$py" "$here/torch_vqvae.py" "$mode" "${common[@]}" --data "$data"
      fi
      if [[ -n "$gobench" ]]; then
        measure "$preset $mode brainvq (round $r)" \
          "$gobench" "${common[@]}" --mode "$mode" --data "$data" --json
      fi
      if [[ "$mode" == infer && -n "$onnx" ]]; then
        measure "$preset infer onnxruntime (round $r)" \
          "$py" "$here/torch_vqvae.py" onnx "${common[@]}" --model "$onnx" --data "$data"
      fi
    done
  done
done
load_end="$(cut -d' ' -f1-3 /proc/loadavg)"

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
commit="$(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
"$py" "$here/report.py" --in "$results" --md "$out_prefix.md" --json "$out_prefix.json" \
  --meta "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" --meta "commit=$commit" \
  --meta "machine=$cpu, $(nproc) cores visible" \
  --meta "setup=$threads threads, batch $batch, 256x256 images, $warmup warm-up steps, $rounds round(s)" \
  --meta "load average (1, 5, 15 min)=$load_start at the start, $load_end at the end"
echo "bench/run.sh: wrote $out_prefix.md and $out_prefix.json" >&2
