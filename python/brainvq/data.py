"""Datasets: OASIS-layout PNG slices (or numpy arrays) held in Go, and the stand-in dataset maker.

A :class:`Dataset` is a set of N grey images of H×W pixels, stored once in Go as float32 in [0, 1]
(``x = p / 255`` for 8-bit PNGs). Training and evaluation read it there without copying it into Python;
:attr:`Dataset.images` copies it out as a numpy array when you want to look at it.

The OASIS layout is ``keras_png_slices_data/keras_png_slices_{train,validate,test}/*.png`` (segmentation
folders beside them are never read). Without OASIS, :func:`make_standin` writes an OASIS-like dataset made
from one T1 volume, by default the MNI ICBM152 template (see :func:`find_template`).
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from brainvq import _binding
from brainvq._args import float_arg, int_arg
from brainvq.arrays import bytes_to_float32, float32_to_bytes
from brainvq.handles import Handle
from brainvq.images import ImageArray, as_images

__all__ = ["Dataset", "make_standin", "find_template", "TEMPLATE_NAME", "SPLITS"]

_pb = _binding._pb

#: File name of the MNI ICBM152 2009a T1 template (skull-stripped, 197×233×189 at 1 mm).
TEMPLATE_NAME = "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"

#: The OASIS image splits, in order.
SPLITS = ("train", "validate", "test")

PathLike = Union[str, "os.PathLike[str]"]

# How many images one Go call copies out at most (keeps peak memory bounded for large splits).
_COPY_CHUNK = 256


class Dataset(Handle):
    """N grey images ``[N, H, W]`` float32 in [0, 1], held in Go (read-only).

    Make one with :meth:`from_oasis`, :meth:`from_folder` or :meth:`from_array`. ``len(ds)`` is N;
    ``ds[i]`` is image i ``[H, W]`` and ``ds[a:b]`` images a..b−1 ``[b−a, H, W]`` (copies).
    """

    def __init__(self, handle: int) -> None:
        """Wrap a Go dataset handle (use the ``from_*`` constructors instead)."""
        super().__init__(handle)
        info: Any = _binding.call_json(_pb.DatasetInfo, handle)
        self._name: str = info["name"]
        self._shape: Tuple[int, int, int] = (
            int(info["n"]),
            int(info["height"]),
            int(info["width"]),
        )
        self._files: List[str] = list(info["files"])

    @classmethod
    def from_oasis(
        cls,
        root: PathLike,
        split: str = "train",
        *,
        limit: Optional[int] = None,
        size: Optional[int] = None,
        resize: bool = False,
    ) -> "Dataset":
        """Load one split of an OASIS-layout dataset.

        Args:
            root: the ``keras_png_slices_data`` folder or the folder that holds it.
            split: ``"train"``, ``"validate"`` or ``"test"``.
            limit: read only the first ``limit`` images (in natural file-name order: case, then slice);
                None reads all.
            size: the image side wanted; None takes the width of the split's first image (OASIS
                slices are 256×256). All images must have this size unless ``resize``.
            resize: resample images of another size to ``size``×``size`` instead of failing.

        Returns:
            A dataset of ``[N, size, size]`` images.

        Raises:
            FileNotFoundError: ``root`` or the split's folder does not exist.
            ValueError: an unknown split, a negative limit or size, an unreadable or truncated PNG,
                a segmentation-mask folder passed as images, or an image of the wrong size (the
                message names the file and the parameter).
        """
        if split not in SPLITS:
            raise ValueError("split must be one of %s, got %r" % (", ".join(SPLITS), split))
        h = _binding.call(
            _pb.LoadOASISSplit, os.fspath(root), split, _size(size), bool(resize), _limit(limit)
        )
        return cls(h)

    @classmethod
    def from_folder(
        cls,
        folder: PathLike,
        *,
        limit: Optional[int] = None,
        size: Optional[int] = None,
        resize: bool = False,
    ) -> "Dataset":
        """Load every ``.png`` image of one folder (e.g. ``keras_png_slices_test``); options as in
        :meth:`from_oasis`.

        Raises:
            FileNotFoundError: ``folder`` does not exist. NotADirectoryError: it is a file.
            ValueError: as :meth:`from_oasis`, or a folder with no ``.png`` file.
        """
        h = _binding.call(
            _pb.LoadImageFolder, os.fspath(folder), _size(size), bool(resize), _limit(limit)
        )
        return cls(h)

    @classmethod
    def from_array(cls, images: ImageArray, name: str = "array") -> "Dataset":
        """Store images given as an array in Go.

        Args:
            images: ``[N, H, W]``, ``[N, 1, H, W]`` or one ``[H, W]`` image; uint8 (divided by 255), bool
                or floats in [0, 1] (see :mod:`brainvq.images`).
            name: a name for messages and :attr:`name`.

        Returns:
            A dataset of ``[N, H, W]`` float32 images (a copy: later changes to ``images`` do not reach it).
        """
        batch = as_images(images, "images")
        data, (n, hh, ww) = float32_to_bytes(batch.pixels)
        return cls(_binding.call_bytes(_pb.NewDataset, data, n, hh, ww, str(name)))

    @property
    def name(self) -> str:
        """The split folder's name (e.g. ``keras_png_slices_train``) or the name given to
        :meth:`from_array`."""
        return self._name

    @property
    def shape(self) -> Tuple[int, int, int]:
        """``(N, H, W)``."""
        return self._shape

    @property
    def files(self) -> List[str]:
        """The image paths in load order (empty for :meth:`from_array` datasets)."""
        return list(self._files)

    def __len__(self) -> int:
        return self._shape[0]

    @property
    def images(self) -> npt.NDArray[np.float32]:
        """A copy of all images, ``[N, H, W]`` float32 in [0, 1] (N·H·W·4 bytes of memory)."""
        return self._copy(0, len(self))

    def __getitem__(
        self, index: Union[int, slice, Sequence[int], npt.NDArray[np.integer[Any]]]
    ) -> npt.NDArray[np.float32]:
        """Copies of images: an int gives image ``[H, W]``; a slice, a sequence or an array of ints
        gives ``[k, H, W]`` in that order (negative indices count from the end)."""
        n = len(self)
        if isinstance(index, slice):
            start, stop, step = index.indices(n)
            if step == 1:
                return self._copy(start, max(0, stop - start))
            index = range(start, stop, step)
        if isinstance(index, (int, np.integer)):
            one: npt.NDArray[np.float32] = self._copy(self._position(int(index)), 1)[0]
            return one
        positions = np.asarray(index)
        if positions.size == 0 and positions.ndim == 1:
            positions = positions.astype(np.int64)  # [] is float64 to numpy
        if positions.dtype.kind not in "iu" or positions.ndim != 1:
            raise TypeError(
                "dataset index must be an int, a slice or a 1-D sequence of ints, got %r" % (index,)
            )
        out = np.empty((positions.size,) + self._shape[1:], dtype=np.float32)
        for j, i in enumerate(positions):
            out[j] = self._copy(self._position(int(i)), 1)[0]
        return out

    def _position(self, i: int) -> int:
        n = len(self)
        j = i + n if i < 0 else i
        if not 0 <= j < n:
            raise IndexError("image %d out of range for a dataset of %d" % (i, n))
        return j

    def _copy(self, first: int, count: int) -> npt.NDArray[np.float32]:
        _, hh, ww = self._shape
        out = np.empty((count, hh, ww), dtype=np.float32)
        for lo in range(0, count, _COPY_CHUNK):
            k = min(_COPY_CHUNK, count - lo)
            raw = _binding.call_bytes(_pb.DatasetImages, self.handle, first + lo, k)
            out[lo : lo + k] = bytes_to_float32(raw, (k, hh, ww), name="dataset images")
        return out

    def stats(self) -> Tuple[float, float]:
        """The mean μ and population variance σ² of all pixels (for a training split: the model's
        preprocessing constants)."""
        st: Any = _binding.call_json(_pb.DatasetStats, self.handle)
        return float(st["mean"]), float(st["variance"])

    def __repr__(self) -> str:
        if self.closed:
            return "<Dataset closed>"
        n, hh, ww = self._shape
        return "<Dataset %r: %d images of %d×%d>" % (self._name, n, hh, ww)


def _size(size: Optional[int]) -> int:
    if size is None:
        return 0
    return int_arg(size, "size", minimum=1)


def _limit(limit: Optional[int]) -> int:
    if limit is None:
        return 0
    return int_arg(limit, "limit", minimum=1)


def find_template() -> Path:
    """Find a T1 volume for :func:`make_standin`: the MNI ICBM152 2009a template.

    Looks, in order, at:

    1. the ``BRAINVQ_TEMPLATE`` environment variable (any ``.nii``/``.nii.gz`` path);
    2. ``data/template/<TEMPLATE_NAME>`` in the current folder or any folder above it (where
       ``scripts/fetch_template.sh`` of a brainvq checkout puts it);
    3. the copy inside an installed ``nilearn`` package (``pip install "brainvq[standin]"``
       installs it), found without importing nilearn.

    Returns:
        The path of an existing file.

    Raises:
        FileNotFoundError: none was found (the message says how to get one), or ``BRAINVQ_TEMPLATE``
            names a missing file.
    """
    env = os.environ.get("BRAINVQ_TEMPLATE")
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise FileNotFoundError("BRAINVQ_TEMPLATE=%s: no such file" % env)
        return p
    here = Path.cwd().resolve()
    for folder in [here, *here.parents]:
        p = folder / "data" / "template" / TEMPLATE_NAME
        if p.is_file():
            return p
    try:
        spec = importlib.util.find_spec("nilearn")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            p = Path(loc) / "datasets" / "data" / TEMPLATE_NAME
            if p.is_file():
                return p
    raise FileNotFoundError(
        "no T1 template found: set BRAINVQ_TEMPLATE to a .nii/.nii.gz T1 volume, run "
        "scripts/fetch_template.sh in a brainvq checkout (it writes data/template/%s), or "
        'pip install "brainvq[standin]" (it installs nilearn, which ships that template)'
        % TEMPLATE_NAME
    )


def make_standin(
    out: PathLike,
    template: Optional[PathLike] = None,
    *,
    seed: int = 1,
    train_subjects: int = 30,
    validate_subjects: int = 4,
    test_subjects: int = 4,
    slices: int = 32,
    size: int = 256,
    skull_stripped: bool = True,
    contrast: float = 1.8,
    notice: Optional[str] = None,
    overwrite: bool = False,
    workers: int = 0,
) -> Path:
    """Write an OASIS-like stand-in dataset made from one T1 volume.

    Pseudo-subjects are random warps, bias fields, contrasts and noise of the volume; the splits hold
    disjoint subjects; the images are ``size``×``size`` 8-bit grey PNGs oriented and scaled like OASIS
    slices (see ``core/data`` in the repository). The same seed makes the same dataset.

    Args:
        out: folder to write ``keras_png_slices_data/`` into (created if missing).
        template: the T1 volume (``.nii`` or ``.nii.gz``); None uses :func:`find_template`.
        seed: random seed.
        train_subjects, validate_subjects, test_subjects: pseudo-subjects per split.
        slices: axial slices per pseudo-subject.
        size: image side, a multiple of 4 (at least 12).
        skull_stripped: the volume holds the brain only (as the MNI template): paint a synthetic skull
            and scalp around it. Pass False for a whole-head T1.
        contrast: grey = 0.45·(v/r)^contrast (r: the head's 95th percentile); 1.8 suits the MNI template,
            whose CSF is washed out; use 1.0 for a single subject's scan.
        notice: copyright notice written as ``NOTICE`` in the dataset; None copies a ``NOTICE`` file
            beside the template when there is one.
        overwrite: replace an existing ``out/keras_png_slices_data``.
        workers: subjects made in parallel (0: all cores).

    Returns:
        The dataset folder ``out/keras_png_slices_data`` (pass it to :meth:`Dataset.from_oasis`).

    Raises:
        FileNotFoundError: ``template`` does not exist, or is None and no template is found.
        FileExistsError: ``out/keras_png_slices_data`` exists and ``overwrite`` is False.
        ValueError: an unreadable volume or an option out of range (the message names it).
        TypeError: an option of the wrong type.
    """
    tpl = Path(template) if template is not None else find_template()
    if notice is None:
        beside = tpl.parent / "NOTICE"
        notice = beside.read_text() if beside.is_file() else ""
    opts = {
        "seed": int_arg(seed, "seed", minimum=0),
        "train_subjects": int_arg(train_subjects, "train_subjects", minimum=1),
        "validate_subjects": int_arg(validate_subjects, "validate_subjects", minimum=1),
        "test_subjects": int_arg(test_subjects, "test_subjects", minimum=1),
        "slices": int_arg(slices, "slices", minimum=1),
        "size": int_arg(size, "size"),
        "skull_stripped": bool(skull_stripped),
        "contrast": float_arg(contrast, "contrast"),
        "notice": str(notice),
        "overwrite": bool(overwrite),
        "workers": int_arg(workers, "workers", minimum=0),
    }
    root = _binding.call(_pb.MakeStandIn, os.fspath(tpl), os.fspath(out), json.dumps(opts))
    return Path(str(root))
