#!/usr/bin/env bash
# ONNX export checks: the Go tests of onnxexport (onnx-go cross-check, file structure), then the Python
# tests, which compare onnxruntime on the exported files with the Go model's outputs.
#
# Usage: bash tests/onnx/run.sh [pytest args]
# Needs: Go, and the Python packages of requirements-dev.txt (onnx, onnxruntime, scikit-image, pytest).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PYTHON=${PYTHON:-python3}

go test ./onnxexport/...

fixtures=$(mktemp -d)
trap 'rm -rf "$fixtures"' EXIT
go run ./onnxexport/internal/fixtures -out "$fixtures"
BRAINVQ_ONNX_FIXTURES=$fixtures "$PYTHON" -m pytest -q tests/onnx "$@"
