#!/usr/bin/env bash
# Installs everything brainvq's commands and tests need on a fresh Debian machine of this kind, idempotently:
# Debian packages (scripts/apt-packages.txt), a Python virtual environment .venv with requirements-dev.txt,
# the Go modules, the `brainvq` binary in bin/, and the MNI T1 template the stand-in dataset is made from.
# Nothing here is needed again once done; a second run only checks.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

# Debian packages.
if [[ -s scripts/apt-packages.txt ]] && command -v apt-get >/dev/null; then
  mapfile -t want < <(grep -v '^\s*#' scripts/apt-packages.txt | awk 'NF{print $1}')
  missing=()
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    say "apt-get install ${missing[*]}"
    sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

# Python: one virtual environment for the tests and tools.
python="${BRAINVQ_BASE_PYTHON:-python3}" # the interpreter the venv is made from
if [[ ! -x .venv/bin/python ]]; then
  say "creating .venv with $("$python" --version)"
  "$python" -m venv .venv
fi
stamp=.venv/.requirements.sha256
if [[ ! -f $stamp ]] || ! sha256sum --check --status "$stamp" 2>/dev/null; then
  say "pip install -r requirements-dev.txt"
  .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
  .venv/bin/python -m pip install --quiet -r requirements-dev.txt
  sha256sum requirements-dev.txt >"$stamp"
fi

# Go: modules and the command.
say "go mod download; go build -o bin/brainvq ./cmd/brainvq"
go mod download
go build -o bin/brainvq ./cmd/brainvq

# The real anatomy the stand-in dataset is made from.
PYTHON=.venv/bin/python bash scripts/fetch_template.sh
say "ready"
