"""How brainvq reads image arrays: accepted layouts, dtypes and value ranges.

Every function that takes images (``Model.reconstruct``, ``Model.encode``, ``Dataset.from_array``,
``brainvq.ssim``, ...) accepts:

* a batch ``[N, H, W]``, a batch with a channel axis ``[N, 1, H, W]``, or one image ``[H, W]``;
  results come back in the same layout (one image in, one image out);
* ``uint8`` pixels ``p`` in 0..255, converted to ``x = p / 255`` (the rule PNG slices follow);
* ``bool`` (False → 0, True → 1) and floating arrays of values in [0, 1]. Floats within 1e-4 outside
  [0, 1] (rounding noise) are clipped; anything further out, NaN or infinite raises ``ValueError``.

Other integer dtypes (``uint16``, ``int64``, ...) raise ``TypeError``: their scale is ambiguous, so
convert them yourself (``x / 65535``, ``x.astype(np.uint8)``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

__all__ = ["ImageBatch", "ImageArray", "as_images", "CLIP_TOLERANCE"]

#: What functions taking images accept: a numpy array of floats in [0, 1], uint8 pixels or bools,
#: shaped ``[H, W]``, ``[N, H, W]`` or ``[N, 1, H, W]`` (the rules above).
ImageArray = Union[npt.NDArray[np.floating[Any]], npt.NDArray[np.uint8], npt.NDArray[np.bool_]]

#: Floats this far outside [0, 1] are clipped silently; further out they are an error.
CLIP_TOLERANCE = 1e-4


@dataclass(frozen=True)
class ImageBatch:
    """Images brought to ``[N, H, W]`` float32 in [0, 1], with the layout they came in.

    Attributes:
        pixels: C-contiguous float32 array ``[N, H, W]`` with values in [0, 1].
        layout: ``"HW"`` (one image), ``"NHW"`` or ``"NCHW"`` (channel axis of size 1).
    """

    pixels: npt.NDArray[np.float32]
    layout: str

    @property
    def n(self) -> int:
        """Number of images N."""
        return int(self.pixels.shape[0])

    @property
    def height(self) -> int:
        """Image height H."""
        return int(self.pixels.shape[1])

    @property
    def width(self) -> int:
        """Image width W."""
        return int(self.pixels.shape[2])

    def restore(self, arr: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Give ``arr``, shaped ``[N, ...]`` per image, the caller's layout.

        For image-shaped results ``[N, H', W']``: ``"HW"`` → ``[H', W']``, ``"NCHW"`` →
        ``[N, 1, H', W']``. Per-image results of other shapes only lose the batch axis for ``"HW"``.
        """
        if self.layout == "HW":
            out: npt.NDArray[np.float32] = arr[0]
            return out
        if self.layout == "NCHW" and arr.ndim == 3:
            return arr[:, np.newaxis, :, :]
        return arr


def as_images(
    arr: Union[ImageArray, npt.ArrayLike],
    name: str = "images",
    size: Optional[Tuple[int, int]] = None,
) -> ImageBatch:
    """Bring an image array to ``[N, H, W]`` float32 in [0, 1] following the module's rules.

    Args:
        arr: an array (or array-like) ``[H, W]``, ``[N, H, W]`` or ``[N, 1, H, W]``; uint8, bool or
            floating.
        name: the argument's name for error messages.
        size: ``(H, W)`` the images must have, or None for any size.

    Returns:
        An :class:`ImageBatch` (N ≥ 1).

    Raises:
        TypeError: a dtype other than uint8, bool or floating.
        ValueError: a wrong number of dimensions, a channel axis other than 1, an empty batch, a wrong
            size, or float values outside [0, 1] (beyond :data:`CLIP_TOLERANCE`), NaN or infinite.
    """
    a = np.asarray(arr)
    if a.ndim == 2:
        layout, a = "HW", a[None]
    elif a.ndim == 3:
        layout = "NHW"
    elif a.ndim == 4:
        if a.shape[1] != 1:
            raise ValueError(
                "%s: a 4-D array must be [N, 1, H, W] (one grey channel), got shape %s"
                % (name, a.shape)
            )
        layout, a = "NCHW", a[:, 0]
    else:
        raise ValueError(
            "%s must be [H, W], [N, H, W] or [N, 1, H, W], got %d dimensions with shape %s"
            % (name, a.ndim, a.shape)
        )
    if a.shape[0] == 0:
        raise ValueError("%s: the batch is empty (shape %s)" % (name, a.shape))
    if size is not None and tuple(a.shape[1:]) != tuple(size):
        raise ValueError(
            "%s: images are %d×%d, expected %d×%d (resize them first, or load the dataset with "
            "size=%d, resize=True)" % (name, a.shape[1], a.shape[2], size[0], size[1], size[0])
        )
    if a.dtype == np.uint8:
        x = a.astype(np.float32) / np.float32(255)
    elif a.dtype == np.bool_:
        x = a.astype(np.float32)
    elif a.dtype.kind == "f":
        x = np.array(a, dtype=np.float32, order="C", copy=True)
        if not np.isfinite(x).all():
            raise ValueError("%s: holds NaN or infinite values" % name)
        lo, hi = float(x.min()), float(x.max())
        if lo < -CLIP_TOLERANCE or hi > 1 + CLIP_TOLERANCE:
            raise ValueError(
                "%s: float pixels must lie in [0, 1], found values in [%g, %g] (uint8 images are "
                "divided by 255 automatically; scale other ranges yourself)" % (name, lo, hi)
            )
        np.clip(x, 0, 1, out=x)
    else:
        raise TypeError(
            "%s: dtype %s is not supported; pass uint8 (0..255, divided by 255), bool, or floats "
            "in [0, 1]" % (name, a.dtype)
        )
    return ImageBatch(np.ascontiguousarray(x, dtype=np.float32), layout)
