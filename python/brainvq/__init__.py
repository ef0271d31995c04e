"""brainvq: a VQ-VAE for 2D brain MRI slices, implemented in Go and driven from Python.

The heavy lifting runs in Go (through a gopy-built extension); this package gives it a numpy
interface. Arrays cross into Go as little-endian float32 bytes plus a shape
(:mod:`brainvq.arrays`); long-lived Go objects are held through handles
(:class:`brainvq.handles.Handle`); Go errors and recovered Go panics raise :class:`GoError`.

Go calls release the GIL, so other Python threads keep running during long calls.

multiprocessing: the Go runtime starts when this package is imported and does not survive
``fork()``. Create worker processes with ``multiprocessing.get_context("spawn")``; a forked child
that calls into brainvq gets a ``RuntimeError`` saying so.
"""

from __future__ import annotations

from brainvq import _binding
from brainvq._binding import GoError, live_handles
from brainvq.arrays import bytes_to_float32, check_shape, float32_to_bytes
from brainvq.handles import Handle

__all__ = [
    "__version__",
    "go_version",
    "GoError",
    "Handle",
    "live_handles",
    "float32_to_bytes",
    "bytes_to_float32",
    "check_shape",
]


def go_version() -> str:
    """The version of the Go code compiled into the extension (e.g. ``"0.1.0"``)."""
    return _binding.call(_binding._pb.Version)


#: The package version: the one compiled into the Go extension (the wheel's metadata matches it).
__version__: str = go_version()
