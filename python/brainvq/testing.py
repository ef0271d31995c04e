"""Self-test hooks into the Go extension: they check the binding itself, not the model.

These functions exist so the wheel's tests (and a user debugging an install) can check each
path across the Python/Go boundary: bytes in and out, a Go error, a Go panic and the handle
registry. They do no useful computation.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import numpy.typing as npt

from brainvq import _binding
from brainvq.arrays import ShapePattern, bytes_to_float32, float32_to_bytes
from brainvq.handles import Handle

__all__ = ["echo_bytes", "echo_float32", "go_fail", "go_panic", "Blob"]

_pb = _binding._pb


def echo_bytes(data: bytes) -> bytes:
    """Send ``data`` (n bytes) to Go and return Go's copy (n bytes)."""
    out = _binding.call(_pb.Echo, _binding.to_go_bytes(data))
    return _binding.from_go_bytes(out)


def echo_float32(
    arr: npt.ArrayLike, pattern: Optional[ShapePattern] = None
) -> npt.NDArray[np.float32]:
    """Round-trip an array through Go as float32 bytes.

    Args:
        arr: array-like of shape S with a real dtype.
        pattern: optional shape pattern S must match.

    Returns:
        A new float32 array of shape S equal to ``arr`` converted to float32.
    """
    data, shape = float32_to_bytes(arr, pattern, name="arr")
    return bytes_to_float32(echo_bytes(data), shape, name="echo result")


def go_fail(message: str) -> None:
    """Call a Go function that returns ``errors.New(message)``.

    Raises:
        GoError: always, with ``str(err) == message``.
    """
    _binding.call(_pb.Fail, message)
    raise AssertionError("Go's Fail returned no error")  # pragma: no cover


def go_panic(message: str) -> None:
    """Call a Go function that panics with ``message``; the binding recovers it.

    Raises:
        GoError: always; the message names the Go function and contains ``message`` and the
            first frames of the Go stack.
    """
    _binding.call(_pb.Panic, message)
    raise AssertionError("Go's Panic returned no error")  # pragma: no cover


class Blob(Handle):
    """A byte buffer stored in Go behind a registry handle (the simplest handle-backed object)."""

    __slots__ = ()

    def __init__(self, data: bytes) -> None:
        """Copy ``data`` (n bytes) into Go and hold the new handle."""
        super().__init__(_binding.call(_pb.NewBlob, _binding.to_go_bytes(data)))

    def data(self) -> bytes:
        """Return a copy of the n stored bytes."""
        return _binding.from_go_bytes(_binding.call(_pb.BlobBytes, self.handle))
