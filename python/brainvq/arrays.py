"""numpy arrays ↔ the raw float32 bytes that cross into Go.

Arrays cross the Python/Go boundary as one ``bytes`` object holding the values as little-endian
float32 in C (row-major) order, with the shape passed separately as plain ints. These helpers do
that conversion and check shapes, so that errors name the argument and say what was expected
instead of surfacing later as a length mismatch inside Go.

A shape *pattern* is a tuple whose entries are ints (that size exactly) or ``None`` (any size);
for example ``(None, 1, 256, 256)`` accepts a batch of any length of 1×256×256 images.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Type, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = [
    "FLOAT32_LE",
    "INT32_LE",
    "INT64_LE",
    "FLOAT64_LE",
    "float32_to_bytes",
    "bytes_to_float32",
    "int32_to_bytes",
    "bytes_to_int32",
    "int64_to_bytes",
    "bytes_to_float64",
    "check_shape",
]

#: The dtype of images, latents and codebooks that cross into Go: 4-byte IEEE float, little-endian.
FLOAT32_LE = np.dtype("<f4")
#: The dtype of code indices that cross into Go: 4-byte signed integer, little-endian.
INT32_LE = np.dtype("<i4")
#: The dtype of histogram counts that cross into Go: 8-byte signed integer, little-endian.
INT64_LE = np.dtype("<i8")
#: The dtype of per-image scores that come back from Go: 8-byte IEEE float, little-endian.
FLOAT64_LE = np.dtype("<f8")

ShapePattern = Sequence[Optional[int]]

_S = TypeVar("_S", bound=np.generic)


def check_shape(shape: Sequence[int], pattern: ShapePattern, name: str = "array") -> None:
    """Check that ``shape`` matches ``pattern`` (ints must match, ``None`` matches any size).

    Raises:
        ValueError: wrong number of dimensions or a wrong size, naming ``name``, the expected
            pattern (``None`` shown as ``*``) and the actual shape.
    """
    shape = tuple(int(s) for s in shape)
    want = "(" + ", ".join("*" if p is None else str(int(p)) for p in pattern) + ")"
    if len(shape) != len(pattern):
        raise ValueError(
            "%s must have %d dimensions %s, got %d dimensions with shape %s"
            % (name, len(pattern), want, len(shape), shape)
        )
    for axis, (got, exp) in enumerate(zip(shape, pattern)):
        if exp is not None and got != int(exp):
            raise ValueError(
                "%s must have shape %s, got %s (axis %d is %d, expected %d)"
                % (name, want, shape, axis, got, int(exp))
            )


def float32_to_bytes(
    arr: npt.ArrayLike, pattern: Optional[ShapePattern] = None, name: str = "array"
) -> Tuple[bytes, Tuple[int, ...]]:
    """Convert an array-like of real numbers to little-endian float32 bytes plus its shape.

    Args:
        arr: any array-like of shape S with a real (bool, integer or floating) dtype; it is
            converted to float32 (float64 values are rounded), made C-contiguous and copied.
        pattern: optional shape pattern S must match (see :func:`check_shape`).
        name: the argument's name, used in error messages.

    Returns:
        ``(data, shape)``: ``data`` holds ``prod(S) * 4`` bytes in C order, ``shape`` is ``S``
        as a tuple of ints.

    Raises:
        TypeError: ``arr`` is not numeric or has a complex, object or string dtype.
        ValueError: the shape does not match ``pattern``.
    """
    a = np.asarray(arr)
    if a.dtype.kind not in "biuf":
        raise TypeError(
            "%s must hold real numbers (converted to float32), got dtype %s" % (name, a.dtype)
        )
    if pattern is not None:
        check_shape(a.shape, pattern, name)
    a = np.ascontiguousarray(a, dtype=FLOAT32_LE)
    return a.tobytes(order="C"), tuple(int(s) for s in a.shape)


def bytes_to_float32(
    data: bytes, shape: Sequence[int], name: str = "array"
) -> npt.NDArray[np.float32]:
    """Turn little-endian float32 bytes into a new writable float32 array of the given shape.

    Args:
        data: ``prod(shape) * 4`` bytes in C order (``bytes``, ``bytearray`` or ``memoryview``).
        shape: the array's shape S (non-negative ints).
        name: what the data is, used in error messages.

    Returns:
        A C-contiguous native-endian ``np.float32`` array of shape S that owns its memory.

    Raises:
        ValueError: a negative size in ``shape``, or ``len(data) != prod(shape) * 4``.
    """
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError("%s: shape %s has a negative size" % (name, shape))
    count = int(np.prod(shape, dtype=np.int64))
    if len(data) != count * FLOAT32_LE.itemsize:
        raise ValueError(
            "%s: expected %d bytes for %d float32 values of shape %s, got %d bytes"
            % (name, count * FLOAT32_LE.itemsize, count, shape, len(data))
        )
    flat = np.frombuffer(data, dtype=FLOAT32_LE, count=count)
    return flat.astype(np.float32, copy=True).reshape(shape)


def _from_le(
    data: bytes, dtype: np.dtype[Any], native: Type[_S], shape: Sequence[int], name: str
) -> npt.NDArray[_S]:
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError("%s: shape %s has a negative size" % (name, shape))
    count = int(np.prod(shape, dtype=np.int64))
    if len(data) != count * dtype.itemsize:
        raise ValueError(
            "%s: expected %d bytes for %d %s values of shape %s, got %d bytes"
            % (name, count * dtype.itemsize, count, native.__name__, shape, len(data))
        )
    flat = np.frombuffer(data, dtype=dtype, count=count)
    return flat.astype(native, copy=True).reshape(shape)


def int32_to_bytes(
    arr: npt.ArrayLike, pattern: Optional[ShapePattern] = None, name: str = "array"
) -> Tuple[bytes, Tuple[int, ...]]:
    """Convert an integer array-like to little-endian int32 bytes plus its shape.

    Args:
        arr: array-like of shape S with an integer (or bool) dtype whose values fit int32.
        pattern: optional shape pattern S must match (see :func:`check_shape`).
        name: the argument's name, used in error messages.

    Returns:
        ``(data, shape)``: ``prod(S) * 4`` bytes in C order and ``S``.

    Raises:
        TypeError: a non-integer dtype (floats are refused rather than truncated).
        ValueError: the shape does not match ``pattern``, or a value does not fit int32.
    """
    a = np.asarray(arr)
    if a.dtype.kind not in "biu":
        raise TypeError("%s must hold integers, got dtype %s" % (name, a.dtype))
    if pattern is not None:
        check_shape(a.shape, pattern, name)
    if a.size and (int(a.min()) < -(2**31) or int(a.max()) >= 2**31):
        raise ValueError("%s: values must fit int32, found [%d, %d]" % (name, a.min(), a.max()))
    a = np.ascontiguousarray(a, dtype=INT32_LE)
    return a.tobytes(order="C"), tuple(int(s) for s in a.shape)


def bytes_to_int32(data: bytes, shape: Sequence[int], name: str = "array") -> npt.NDArray[np.int32]:
    """Turn little-endian int32 bytes into a new writable ``np.int32`` array of the given shape.

    Raises:
        ValueError: a negative size in ``shape``, or ``len(data) != prod(shape) * 4``.
    """
    return _from_le(data, INT32_LE, np.int32, shape, name)


def int64_to_bytes(arr: npt.ArrayLike, name: str = "array") -> bytes:
    """Convert a 1-D integer array-like (for example histogram counts) to little-endian int64 bytes.

    Raises:
        TypeError: a non-integer dtype.
        ValueError: not one-dimensional.
    """
    a = np.asarray(arr)
    if a.dtype.kind not in "biu":
        raise TypeError("%s must hold integers, got dtype %s" % (name, a.dtype))
    if a.ndim != 1:
        raise ValueError("%s must be one-dimensional, got shape %s" % (name, a.shape))
    return np.ascontiguousarray(a, dtype=INT64_LE).tobytes()


def bytes_to_float64(
    data: bytes, shape: Sequence[int], name: str = "array"
) -> npt.NDArray[np.float64]:
    """Turn little-endian float64 bytes into a new writable ``np.float64`` array of the given shape.

    Raises:
        ValueError: a negative size in ``shape``, or ``len(data) != prod(shape) * 8``.
    """
    return _from_le(data, FLOAT64_LE, np.float64, shape, name)
