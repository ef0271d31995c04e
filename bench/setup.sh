#!/usr/bin/env bash
# Creates bench/.venv (git-ignored) with the pinned packages of bench/requirements.txt: CPU use of PyTorch,
# TensorFlow (tensorflow-cpu), onnxruntime, numpy, pytest. Idempotent: a venv whose stamp matches
# requirements.txt and whose packages import is left alone. Set PYTHON to choose the interpreter (default
# python3, 3.10 or newer).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
py="${PYTHON:-python3}"
want="$(sha256sum "$req" | cut -d' ' -f1)"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] &&
  "$venv/bin/python" -c 'import torch, tensorflow, onnxruntime, numpy' 2>/dev/null; then
  echo "bench/setup.sh: $venv is up to date"
  exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
  echo "bench/setup.sh: creating $venv with $("$py" --version 2>&1)"
  "$py" -m venv "$venv"
fi
echo "bench/setup.sh: installing $req (torch's wheel and its CUDA libraries are ~2.8 GB to download,"
echo "  tensorflow-cpu ~0.3 GB)"
"$venv/bin/python" -m pip install --disable-pip-version-check --quiet -r "$req"

# Prove the install works on this machine, without a GPU: a small convolution in torch and in TensorFlow and
# an onnxruntime session list.
TF_CPP_MIN_LOG_LEVEL=2 "$venv/bin/python" - <<'PY'
import numpy, onnxruntime, tensorflow as tf, torch

x = torch.ones(1, 1, 4, 4)
w = torch.ones(1, 1, 3, 3)
y = torch.nn.functional.conv2d(x, w, padding=1)
assert float(y[0, 0, 1, 1]) == 9.0, y
yt = tf.nn.conv2d(tf.ones([1, 4, 4, 1]), tf.ones([3, 3, 1, 1]), strides=1, padding="SAME")
assert float(yt[0, 1, 1, 0]) == 9.0, yt
print(
    f"bench/setup.sh: torch {torch.__version__} (CPU threads {torch.get_num_threads()}, "
    f"{torch.backends.cpu.get_cpu_capability()}), tensorflow {tf.__version__}, "
    f"onnxruntime {onnxruntime.__version__} {onnxruntime.get_available_providers()}, numpy {numpy.__version__}"
)
PY
echo "$want" >"$stamp"
