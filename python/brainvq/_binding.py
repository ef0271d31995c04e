"""Low-level access to the Go extension: loading it, raising Go errors, moving bytes.

Everything that touches gopy's generated wrappers goes through this module, so the rest of the
package deals only in Python ``bytes``, ints, floats and strings. Three gopy details are handled
here once:

* A Go error reaches Python as a bare ``RuntimeError``. Errors that are not internal failures carry
  a prefix naming the Python exception they stand for (``[brainvq:ValueError] batch_size: ...``,
  set by the Go package ``pybind``, see pybind/errors.go); :func:`call` raises that exception with
  the rest of the message. Every other Go error, and every recovered Go panic, becomes
  :class:`GoError` (a ``RuntimeError`` subclass) with Go's message.
* ``[]byte`` crosses as a gopy slice handle. :func:`to_go_bytes` builds one from ``bytes`` with one
  copy, :func:`from_go_bytes` turns one back into ``bytes`` with one copy. Both guard gopy's
  unchecked paths: a non-``bytes`` argument or an empty slice would crash the interpreter there.
* The Go runtime does not survive ``fork()``: a call from a forked child would hang. :func:`call`
  refuses with a clear error instead (use multiprocessing's ``"spawn"`` start method).

gopy's generated modules carry no type information: they are loaded with ``importlib`` and typed
``Any`` here, so that type checkers read the typed API of the rest of the package.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from typing import Any, Callable, Dict, Type


def _load(name: str) -> Any:
    return importlib.import_module("brainvq._ext." + name)


try:
    _cext: Any = _load("_brainvq")
    _go: Any = _load("go")
    _pb: Any = _load("pybind")
except ImportError as exc:  # pragma: no cover - only when the package was not built
    raise ImportError(
        "brainvq's Go extension is missing (brainvq/_ext has no built module). Install brainvq "
        "from a wheel (scripts/build_wheel.sh) or with 'pip install .', which runs the Go build; "
        "importing the source folder directly does not work."
    ) from exc

__all__ = [
    "GoError",
    "call",
    "call_bytes",
    "call_json",
    "to_go_bytes",
    "from_go_bytes",
    "live_handles",
    "gopy_handles",
]

# The process that loaded the Go runtime; a different pid means we are in a forked child.
_LOADED_PID = os.getpid()


class GoError(RuntimeError):
    """An internal failure in brainvq's Go code (an unexpected error or a recovered panic); the
    message is Go's. Bad arguments and files raise Python's own exceptions instead."""


#: The exceptions a tagged Go error may name (see pybind/errors.go), by name.
_KINDS: Dict[str, Type[Exception]] = {
    e.__name__: e
    for e in (
        ValueError,
        TypeError,
        FileNotFoundError,
        FileExistsError,
        PermissionError,
        NotADirectoryError,
        IsADirectoryError,
        OSError,
        RuntimeError,
        FloatingPointError,
    )
}

_TAG = re.compile(r"\[brainvq:(\w+)\] (.*)", re.DOTALL)


def _exception(message: str) -> Exception:
    """The exception a Go error message stands for: the kind its tag names, else :class:`GoError`."""
    m = _TAG.match(message)
    if m is not None and m.group(1) in _KINDS:
        return _KINDS[m.group(1)](m.group(2))
    return GoError(message)


def _check_not_forked() -> None:
    if os.getpid() != _LOADED_PID:
        raise RuntimeError(
            "brainvq's Go runtime was started in process %d and does not survive fork(); this "
            "forked child cannot call into Go. Use multiprocessing.get_context('spawn') (or "
            "'forkserver' started before importing brainvq)." % _LOADED_PID
        )


def call(fn: Callable[..., Any], *args: Any) -> Any:
    """Call a gopy wrapper ``fn(*args)``, turning a Go error into a Python exception.

    Raises:
        ValueError, TypeError, FileNotFoundError (and the other OSError kinds), FloatingPointError,
            RuntimeError: the Go side refused an argument, a file or a call in the object's
            current state; the message is Go's and names the parameter at fault.
        GoError: an internal failure (an unexpected Go error or a recovered panic).
        RuntimeError: called from a process forked after the Go runtime started.
    """
    _check_not_forked()
    try:
        return fn(*args)
    except GoError:
        raise
    except RuntimeError as exc:
        raise _exception(str(exc)) from None


def to_go_bytes(data: bytes | bytearray | memoryview) -> Any:
    """Copy Python ``bytes`` (length n) into a new Go ``[]byte`` of length n; return its wrapper.

    Only exact ``bytes`` reach gopy: it reads the object with ``PyBytes_AsString`` and would crash
    on anything else, so ``bytearray``/``memoryview`` are converted first.
    """
    if type(data) is not bytes:
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        else:
            raise TypeError("expected bytes, got %s" % type(data).__name__)
    return _go.Slice_byte.from_bytes(data)


def from_go_bytes(slice_: Any) -> bytes:
    """Copy a Go ``[]byte`` wrapper (length n) into new Python ``bytes`` of length n."""
    # gopy's to_bytes indexes element 0 unchecked: an empty or nil slice would panic in Go
    # outside any recover and kill the interpreter, so answer those here.
    if slice_.handle < 1 or len(slice_) == 0:
        return b""
    return bytes(slice_)


def live_handles() -> int:
    """Number of brainvq handles (datasets, models, ...) currently held by the Go registry."""
    return int(call(_pb.LiveHandles))


def gopy_handles() -> int:
    """Number of gopy-internal handles alive in Go (Go values wrapped for Python); for leak tests."""
    _check_not_forked()
    return int(_cext.NumHandles())


def call_bytes(fn: Callable[..., Any], *args: Any) -> Any:
    """:func:`call` with every ``bytes``-like argument sent as a Go ``[]byte`` and a Go ``[]byte``
    result returned as Python ``bytes`` (other arguments and results pass unchanged)."""
    conv = [to_go_bytes(a) if isinstance(a, (bytes, bytearray, memoryview)) else a for a in args]
    out = call(fn, *conv)
    if isinstance(out, _go.Slice_byte):
        return from_go_bytes(out)
    return out


def call_json(fn: Callable[..., Any], *args: Any) -> Any:
    """:func:`call_bytes` of a Go function that returns JSON text; returns the decoded value."""
    return json.loads(call_bytes(fn, *args))
