#!/usr/bin/env bash
# Side-by-side benchmark: brainvq (Go) vs PyTorch (CPU, four configurations) vs TensorFlow/Keras (tf.function,
# with and without XLA) vs onnxruntime (two exports) on the same machine, the same thread count, the same
# architecture and the same synthetic data. Prints a table and writes bench/results.md and bench/results.json.
# See bench/README.md.
#
# Usage: bench/run.sh [--threads 2] [--steps N] [--warmup 2] [--presets residual,seed] [--rounds 3]
#                     [--systems pytorch,tensorflow,brainvq,onnxruntime] [--isa native|avx2] [--seed 1]
#                     [--torch-configs eager,channels_last,compile,channels_last_compile]
#                     [--tf-configs graph,xla] [--onnx-quantizers exact,float32] [--out-prefix bench/results]
# --steps N times N steps in every measurement; without it: 5 for residual, 10 for seed. Every round runs each
# measurement once, in an order shuffled per round (--seed). --isa avx2 caps every system at AVX2.
# Run bench/setup.sh once first.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
threads=2
steps=""
warmup=2
presets="residual,seed"
rounds=3
systems="pytorch,tensorflow,brainvq,onnxruntime"
isa=native
seed=1
torch_configs="eager,channels_last,compile,channels_last_compile"
tf_configs="graph,xla"
onnx_quantizers="exact,float32"
out_prefix="$here/results"
batch=16
measure_timeout=600 # seconds one measurement may take before it is abandoned

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
  --threads) threads="$2"; shift 2 ;;
  --steps) steps="$2"; shift 2 ;;
  --warmup) warmup="$2"; shift 2 ;;
  --presets) presets="$2"; shift 2 ;;
  --rounds) rounds="$2"; shift 2 ;;
  --systems) systems="$2"; shift 2 ;;
  --isa) isa="$2"; shift 2 ;;
  --seed) seed="$2"; shift 2 ;;
  --torch-configs) torch_configs="$2"; shift 2 ;;
  --tf-configs) tf_configs="$2"; shift 2 ;;
  --onnx-quantizers) onnx_quantizers="$2"; shift 2 ;;
  --out-prefix) out_prefix="$2"; shift 2 ;;
  -h | --help) usage; exit 0 ;;
  *) echo "bench/run.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
for n in "$threads" "$warmup" "$rounds" "$seed" ${steps:+"$steps"}; do
  if ! [[ "$n" =~ ^[0-9]+$ ]]; then
    echo "bench/run.sh: --threads, --steps, --warmup, --rounds and --seed take a whole number, got '$n'" >&2
    exit 2
  fi
done
if ((rounds < 1 || threads < 1)); then
  echo "bench/run.sh: --rounds and --threads must be at least 1" >&2
  exit 2
fi

# --isa avx2 caps every system at AVX2 through the variables each one reads when it loads: PyTorch's ATen
# dispatch (ATEN_CPU_CAPABILITY), oneDNN in PyTorch and TensorFlow (ONEDNN_MAX_CPU_ISA), XLA's CPU code
# generator (--xla_cpu_max_isa) and brainvq's kernels (BRAINVQ_ISA). onnxruntime's MLAS has no such switch.
case "$isa" in
native) ;;
avx2)
  export ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 BRAINVQ_ISA=avx2
  export XLA_FLAGS="${XLA_FLAGS:+$XLA_FLAGS }--xla_cpu_max_isa=AVX2"
  ;;
*) echo "bench/run.sh: --isa $isa: want native or avx2" >&2; exit 2 ;;
esac
export TF_CPP_MIN_LOG_LEVEL=2

has() { [[ ",$systems," == *",$1,"* ]]; }
py="$here/.venv/bin/python"
imports="numpy"
has pytorch && imports+=", torch"
has tensorflow && imports+=", tensorflow"
has onnxruntime && imports+=", onnxruntime"
if [[ ! -x "$py" ]] || ! "$py" -c "import $imports" 2>/dev/null; then
  echo "bench/run.sh: bench/.venv is missing or incomplete (import $imports): run bench/setup.sh first" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
results="$work/results.jsonl"
: >"$results"
log="$work/log"

note() {
  echo "bench/run.sh: $1" >&2
  "$py" -c 'import json, sys; print(json.dumps({"system": "note", "text": sys.argv[1]}))' "$1" >>"$results"
}

# measure LABEL FIELDS CMD...: runs one measurement in a fresh process with the thread count pinned and keeps
# the JSON lines it prints, each with FIELDS (JSON members, e.g. '"round": 2, "slot": 5, ') put in front of
# its own. On failure it prints the end of the output, adds a note and, when FIELDS name a system, a result
# row with img_per_s null and the error, so that the table shows the failure; then it goes on.
measure() {
  local label="$1" fields="$2"
  shift 2
  echo "bench/run.sh: $label ..." >&2
  local t0=$SECONDS rc=0
  OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" GOMAXPROCS="$threads" \
    timeout "$measure_timeout" "$@" </dev/null >"$work/out" 2>"$log" || rc=$?
  measure_rc=$rc
  if [[ $rc -eq 0 ]]; then
    grep '^{' "$work/out" | sed "s/^{/{$fields/" >>"$results" || note "$label printed no JSON line"
    grep -o '"img_per_s": *[0-9.a-z]*\|"peak_rss_mib": *[0-9.]*\|"max_abs_diff": *[0-9.e-]*\|"error": "[^"]*' \
      "$work/out" | tr '\n' ' ' | sed 's/^/    /;s/$/\n/' >&2 || true
  else
    tail -n 20 "$log" >&2 || true
    local why="exit status $rc after $((SECONDS - t0)) s; 124: over ${measure_timeout} s"
    note "$label failed ($why)"
    if [[ "$fields" == *'"system"'* && ! ("${retry_crash:-}" == 1 && $rc -ne 124) ]]; then
      echo "{$fields\"img_per_s\": null, \"error\": \"$why\"}" >>"$results"
    fi
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

# A round's measurements as "system mode config" (config "-": none), in a fixed order before shuffling.
jobs=()
for mode in train infer; do
  if has pytorch; then for c in ${torch_configs//,/ }; do jobs+=("pytorch $mode $c"); done; fi
  if has tensorflow; then for c in ${tf_configs//,/ }; do jobs+=("tensorflow $mode $c"); done; fi
  if [[ -n "$gobench" ]]; then jobs+=("brainvq $mode -"); fi
  if [[ "$mode" == infer ]] && has onnxruntime; then
    for q in ${onnx_quantizers//,/ }; do jobs+=("onnxruntime infer $q"); done
  fi
done

if ((${#jobs[@]} == 0)); then
  echo "bench/run.sh: nothing to measure (--systems $systems)" >&2
  exit 1
fi

# shuffled KEY: the jobs, one a line, in an order that depends only on --seed and KEY (preset and round).
shuffled() {
  "$py" -c 'import random, sys
jobs = sys.argv[2:]
random.Random(sys.argv[1]).shuffle(jobs)
print("\n".join(jobs))' "$seed-$1" "${jobs[@]}"
}

# The CPU time the hypervisor gave to other guests while this guest wanted it ("steal", /proc/stat's 8th
# value), as a share of all CPU time of the run: on a shared host it slows every system, not all alike, and
# it is why wall-clock numbers move between runs (bench/README.md, "ISA and CPU").
cpu_ticks() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print $9, t}' /proc/stat; }
steal_share() { # start and end "steal total" pairs → "S %"
  awk -v a="$1" -v b="$2" 'BEGIN {split(a, x, " "); split(b, y, " ");
    d = y[2] - x[2]; printf "%.1f %%", (d > 0 ? 100 * (y[1] - x[1]) / d : 0)}'
}
ticks_start="$(cpu_ticks)"
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
for preset in ${presets//,/ }; do
  n="$steps"
  if [[ -z "$n" ]]; then
    if [[ "$preset" == residual ]]; then n=5; else n=10; fi
  fi
  common=(--preset "$preset" --batch "$batch" --threads "$threads" --warmup "$warmup" --steps "$n")
  declare -A onnx=()
  if [[ -n "$brainvq" ]]; then
    mdir="$work/model-$preset"
    if "$mkmodel" -preset "$preset" -data "$data" -out "$mdir" 2>"$log"; then
      for q in ${onnx_quantizers//,/ }; do
        if "$brainvq" export --checkpoint "$mdir/checkpoint.bvq" --quantizer "$q" \
          --out "$mdir/onnx-$q" >"$log" 2>&1; then
          onnx[$q]="$mdir/onnx-$q/vqvae.onnx"
          measure "$preset: onnxruntime ($q quantiser) vs PyTorch on the same weights" \
            "\"quantizer\": \"$q\", " \
            "$py" "$here/torch_vqvae.py" compare-onnx --preset "$preset" --model "${onnx[$q]}" \
            --weights "$mdir/weights" --preprocess "$mdir/preprocess.json" --data "$data"
        else
          tail -n 20 "$log" >&2
          note "$preset: brainvq export --quantizer $q failed: its onnxruntime row is skipped"
        fi
      done
    else
      tail -n 20 "$log" >&2
      note "$preset: bench/mkmodel failed: the onnxruntime rows are skipped"
    fi
  fi
  for ((r = 1; r <= rounds; r++)); do
    slot=0
    while read -r system mode config; do
      slot=$((slot + 1))
      tag="\"round\": $r, \"slot\": $slot, "
      what="$preset $mode $system"
      [[ "$config" == - ]] || what+=" $config"
      what+=" (round $r, slot $slot)"
      row="\"system\": \"$system\", \"preset\": \"$preset\", \"mode\": \"$mode\", "
      case "$system" in
      pytorch)
        # torch.compile's generated AVX-512 code has crashed the process on some CPUs (glibc "double
        # free or corruption" on an AMD Zen 5): a compile configuration that crashes is measured once
        # more with inductor's vectors at 256 bits (ATen and oneDNN keep their ISA), and says so in its
        # ISA column.
        retry=0
        [[ "$config" == *compile* ]] && retry=1
        retry_crash=$retry measure "$what" "$tag$row\"config\": \"$config\", " \
          "$py" "$here/torch_vqvae.py" "$mode" "${common[@]}" --config "$config" --data "$data"
        if [[ $retry == 1 && $measure_rc -ne 0 && $measure_rc -ne 124 ]]; then
          measure "$what again, inductor vectors 256-bit" "$tag$row\"config\": \"$config\", " \
            env BENCH_INDUCTOR_SIMDLEN=256 "$py" "$here/torch_vqvae.py" "$mode" "${common[@]}" \
            --config "$config" --data "$data"
        fi
        ;;
      tensorflow)
        measure "$what" "$tag$row\"config\": \"$config\", " \
          "$py" "$here/tf_vqvae.py" "$mode" "${common[@]}" --config "$config" --data "$data"
        ;;
      brainvq)
        measure "$what" "$tag$row" "$gobench" "${common[@]}" --mode "$mode" --data "$data" --json
        ;;
      onnxruntime)
        if [[ -n "${onnx[$config]:-}" ]]; then
          measure "$what" "$tag$row\"config\": \"quantizer $config\", " \
            "$py" "$here/torch_vqvae.py" onnx "${common[@]}" --model "${onnx[$config]}" \
            --quantizer "$config" --data "$data"
        fi
        ;;
      esac
    done < <(shuffled "$preset-$r")
  done
  unset onnx
done
load_end="$(cut -d' ' -f1-3 /proc/loadavg)"
steal="$(steal_share "$ticks_start" "$(cpu_ticks)")"

# The CPU as lscpu names it, with its family and model numbers (machines of one kind come with different
# CPUs); the ISA each system ran on is in its own rows.
lscpu_field() { LC_ALL=C lscpu | sed -n "s/^$1: *//p" | head -n1; }
cpu="$(lscpu_field 'Model name') (family $(lscpu_field 'CPU family'), model $(lscpu_field 'Model'))"
isas="--isa $isa"
if [[ -n "$gobench" ]]; then isas+="; brainvq $("$gobench" --print-isa)"; fi
if has pytorch; then
  isas+="; PyTorch $("$py" -c 'import torch; print(torch.backends.cpu.get_cpu_capability())')"
fi
if [[ "$isa" == avx2 ]]; then
  isas+=" (ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2, BRAINVQ_ISA=avx2, XLA_FLAGS=$XLA_FLAGS)"
fi
commit="$(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
"$py" "$here/report.py" --in "$results" --md "$out_prefix.md" --json "$out_prefix.json" \
  --meta "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" --meta "commit=$commit" \
  --meta "cpu=$cpu" --meta "machine=$(nproc) cores visible, $(free -g | awk '/^Mem:/ {print $2}') GiB" \
  --meta "isa=$isas" \
  --meta "setup=$threads threads, batch $batch, 256x256 images, $warmup warm-up steps, $rounds round(s) in a shuffled order (seed $seed)" \
  --meta "load average (1, 5, 15 min)=$load_start at the start, $load_end at the end" \
  --meta "CPU time taken by the hypervisor (steal)=$steal of all CPU time during the run"
echo "bench/run.sh: wrote $out_prefix.md and $out_prefix.json" >&2
