#!/usr/bin/env bash
# Creates bench/.venv (git-ignored) with the pinned packages of bench/requirements.txt: CPU use of PyTorch,
# onnxruntime, numpy, pytest. Idempotent: a venv whose stamp matches requirements.txt and whose packages import
# is left alone. Set PYTHON to choose the interpreter (default python3, 3.10 or newer).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
py="${PYTHON:-python3}"
want="$(sha256sum "$req" | cut -d' ' -f1)"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] &&
  "$venv/bin/python" -c 'import torch, onnxruntime, numpy' 2>/dev/null; then
  echo "bench/setup.sh: $venv is up to date"
  exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
  echo "bench/setup.sh: creating $venv with $("$py" --version 2>&1)"
  "$py" -m venv "$venv"
fi
echo "bench/setup.sh: installing $req (torch's wheel and its CUDA libraries are ~2.8 GB to download)"
"$venv/bin/python" -m pip install --disable-pip-version-check --quiet -r "$req"

# Prove the install works on this machine, without a GPU: a small convolution and an onnxruntime session list.
"$venv/bin/python" - <<'PY'
import numpy, onnxruntime, torch

x = torch.ones(1, 1, 4, 4)
w = torch.ones(1, 1, 3, 3)
y = torch.nn.functional.conv2d(x, w, padding=1)
assert float(y[0, 0, 1, 1]) == 9.0, y
print(
    f"bench/setup.sh: torch {torch.__version__} (CPU threads {torch.get_num_threads()}), "
    f"onnxruntime {onnxruntime.__version__} {onnxruntime.get_available_providers()}, numpy {numpy.__version__}"
)
PY
echo "$want" >"$stamp"
